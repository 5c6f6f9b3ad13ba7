"""Handle a WeCom text message: the agent answers it (decision commands included, parsed by agent.decisions)."""

from __future__ import annotations

import logging

from agent.answer.progress import reporting_progress
from agent.models import TurnRequest
from connectors.wecom.approvers import notify_approvers
from connectors.wecom.context import FRIENDLY_FAILURE, AgentOutcome, WeComHandlerContext, call_agent_safely
from connectors.wecom.models import WeComTextMessage
from connectors.wecom.render import Language, detect_language, render_plain_message
from connectors.wecom.streaming import WeComAnswerStream
from salesbot.roles import UnknownRoleError

logger = logging.getLogger(__name__)

EMPTY_MESSAGE_HINT: dict[Language, str] = {
    "zh": "请直接输入您的问题，例如「<客户>的合同质保期是多久？」",
    "en": "Type your question, e.g. \"What is the warranty period in the <customer> contract?\"",
}


def handle_text_message(message: WeComTextMessage, context: WeComHandlerContext) -> None:
    """Answer one text message, send the reply to its sender, and tell approvers about proposals they own.

    With a model configured, a knowledge answer is sent in up to two messages (connectors/wecom/streaming.py):
    the extractive answer at once, the model's checked answer when it is ready and says something new.
    """
    stream = WeComAnswerStream(context.sender, message.from_user)
    with reporting_progress(stream):
        outcome = answer_text_message(message, context)
    reply = stream.rest_of_reply(outcome.reply, outcome.result)
    if reply is not None:
        context.sender.deliver(message.from_user, reply)
    if outcome.result is not None and outcome.result.pending_actions:
        notify_approvers(context.sender, context.approvers_for, outcome.result, message.from_user)


def answer_text_message(message: WeComTextMessage, context: WeComHandlerContext) -> AgentOutcome:
    language = detect_language(message.content)
    if not message.content.strip():
        return AgentOutcome(reply=render_plain_message(EMPTY_MESSAGE_HINT[language]))
    try:
        role = context.role_for(message.from_user)
    except UnknownRoleError:
        logger.exception("roles file gives %s an unknown role", message.from_user)
        return AgentOutcome(reply=render_plain_message(FRIENDLY_FAILURE[language]))
    request = TurnRequest(
        text=message.content, user_id=message.from_user, role=role, thread_id=message.thread_id, channel="wecom"
    )
    return call_agent_safely(lambda: context.answer_turn(request), language)
