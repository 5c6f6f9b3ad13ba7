"""Tell the approvers of a proposal (who they are is connectors.common.approvers' policy) how to decide it."""

from __future__ import annotations

import logging

from agent.models import TurnResult
from connectors.common.approvers import ApproversFor, approver_label, approvers_to_notify
from connectors.wecom.models import RenderedReply
from connectors.wecom.render import Language, action_card, describe_action, split_markdown_for_wecom
from connectors.wecom.sender import WeComSender, WeComSendError
from tools.gate.models import ActionView

logger = logging.getLogger(__name__)


def render_approval_request(action: ActionView, proposer_user_id: str, language: Language) -> RenderedReply:
    """The message an approver gets: who proposed what, why it needs them, and how to decide."""
    label = approver_label(action, language)
    if language == "zh":
        text = (f"**待审批** `{action.id}`：{proposer_user_id} 提议 {describe_action(action, language)}"
                + (f"（{label}）" if label else "")
                + f"\n回复「确认 {action.id}」批准，「修改 {action.id} …」修改后批准，「取消 {action.id}」驳回")
    else:
        text = (f"**Approval needed** `{action.id}`: {proposer_user_id} proposes {describe_action(action, language)}"
                + (f" ({label})" if label else "")
                + f"\nReply `approve {action.id}`, `edit {action.id} …` or `reject {action.id}`")
    return RenderedReply(markdown_chunks=split_markdown_for_wecom(text), action_cards=[action_card(action, language)])


def notify_approvers(sender: WeComSender, approvers_for: ApproversFor, result: TurnResult,
                     proposer_user_id: str) -> list[str]:
    """Send each pending action that needs a manager/VP to the users who hold that role; returns who was told."""
    language: Language = "zh" if result.language.lower().startswith("zh") else "en"
    notified: list[str] = []
    for action in result.pending_actions:
        approvers = approvers_to_notify(action, proposer_user_id, approvers_for)
        if not approvers:
            continue
        request = render_approval_request(action, proposer_user_id, language)
        for approver in approvers:
            try:
                sender.deliver(approver, request)
                notified.append(approver)
            except WeComSendError:
                logger.exception("could not tell approver %s about action %s", approver, action.id)
    return notified
