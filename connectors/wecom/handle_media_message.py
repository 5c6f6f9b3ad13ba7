"""Handle a WeCom image or file message: fetch the media, coach it, reply with the card and confirm commands."""

from __future__ import annotations

import logging

from connectors.common.coach import coach_file_problem, coach_shared_file
from connectors.wecom.approvers import notify_approvers
from connectors.wecom.context import WeComHandlerContext, call_agent_safely
from connectors.wecom.models import WeComMediaMessage
from connectors.wecom.render import render_plain_message
from connectors.wecom.sender import WeComSendError
from tools.coach.inputs import MAX_INPUT_BYTES

logger = logging.getLogger(__name__)

MEDIA_FAILED = (f"文件无法下载（或超过 {MAX_INPUT_BYTES // 1_000_000} MB），请重新发送。\n"
                f"The file could not be fetched (or is over {MAX_INPUT_BYTES // 1_000_000} MB); please send it again.")


def handle_media_message(message: WeComMediaMessage, context: WeComHandlerContext) -> None:
    """Coach one image or file; the card and its 「确认 …」 commands go back to the sender as one reply."""
    try:
        raw, name = context.sender.download_media(message.media_id, MAX_INPUT_BYTES)
    except WeComSendError:
        logger.exception("fetching WeCom media %s failed", message.media_id)
        context.sender.deliver(message.from_user, render_plain_message(MEDIA_FAILED))
        return
    problem = coach_file_problem(name, len(raw))
    if problem:
        context.sender.deliver(message.from_user, render_plain_message(problem))
        return
    role = context.role_for(message.from_user)
    outcome = call_agent_safely(lambda: coach_shared_file(raw, name, user_id=message.from_user, role=role,
                                                          thread_id=message.thread_id), "zh")
    context.sender.deliver(message.from_user, outcome.reply)
    if outcome.result is not None and outcome.result.pending_actions:
        notify_approvers(context.sender, context.approvers_for, outcome.result, message.from_user)
