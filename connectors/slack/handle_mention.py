"""app_mention: answer in the thread of the mention (a new thread when the mention is top-level)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from connectors.slack.context import SlackConnectorContext, acknowledge_event
from connectors.slack.handle_file_share import coach_shared_files
from connectors.slack.models import ReplyTarget, SlackMessageEvent
from connectors.slack.reply import answer_and_reply, thread_id_for

logger = logging.getLogger(__name__)


def register(app: App, context: SlackConnectorContext) -> None:
    def answer_mention(body: dict[str, Any], event: dict[str, Any], client: WebClient) -> None:
        mention = SlackMessageEvent.from_bolt(body, event)
        if mention.bot_id or not mention.user_id:
            return
        thread_ts = mention.thread_ts or mention.ts
        target = ReplyTarget(channel=mention.channel, user_id=mention.user_id, thread_ts=thread_ts)
        if event.get("files"):  # a file shared with a mention (or in a thread, mentioning the bot) is coached
            coach_shared_files(context, client, list(event["files"]), target, thread_id_for(mention.channel, thread_ts))
            return
        answer_and_reply(context, client, mention.question, target, thread_id_for(mention.channel, thread_ts))

    app.event("app_mention")(ack=acknowledge_event, lazy=[answer_mention])
