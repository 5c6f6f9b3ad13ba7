"""message.im: answer a direct message; the whole DM is one conversation unless the user starts a thread."""

from __future__ import annotations

from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from connectors.slack.context import SlackConnectorContext, acknowledge_event
from connectors.slack.models import ReplyTarget, SlackMessageEvent
from connectors.slack.reply import answer_and_reply, thread_id_for


def register(app: App, context: SlackConnectorContext) -> None:
    def answer_direct_message(body: dict[str, Any], event: dict[str, Any], client: WebClient) -> None:
        message = SlackMessageEvent.from_bolt(body, event)
        # Shared files (subtype file_share) are handle_file_share's. Channel messages also arrive as
        # `message` events (mentions are answered via app_mention); edits, joins and the bot's own posts
        # carry a subtype or bot_id.
        if not message.is_plain_direct_message or not message.question:
            return
        target = ReplyTarget(channel=message.channel, user_id=message.user_id, thread_ts=message.thread_ts)
        answer_and_reply(context, client, message.question, target, thread_id_for(message.channel, message.thread_ts))

    # Every message event is acknowledged (an unacknowledged one makes Slack retry); only DMs are answered.
    app.event("message")(ack=acknowledge_event, lazy=[answer_direct_message])
