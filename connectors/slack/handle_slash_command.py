"""`/salesbot <question>`: acknowledge at once, answer through the command's response_url (only the user sees it)."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from connectors.slack.context import SlackConnectorContext
from connectors.slack.models import SLASH_COMMAND, ReplyTarget, SlackSlashCommand
from connectors.slack.render import FRIENDLY_EMPTY_QUESTION, language_of
from connectors.slack.reply import answer_and_reply

WORKING_ON_IT = {"en": "🔎 Working on it…", "zh": "🔎 正在处理…"}


def slash_thread_id(command: SlackSlashCommand) -> str:
    """Slash commands have no thread; each user gets one conversation per channel."""
    return f"slack:{command.channel_id}:slash:{command.user_id}"


def register(app: App, context: SlackConnectorContext) -> None:
    def acknowledge_command(ack: Ack, command: dict[str, Any]) -> None:
        parsed = SlackSlashCommand.from_bolt(command)
        language = language_of(parsed.text)
        ack(text=WORKING_ON_IT[language] if parsed.text.strip() else FRIENDLY_EMPTY_QUESTION[language])

    def answer_command(command: dict[str, Any], client: WebClient) -> None:
        parsed = SlackSlashCommand.from_bolt(command)
        if not parsed.text.strip():
            return
        target = ReplyTarget(channel=parsed.channel_id, user_id=parsed.user_id, response_url=parsed.response_url)
        answer_and_reply(context, client, parsed.text.strip(), target, slash_thread_id(parsed))

    app.command(SLASH_COMMAND)(ack=acknowledge_command, lazy=[answer_command])
