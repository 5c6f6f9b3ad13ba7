"""What the WeCom handlers need: the agent's entry points (injectable), the sender and the user → role lookup."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from agent.models import TurnRequest, TurnResult
from connectors.common.approvers import ApproversFor, approvers_from_roles_file
from connectors.wecom.models import RenderedReply
from connectors.wecom.render import Language, render_plain_message, render_turn_result
from connectors.wecom.sender import WeComSender
from salesbot.errors import UserFacingError
from salesbot.roles import role_for_user
from salesbot.settings import get_settings

logger = logging.getLogger(__name__)

AnswerTurn = Callable[[TurnRequest], TurnResult]


class DecideAction(Protocol):
    """agent.service.decide_action's shape; language says which language the reply should be in."""

    def __call__(self, action_id: str, decision: str, user_id: str, role: str,
                 edited_args: dict[str, Any] | None = None, *, language: str | None = None) -> TurnResult: ...


def answer_turn_with_agent_service(request: TurnRequest) -> TurnResult:
    # Imported per call: the agent graph is heavy to import, and tests may swap agent.service functions.
    from agent import service

    return service.answer_turn(request)


def decide_action_with_agent_service(
    action_id: str, decision: str, user_id: str, role: str, edited_args: dict[str, Any] | None = None,
    *, language: str | None = None,
) -> TurnResult:
    from agent import service

    # The decision verb is always English ("approve"), so the agent cannot tell the user's language from it.
    return service.decide_action(action_id, decision, user_id, role, edited_args, language=language)


def role_from_settings(user_id: str) -> str:
    settings = get_settings()
    return role_for_user(user_id, settings.roles_file, settings.default_role)


@dataclass
class WeComHandlerContext:
    """Dependencies of the handlers; unit tests pass fakes, the server passes the real agent service."""

    sender: WeComSender
    answer_turn: AnswerTurn = answer_turn_with_agent_service
    decide_action: DecideAction = decide_action_with_agent_service
    role_for: Callable[[str], str] = field(default=role_from_settings)
    approvers_for: ApproversFor = field(default=approvers_from_roles_file)


FRIENDLY_FAILURE: dict[Language, str] = {
    "zh": "抱歉，处理您的消息时出了点问题，请稍后再试。如果一直出现，请联系管理员。",
    "en": "Sorry, something went wrong while handling your message. Please try again later; "
    "if it keeps happening, tell your administrator.",
}
NOT_READY: dict[Language, str] = {
    "zh": "抱歉，这项功能还没有启用，请稍后再试。",
    "en": "Sorry, this feature is not available yet. Please try again later.",
}


@dataclass
class AgentOutcome:
    """The reply to send, and the agent's result when the call succeeded (None when it failed)."""

    reply: RenderedReply
    result: TurnResult | None = None


def call_agent_safely(call: Callable[[], TurnResult], language: Language) -> AgentOutcome:
    """Run an agent call and render its result; any failure becomes a polite message and a log entry.

    Only a UserFacingError (e.g. the gate's "only the person who asked (or a manager) can confirm") is
    written for people, so its text is shown as is; every other error text stays in the log.
    """
    try:
        result = call()
        return AgentOutcome(reply=render_turn_result(result), result=result)
    except Exception as error:  # the chat user must never see a traceback
        if isinstance(error, UserFacingError) and str(error).strip():
            return AgentOutcome(reply=render_plain_message(str(error)))
        if isinstance(error, NotImplementedError):
            logger.warning("agent entry point not available yet: %s", error)
            return AgentOutcome(reply=render_plain_message(NOT_READY[language]))
        logger.exception("agent call failed")
        return AgentOutcome(reply=render_plain_message(FRIENDLY_FAILURE[language]))
