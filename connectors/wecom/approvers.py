"""Tell the approvers about a proposal they must decide (manager/VP approvals), with the commands to do it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from agent.models import TurnResult
from connectors.wecom.models import RenderedReply
from connectors.wecom.render import (
    Language,
    action_card,
    approver_label,
    describe_action,
    needs_other_approver,
    split_markdown_for_wecom,
)
from connectors.wecom.sender import WeComSender, WeComSendError

logger = logging.getLogger(__name__)

def render_approval_request(action: dict[str, Any], proposer_user_id: str, language: Language) -> RenderedReply:
    """The message an approver gets: who proposed what, why it needs them, and how to decide."""
    identifier = str(action.get("id") or action.get("action_id") or "")
    label = approver_label(action, language)
    if language == "zh":
        text = (f"**待审批** `{identifier}`：{proposer_user_id} 提议 {describe_action(action, language)}"
                + (f"（{label}）" if label else "")
                + f"\n回复「确认 {identifier}」批准，「修改 {identifier} …」修改后批准，「取消 {identifier}」驳回")
    else:
        text = (f"**Approval needed** `{identifier}`: {proposer_user_id} proposes {describe_action(action, language)}"
                + (f" ({label})" if label else "")
                + f"\nReply `approve {identifier}`, `edit {identifier} …` or `reject {identifier}`")
    return RenderedReply(markdown_chunks=split_markdown_for_wecom(text), action_cards=[action_card(action, language)])


def notify_approvers(sender: WeComSender, approvers_for: Callable[[str], list[str]], result: TurnResult,
                     proposer_user_id: str) -> list[str]:
    """Send each pending action that needs a manager/VP to the users who hold that role; returns who was told."""
    language: Language = "zh" if result.language.lower().startswith("zh") else "en"
    notified: list[str] = []
    for action in result.pending_actions:
        if not needs_other_approver(action):
            continue
        required = str(action["required_approver"]).strip().lower()
        approvers = [user_id for user_id in approvers_for(required) if user_id != proposer_user_id]
        if not approvers:
            logger.warning("no %s listed in the roles file to approve action %s", required, action.get("id"))
        request = render_approval_request(action, proposer_user_id, language)
        for approver in approvers:
            try:
                sender.deliver(approver, request)
                notified.append(approver)
            except WeComSendError:
                logger.exception("could not tell approver %s about action %s", approver, action.get("id"))
    return notified
