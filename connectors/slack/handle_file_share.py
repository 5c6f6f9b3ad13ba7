"""Files shared with the bot (a DM's file_share, or files on a mention): coach each one into a card with buttons."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk import WebClient

from connectors.common.coach import coach_file_problem, coach_shared_file
from connectors.slack.context import SlackConnectorContext
from connectors.slack.files import download_shared_file, file_metadata
from connectors.slack.models import ReplyTarget
from connectors.slack.render import section
from connectors.slack.reply import post_friendly_error, post_message, post_turn_result
from salesbot.errors import UserFacingError
from salesbot.roles import lower_role

logger = logging.getLogger(__name__)


def coach_shared_files(context: SlackConnectorContext, client: WebClient, files: list[dict[str, Any]],
                       target: ReplyTarget, thread_id: str) -> None:
    """One reply per file: the card and its confirm buttons, or one clear line saying why not."""
    role = context.role_of(target.user_id)
    if not target.is_private:  # everybody in the channel reads the card: the least-privileged role's view
        role = lower_role(role, context.default_role)
    for shared in files:
        name = str(shared.get("name") or shared.get("id") or "file")
        try:
            problem = coach_file_problem(name, shared.get("size"))
            if problem:
                raise UserFacingError(problem)
            metadata = file_metadata(client, shared)
            raw = download_shared_file(client, metadata)
            with context.lock_for_thread(thread_id):
                result = coach_shared_file(raw, str(metadata.get("name") or name), user_id=target.user_id,
                                           role=role, thread_id=thread_id)
            post_turn_result(context, client, target, result)
        except UserFacingError as error:
            post_message(client, target, str(error), [section(str(error))])
        except Exception:
            logger.exception("coaching file %s from %s in %s failed", name, target.user_id, target.channel)
            post_friendly_error(client, target, name)
