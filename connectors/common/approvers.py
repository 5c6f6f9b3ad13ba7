"""The one approver-notification policy: who is told about a pending action, and how its approver is named.

Slack and WeCom both ask `approvers_to_notify`; each keeps only its own rendering and sending.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Literal

from salesbot.roles import UnknownRoleError, approver_user_ids, role_at_least
from salesbot.settings import get_settings
from tools.gate.models import ActionView

logger = logging.getLogger(__name__)

Language = Literal["zh", "en"]
ApproversFor = Callable[[str], list[str]]

# Approvals by these roles go to the approvers' own chats: they are rarely in the rep's conversation.
# Below them ("confirm") the proposer decides right where the proposal was made.
APPROVER_ROLES_OUTSIDE_THE_CONVERSATION = ("manager", "vp")


def approvers_from_roles_file(required_role: str) -> list[str]:
    """Holders of that role in the configured roles file (or of the nearest higher role that has someone)."""
    return approver_user_ids(required_role, get_settings().roles_file)


def needs_other_approver(action: ActionView) -> bool:
    """True when the action waits for a manager/VP and its proposer does not hold that role."""
    required = action.required_approver.strip().lower()
    if required not in APPROVER_ROLES_OUTSIDE_THE_CONVERSATION:
        return False
    try:
        return not role_at_least(action.proposer_role or "rep", required)
    except UnknownRoleError:
        return True


def approvers_to_notify(action: ActionView, proposer_user_id: str,
                        approvers_for: ApproversFor = approvers_from_roles_file) -> list[str]:
    """Who must be told about this pending action: the required role's holders, never the proposer."""
    if action.status != "pending" or not needs_other_approver(action):
        return []
    required = action.required_approver.strip().lower()
    approvers = [user_id for user_id in approvers_for(required) if user_id != proposer_user_id]
    if not approvers:
        logger.warning("no %s listed in the roles file to approve action %s", required, action.id)
    return approvers


def approver_label(action: ActionView, language: Language) -> str:
    """Who must confirm, in the reader's language ("needs manager approval" / "需销售经理审批"), from the view's
    typed fields (never a joined label split again)."""
    label = action.approver_label_zh if language == "zh" else action.approver_label_en
    return label or action.required_approver
