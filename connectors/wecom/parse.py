"""Turn a decrypted WeCom callback XML into one of the connector's pydantic message models."""

from __future__ import annotations

from typing import Any
from xml.parsers.expat import ExpatError

import xmltodict

from connectors.wecom.models import (
    InboundMessage,
    WeComCardEvent,
    WeComMediaMessage,
    WeComTextMessage,
    WeComUnsupportedMessage,
)

TEMPLATE_CARD_EVENT = "template_card_event"


class WeComMessageMalformed(ValueError):
    """Decrypted plaintext that is not a WeCom message XML."""


def parse_callback_xml(plaintext_xml: str) -> InboundMessage:
    """Parse the decrypted XML of a callback.

    xmltodict is used directly (wechatpy.enterprise.parse_message is built on it too) because wechatpy 1.8
    has no type for template_card_event and its message objects keep the raw fields private.
    """
    try:
        fields: dict[str, Any] = xmltodict.parse(plaintext_xml)["xml"] or {}
    except (ExpatError, KeyError, TypeError) as error:
        raise WeComMessageMalformed("decrypted callback is not a WeCom message XML") from error
    msg_type = _text(fields, "MsgType").lower()
    common: dict[str, Any] = {
        "from_user": _text(fields, "FromUserName"),
        "to_user": _text(fields, "ToUserName"),
        "agent_id": _text(fields, "AgentID"),
        "create_time": _integer(fields, "CreateTime"),
    }
    if msg_type == "text":
        return WeComTextMessage(
            msg_id=_text(fields, "MsgId"), content=_text(fields, "Content"),
            chat_id=_text(fields, "ChatId") or None, **common,
        )
    if msg_type in ("image", "file") and _text(fields, "MediaId"):
        return WeComMediaMessage(
            msg_type="image" if msg_type == "image" else "file", msg_id=_text(fields, "MsgId"), media_id=_text(fields, "MediaId"),
            chat_id=_text(fields, "ChatId") or None, **common,
        )
    event = _text(fields, "Event").lower()
    if msg_type == "event" and event == TEMPLATE_CARD_EVENT:
        return WeComCardEvent(
            event_key=_text(fields, "EventKey"), task_id=_text(fields, "TaskId"),
            response_code=_text(fields, "ResponseCode"), **common,
        )
    return WeComUnsupportedMessage(msg_type=msg_type or "unknown", event=event, msg_id=_text(fields, "MsgId"),
                                   **common)


def _text(fields: dict[str, Any], name: str) -> str:
    value = fields.get(name)
    return "" if value is None else str(value).strip()


def _integer(fields: dict[str, Any], name: str) -> int:
    try:
        return int(_text(fields, name) or 0)
    except ValueError:
        return 0
