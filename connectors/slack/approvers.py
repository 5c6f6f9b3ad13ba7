"""Who receives a proposal in their DM: the users the roles file lists with the role the action requires."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from slack_sdk import WebClient

from connectors.slack.models import PendingBlockOrigin
from connectors.slack.render import render_approval_request
from connectors.slack.store import SlackConnectorStore
from salesbot.roles import approver_user_ids, role_at_least

logger = logging.getLogger(__name__)

# Roles below these approve in the thread itself; these get a DM because they are rarely in the rep's thread.
DM_APPROVER_ROLES = ("manager", "vp")


def notify_approvers(
    client: WebClient,
    action: dict[str, Any],
    proposer_user_id: str,
    proposer_role: str,
    origin: PendingBlockOrigin,
    roles_file: Path | None,
    store: SlackConnectorStore | None = None,
    language: str = "en",
) -> list[str]:
    """DM each approver a copy of the proposal with its buttons; returns the DM'd user ids."""
    required = str(action.get("required_approver") or "").strip().lower()
    if required not in DM_APPROVER_ROLES:
        return []
    if role_at_least(str(action.get("proposer_role") or proposer_role), required):
        return []  # the proposer may approve it right there in the thread
    approvers = [user_id for user_id in approver_user_ids(required, roles_file) if user_id != proposer_user_id]
    if not approvers:
        logger.warning("no %s listed in the roles file to approve action %s", required, action.get("id"))
    text, blocks = render_approval_request(action, proposer_user_id, origin, language)
    notified = []
    for approver in approvers:
        try:
            opened = client.conversations_open(users=approver)
            dm_channel = opened["channel"]["id"]
            posted = client.chat_postMessage(channel=dm_channel, text=text, blocks=blocks, unfurl_links=False)
            if store is not None and posted.get("ts"):
                store.remember_action_message(str(action.get("id")), dm_channel, posted["ts"], blocks)
            notified.append(approver)
        except Exception:
            logger.exception("could not DM approver %s about action %s", approver, action.get("id"))
    return notified
