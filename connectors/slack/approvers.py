"""DM the approvers of a proposal (who they are is connectors.common.approvers' policy) a copy with its buttons."""

from __future__ import annotations

import logging
from functools import partial
from pathlib import Path

from slack_sdk import WebClient

from connectors.common.approvers import approvers_to_notify
from connectors.slack.models import PendingBlockOrigin
from connectors.slack.render import render_approval_request
from connectors.slack.store import SlackConnectorStore
from salesbot.roles import approver_user_ids
from tools.gate.models import ActionView

logger = logging.getLogger(__name__)


def notify_approvers(
    client: WebClient,
    action: ActionView,
    proposer_user_id: str,
    origin: PendingBlockOrigin,
    roles_file: Path | None,
    store: SlackConnectorStore | None = None,
    language: str = "en",
) -> list[str]:
    """DM each approver a copy of the proposal with its buttons; returns the DM'd user ids."""
    approvers = approvers_to_notify(action, proposer_user_id, partial(approver_user_ids, roles_file=roles_file))
    if not approvers:
        return []
    text, blocks = render_approval_request(action, proposer_user_id, origin, language)
    notified = []
    for approver in approvers:
        try:
            opened = client.conversations_open(users=approver)
            dm_channel = opened["channel"]["id"]
            posted = client.chat_postMessage(channel=dm_channel, text=text, blocks=blocks, unfurl_links=False)
            if store is not None and posted.get("ts"):
                store.remember_action_message(action.id, dm_channel, posted["ts"], blocks)
            notified.append(approver)
        except Exception:
            logger.exception("could not DM approver %s about action %s", approver, action.id)
    return notified
