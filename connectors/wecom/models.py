"""Pydantic types of the WeCom connector: callback queries, inbound messages, outbound replies."""

from __future__ import annotations

import hashlib
from typing import Annotated, Literal

from pydantic import BaseModel, Field, TypeAdapter


class CallbackQuery(BaseModel):
    """The query string WeCom puts on every callback request (GET verification and POST messages)."""

    msg_signature: str
    timestamp: str
    nonce: str
    echostr: str | None = Field(default=None, description="Only on GET URL verification: the encrypted echo.")


class EncryptedEnvelope(BaseModel):
    """An encrypted payload with the signature WeCom (or a test playing WeCom) attaches to it."""

    encrypt: str
    msg_signature: str
    timestamp: str
    nonce: str

    def to_callback_xml(self, to_user_name: str, agent_id: str = "") -> str:
        """The POST body WeCom sends to a callback URL for this envelope."""
        return (
            f"<xml><ToUserName><![CDATA[{to_user_name}]]></ToUserName>"
            f"<Encrypt><![CDATA[{self.encrypt}]]></Encrypt>"
            f"<AgentID><![CDATA[{agent_id}]]></AgentID></xml>"
        )


class WeComTextMessage(BaseModel):
    """A text message a WeCom user sent to the app (MsgType=text)."""

    kind: Literal["text"] = "text"
    msg_id: str
    from_user: str = Field(description="WeCom UserID of the sender.")
    to_user: str = Field(description="The corp id the message was sent to.")
    agent_id: str = ""
    create_time: int = 0
    content: str
    chat_id: str | None = Field(default=None, description="Group chat id when the message came from a chat.")

    @property
    def dedupe_key(self) -> str:
        if self.msg_id and self.msg_id != "0":
            return f"msg:{self.msg_id}"
        # Without a MsgId (never seen from WeCom, but cheap to guard) sender + time + text identify a delivery.
        digest = hashlib.sha1(self.content.encode("utf-8")).hexdigest()[:16]
        return f"text:{self.from_user}:{self.create_time}:{digest}"

    @property
    def thread_id(self) -> str:
        """Conversation memory key: one thread per chat, or per user in a one-to-one conversation."""
        return f"wecom:chat:{self.chat_id}" if self.chat_id else f"wecom:{self.from_user}"


class WeComCardEvent(BaseModel):
    """A click on a template-card button (Event=template_card_event); the button key carries the decision."""

    kind: Literal["card_event"] = "card_event"
    from_user: str
    to_user: str
    agent_id: str = ""
    create_time: int = 0
    event_key: str = Field(description="The clicked button's key, e.g. 'approve:A7K2Q'.")
    task_id: str = Field(default="", description="The card's task_id, needed to update the card afterwards.")
    response_code: str = Field(default="", description="One-time code for message/update_template_card.")

    @property
    def dedupe_key(self) -> str:
        # Events carry no MsgId; WeCom's documentation recommends FromUserName + CreateTime instead.
        return f"card:{self.from_user}:{self.create_time}:{self.task_id}:{self.event_key}"

    @property
    def thread_id(self) -> str:
        return f"wecom:{self.from_user}"


class WeComMediaMessage(BaseModel):
    """An image (a chat screenshot) or a file (transcript, chat export, .eml) sent to the app; coached."""

    kind: Literal["media"] = "media"
    msg_type: Literal["image", "file"]
    msg_id: str
    media_id: str = Field(description="Temporary media id, fetched with media/get.")
    from_user: str
    to_user: str = ""
    agent_id: str = ""
    create_time: int = 0
    chat_id: str | None = None

    @property
    def dedupe_key(self) -> str:
        return f"msg:{self.msg_id}" if self.msg_id and self.msg_id != "0" else f"media:{self.media_id}"

    @property
    def thread_id(self) -> str:
        return f"wecom:chat:{self.chat_id}" if self.chat_id else f"wecom:{self.from_user}"


class WeComUnsupportedMessage(BaseModel):
    """Anything else (images, voice, menu events…): answered with a short hint or ignored."""

    kind: Literal["unsupported"] = "unsupported"
    msg_type: str
    event: str = ""
    msg_id: str = ""
    from_user: str = ""
    to_user: str = ""
    agent_id: str = ""
    create_time: int = 0

    @property
    def dedupe_key(self) -> str:
        if self.msg_id and self.msg_id != "0":
            return f"msg:{self.msg_id}"
        return f"other:{self.from_user}:{self.create_time}:{self.msg_type}:{self.event}"

    @property
    def thread_id(self) -> str:
        return f"wecom:{self.from_user}"

    @property
    def deserves_reply(self) -> bool:
        """User content we cannot read yet gets a hint; system events (enter_agent, subscribe…) get nothing."""
        return self.msg_type != "event" and bool(self.from_user)


InboundMessage = WeComTextMessage | WeComCardEvent | WeComMediaMessage | WeComUnsupportedMessage
_INBOUND_MESSAGE = TypeAdapter(Annotated[InboundMessage, Field(discriminator="kind")])


def inbound_message_from_json(payload: str) -> InboundMessage:
    """A message as `model_dump_json` wrote it into the connectors' inbox (its `kind` says which type)."""
    return _INBOUND_MESSAGE.validate_json(payload)


class ActionCard(BaseModel):
    """A template card with approve/reject buttons for one pending action."""

    action_id: str
    title: str
    description: str
    language: Literal["zh", "en"] = "zh"


class RenderedReply(BaseModel):
    """What goes back to the user: Markdown chunks (each within WeCom's size limit) and chart images."""

    markdown_chunks: list[str] = Field(default_factory=list)
    image_paths: list[str] = Field(default_factory=list)
    action_cards: list[ActionCard] = Field(default_factory=list)

