"""Pydantic models of the Slack payloads the connector handles, parsed once at the edge."""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import BaseModel, Field

from agent.decisions import Decision
from salesbot.errors import UserFacingError

# "<@U123ABC>" or "<@U123ABC|name>": Slack's mention syntax, stripped before the text reaches the agent.
_USER_MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")

# Action ids of the interactive elements this connector renders; handlers register on exactly these.
APPROVE_ACTION_ID = "salesbot_action_approve"
EDIT_ACTION_ID = "salesbot_action_edit"
REJECT_ACTION_ID = "salesbot_action_reject"
FEEDBACK_UP_ACTION_ID = "salesbot_feedback_up"
FEEDBACK_DOWN_ACTION_ID = "salesbot_feedback_down"
EDIT_MODAL_CALLBACK_ID = "salesbot_edit_action"
EDIT_MODAL_INPUT_BLOCK_ID = "edited_args"
EDIT_MODAL_INPUT_ACTION_ID = "args_json"

DECISION_BY_ACTION_ID: dict[str, Decision] = {
    APPROVE_ACTION_ID: "approve",
    EDIT_ACTION_ID: "edit",
    REJECT_ACTION_ID: "reject",
}

SLASH_COMMAND = "/salesbot"

# Prefix of the block_id of a pending action's button row; the rest carries where the proposal was made,
# so a decision taken in an approver's DM is also reported back in the original thread.
PENDING_BLOCK_PREFIX = "salesbot_pending"


def strip_user_mentions(text: str) -> str:
    """The message text without `<@U…>` mentions and surrounding whitespace."""
    return _USER_MENTION.sub(" ", text).strip()


class ReplyTarget(BaseModel):
    """Where an answer goes: a channel (and thread), or a slash command's response_url."""

    channel: str
    user_id: str
    thread_ts: str | None = None
    response_url: str | None = Field(
        default=None, description="Set for slash commands: answers go back through it, visible to the user only."
    )

    @property
    def is_private(self) -> bool:
        """Only the asker reads the answer: a DM (channel ids starting with D) or a slash command's reply."""
        return self.response_url is not None or self.channel.startswith("D")


class SlackMessageEvent(BaseModel):
    """An app_mention or a direct message event, with its Events API envelope id."""

    event_id: str | None = None
    event_type: str
    user_id: str
    channel: str
    text: str
    ts: str
    thread_ts: str | None = None
    channel_type: str | None = None
    subtype: str | None = None
    bot_id: str | None = None

    @classmethod
    def from_bolt(cls, body: dict[str, Any], event: dict[str, Any]) -> SlackMessageEvent:
        return cls(
            event_id=body.get("event_id"),
            event_type=event.get("type", ""),
            user_id=event.get("user", ""),
            channel=event.get("channel", ""),
            text=event.get("text") or "",
            ts=event.get("ts") or event.get("event_ts") or "",
            thread_ts=event.get("thread_ts"),
            channel_type=event.get("channel_type"),
            subtype=event.get("subtype"),
            bot_id=event.get("bot_id"),
        )

    @property
    def question(self) -> str:
        return strip_user_mentions(self.text)

    @property
    def is_plain_direct_message(self) -> bool:
        """A human's new message in a DM (not an edit, a join notice, or a bot's own post)."""
        return self.channel_type == "im" and self.subtype is None and self.bot_id is None and bool(self.user_id)

    @property
    def is_human_file_share(self) -> bool:
        """A person (not a bot) shared files in a message (subtype file_share), in any kind of conversation."""
        return self.subtype == "file_share" and self.bot_id is None and bool(self.user_id)

    @property
    def is_direct_file_share(self) -> bool:
        """A human shared a file in a DM with the bot (subtype file_share)."""
        return self.channel_type == "im" and self.is_human_file_share

    def mentions(self, user_id: str | None) -> bool:
        """Whether the text @mentions this user (`<@U…>` or `<@U…|name>`)."""
        return bool(user_id) and (f"<@{user_id}>" in self.text or f"<@{user_id}|" in self.text)


class SlackSlashCommand(BaseModel):
    """A `/salesbot <question>` invocation."""

    command: str
    text: str = ""
    user_id: str
    channel_id: str
    response_url: str | None = None
    trigger_id: str | None = None

    @classmethod
    def from_bolt(cls, command: dict[str, Any]) -> SlackSlashCommand:
        return cls(
            command=command.get("command", ""),
            text=command.get("text") or "",
            user_id=command.get("user_id", ""),
            channel_id=command.get("channel_id", ""),
            response_url=command.get("response_url"),
            trigger_id=command.get("trigger_id"),
        )


class PendingBlockOrigin(BaseModel):
    """What a pending action's button row remembers: the action and the thread it was proposed in."""

    action_id: str
    origin_channel: str | None = None
    origin_thread_ts: str | None = None

    def to_block_id(self) -> str:
        return ":".join([PENDING_BLOCK_PREFIX, self.action_id, self.origin_channel or "", self.origin_thread_ts or ""])

    @classmethod
    def from_block_id(cls, block_id: str) -> PendingBlockOrigin | None:
        prefix, separator, rest = block_id.partition(":")
        # Split from the right: channel ids and timestamps never hold ":", an action id might.
        parts = rest.rsplit(":", 2)
        if prefix != PENDING_BLOCK_PREFIX or not separator or len(parts) != 3 or not parts[0]:
            return None
        return cls(action_id=parts[0], origin_channel=parts[1] or None, origin_thread_ts=parts[2] or None)


class SlackButtonAction(BaseModel):
    """One press of a salesbot button (approve / edit / reject / 👍 / 👎)."""

    action_id: str
    value: str
    block_id: str = ""
    user_id: str
    channel: str | None = None
    message_ts: str | None = None
    thread_ts: str | None = None
    is_ephemeral: bool = False
    response_url: str | None = None
    trigger_id: str | None = None
    message_blocks: list[dict[str, Any]] = Field(default_factory=list)
    message_text: str = ""

    @classmethod
    def from_bolt(cls, body: dict[str, Any], action: dict[str, Any]) -> SlackButtonAction:
        container = body.get("container") or {}
        message = body.get("message") or {}
        channel = (body.get("channel") or {}).get("id") or container.get("channel_id")
        return cls(
            action_id=action.get("action_id", ""),
            value=action.get("value") or "",
            block_id=action.get("block_id") or "",
            user_id=(body.get("user") or {}).get("id", ""),
            channel=channel,
            message_ts=message.get("ts") or container.get("message_ts"),
            thread_ts=message.get("thread_ts") or container.get("thread_ts"),
            is_ephemeral=bool(container.get("is_ephemeral")),
            response_url=body.get("response_url"),
            trigger_id=body.get("trigger_id"),
            message_blocks=list(message.get("blocks") or []),
            message_text=message.get("text") or "",
        )

    @property
    def decision(self) -> Decision | None:
        return DECISION_BY_ACTION_ID.get(self.action_id)

    @property
    def origin(self) -> PendingBlockOrigin:
        parsed = PendingBlockOrigin.from_block_id(self.block_id)
        return parsed or PendingBlockOrigin(action_id=self.value)

    @property
    def reply_thread_ts(self) -> str | None:
        """Answers to a button go under the message that carried it (its thread, or a new one)."""
        return self.thread_ts or self.message_ts


class EditModalState(BaseModel):
    """The edit modal's private_metadata: which action, and where the buttons that opened it live."""

    action_id: str
    channel: str | None = None
    message_ts: str | None = None
    thread_ts: str | None = None
    block_id: str = ""
    is_ephemeral: bool = False
    response_url: str | None = None

    def to_private_metadata(self) -> str:
        return self.model_dump_json()


class EditArgumentsError(UserFacingError, ValueError):
    """The edit modal's JSON cannot be used; the message is shown under the field."""


class SlackEditSubmission(BaseModel):
    """A submitted edit modal: the action and the arguments as the user rewrote them (raw JSON text)."""

    user_id: str
    state: EditModalState
    args_text: str

    @classmethod
    def from_bolt(cls, body: dict[str, Any], view: dict[str, Any]) -> SlackEditSubmission:
        values = (view.get("state") or {}).get("values") or {}
        field = (values.get(EDIT_MODAL_INPUT_BLOCK_ID) or {}).get(EDIT_MODAL_INPUT_ACTION_ID) or {}
        return cls(
            user_id=(body.get("user") or {}).get("id", ""),
            state=EditModalState.model_validate(json.loads(view.get("private_metadata") or "{}")),
            args_text=field.get("value") or "",
        )

    def parsed_args(self) -> dict[str, Any]:
        """The edited arguments; raises EditArgumentsError with a message the modal can show under the field."""
        try:
            parsed = json.loads(self.args_text)
        except json.JSONDecodeError as error:
            raise EditArgumentsError(f"Not valid JSON (line {error.lineno}, column {error.colno}): {error.msg}") from error
        if not isinstance(parsed, dict):
            raise EditArgumentsError('Arguments must be a JSON object, e.g. {"due": "2026-12-01"}.')
        return parsed


class DecisionRequest(BaseModel):
    """A decision on a pending action, from a button or the edit modal, with where to report it."""

    action_id: str
    decision: Decision
    user_id: str
    channel: str | None = None
    message_ts: str | None = None
    reply_thread_ts: str | None = None
    is_ephemeral: bool = False
    response_url: str | None = None
    message_blocks: list[dict[str, Any]] = Field(default_factory=list)
    origin: PendingBlockOrigin
    edited_args: dict[str, Any] | None = None

    @classmethod
    def from_button(cls, press: SlackButtonAction, decision: Decision) -> DecisionRequest:
        return cls(
            action_id=press.value or press.origin.action_id, decision=decision, user_id=press.user_id,
            channel=press.channel, message_ts=press.message_ts, reply_thread_ts=press.reply_thread_ts,
            is_ephemeral=press.is_ephemeral, response_url=press.response_url, message_blocks=press.message_blocks,
            origin=press.origin,
        )
