"""Files shared with the bot: coach each one into a card with buttons.

Which files are for the bot: a DM's file_share; files on an @mention (handle_mention passes them here); and a
file_share in a channel thread the bot replies in (SlackConnectorStore.bot_takes_part_in_thread: durable, so any
server process knows, after restarts too). Other channel files are the people's own business and get no reply.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient

from connectors.common.coach import coach_file_problem, coach_shared_file
from connectors.slack.context import SlackConnectorContext, acknowledge_event
from connectors.slack.files import download_shared_file, file_metadata
from connectors.slack.models import ReplyTarget, SlackMessageEvent
from connectors.slack.render import section
from connectors.slack.reply import (
    post_friendly_error,
    post_message,
    post_turn_result,
    remember_reply_thread,
    thread_id_for,
)
from salesbot.errors import UserFacingError
from salesbot.roles import lower_role

logger = logging.getLogger(__name__)


def coach_shared_files(context: SlackConnectorContext, client: WebClient, files: list[dict[str, Any]],
                       target: ReplyTarget, thread_id: str) -> None:
    """One reply per file: the card and its confirm buttons, or one clear line saying why not."""
    remember_reply_thread(context, target)
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


def file_share_target(connector: SlackConnectorContext, message: SlackMessageEvent,
                      bot_user_id: str | None) -> ReplyTarget | None:
    """Where to answer a file_share message event, or None when its files are not for the bot."""
    if not message.is_human_file_share or message.user_id == bot_user_id:
        return None
    if message.is_direct_file_share:
        return ReplyTarget(channel=message.channel, user_id=message.user_id, thread_ts=message.thread_ts)
    # A file posted with an @mention also arrives as app_mention, which coaches it (handle_mention): not twice.
    if not message.thread_ts or message.mentions(bot_user_id):
        return None
    if not connector.store.bot_takes_part_in_thread(message.channel, message.thread_ts):
        return None
    return ReplyTarget(channel=message.channel, user_id=message.user_id, thread_ts=message.thread_ts)


def register(app: App, connector: SlackConnectorContext) -> None:
    # `connector`, not `context`: bolt hands listeners its own BoltContext under that name (the bot's user id).
    def coach_message_files(body: dict[str, Any], event: dict[str, Any], client: WebClient,
                            context: BoltContext) -> None:
        message = SlackMessageEvent.from_bolt(body, event)
        target = file_share_target(connector, message, context.bot_user_id) if event.get("files") else None
        if target is None:
            return
        coach_shared_files(connector, client, list(event["files"]), target,
                           thread_id_for(message.channel, message.thread_ts))

    # Registered before the general message listener (handle_direct_message): bolt runs the first listener that
    # matches, and the ack comes at once, so Slack does not redeliver while the file is coached.
    app.event({"type": "message", "subtype": "file_share"})(ack=acknowledge_event, lazy=[coach_message_files])
