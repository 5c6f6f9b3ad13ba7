"""Parse chat commands that decide a pending action: 确认/修改/取消 <id>, approve/edit/reject <id>."""

from __future__ import annotations

import re
from typing import Literal

from connectors.wecom.models import ConfirmCommand, Decision

# Verb → decision. Chinese verbs may touch the id ("确认A7K2Q"); English verbs need a space.
CHINESE_VERBS: dict[str, Decision] = {
    "确认": "approve", "同意": "approve", "批准": "approve", "通过": "approve",
    "修改": "edit", "编辑": "edit",
    "取消": "reject", "拒绝": "reject", "驳回": "reject",
}
ENGLISH_VERBS: dict[str, Decision] = {
    "approve": "approve", "confirm": "approve",
    "edit": "edit", "change": "edit",
    "reject": "reject", "cancel": "reject", "decline": "reject",
}

# Edit keys people type → argument names of the gate's action kinds (tools.gate.store.normalise_action_args).
EDIT_KEY_ALIASES: dict[str, str] = {
    "截止": "due", "截止日期": "due", "日期": "due", "时间": "due", "到期": "due",
    "due": "due", "due_date": "due", "date": "due", "when": "due",
    "内容": "description", "描述": "description", "事项": "description", "标题": "description", "备注": "description",
    "description": "description", "title": "description", "note": "description", "notes": "description",
    "负责人": "owner", "owner": "owner", "assignee": "owner",
    "客户": "customer", "customer": "customer",
    "产品": "product", "product": "product",
    "数量": "quantity", "quantity": "quantity", "qty": "quantity",
    "单价": "unit_price", "价格": "unit_price", "price": "unit_price", "unit_price": "unit_price",
    "阶段": "stage", "stage": "stage",
}

ACTION_ID_PATTERN = r"(?P<action_id>[A-Za-z0-9][A-Za-z0-9_\-]{0,63})"
_CHINESE_COMMAND = re.compile(
    rf"^(?P<verb>{'|'.join(CHINESE_VERBS)})\s*[:：]?\s*#?{ACTION_ID_PATTERN}(?:\s+(?P<rest>.*))?$", re.DOTALL
)
_ENGLISH_COMMAND = re.compile(
    rf"^(?P<verb>{'|'.join(ENGLISH_VERBS)})\s+#?{ACTION_ID_PATTERN}(?:\s+(?P<rest>.*))?$",
    re.IGNORECASE | re.DOTALL,
)
# key=value pairs; a value runs until the next "key=" so "备注=带上 报价单" keeps its space. ASCII ':' is
# not a separator because values contain times ("10:30").
_EDIT_SEPARATOR = "[=＝：]"
_EDIT_KEY = r"[^\s=＝：,，;；]+"
_EDIT_PAIR = re.compile(
    rf"(?P<key>{_EDIT_KEY})\s*{_EDIT_SEPARATOR}\s*(?P<value>.+?)(?=\s*[,，;；]?\s*{_EDIT_KEY}\s*{_EDIT_SEPARATOR}|$)",
    re.DOTALL,
)
_TRAILING_PUNCTUATION = "。.!！~～ \t\n"
_LEADING_MENTION = re.compile(r"^@\S+\s+")


class ConfirmCommandError(ValueError):
    """A message that is clearly a decision command but cannot be used as typed (e.g. 修改 without changes)."""

    def __init__(self, message_zh: str, message_en: str, language: str) -> None:
        super().__init__(message_en)
        self.message_zh = message_zh
        self.message_en = message_en
        self.language = language

    def user_message(self) -> str:
        return self.message_zh if self.language == "zh" else self.message_en


def parse_confirm_command(text: str) -> ConfirmCommand | None:
    """The decision command in a message, or None when the message is an ordinary question."""
    cleaned = _LEADING_MENTION.sub("", text.strip()).rstrip(_TRAILING_PUNCTUATION)
    match = _CHINESE_COMMAND.match(cleaned)
    language: Literal["zh", "en"] = "zh"
    if match:
        decision = CHINESE_VERBS[match.group("verb")]
    else:
        match = _ENGLISH_COMMAND.match(cleaned)
        if not match:
            return None
        decision = ENGLISH_VERBS[match.group("verb").lower()]
        language = "en"
    action_id = match.group("action_id")
    if not looks_like_action_id(action_id):
        return None  # "cancel meeting", "确认 ok": words, not ids
    rest = (match.group("rest") or "").strip()
    if decision != "edit":
        if rest:
            # "确认 A7K2Q 的合同条款怎么写" is a question that happens to start with a verb, not a command.
            return None
        return ConfirmCommand(decision=decision, action_id=action_id, language=language)
    edited_args = parse_edit_arguments(rest)
    if not edited_args:
        raise ConfirmCommandError(
            f"请写明要修改的内容，例如「修改 {action_id} 截止=下周五」。",
            f"Say what to change, e.g. \"edit {action_id} due=next Friday\".",
            language,
        )
    return ConfirmCommand(decision="edit", action_id=action_id, edited_args=edited_args, language=language)


def looks_like_action_id(candidate: str) -> bool:
    """Action ids contain a digit or are upper case (A7K2Q, 3); ordinary words after a verb are not ids."""
    return any(character.isdigit() for character in candidate) or candidate.isupper()


def parse_edit_arguments(text: str) -> dict[str, str]:
    """'截止=下周五 备注=带上报价单' → {'due_date': '下周五', 'notes': '带上报价单'} (unknown keys kept as typed)."""
    edited: dict[str, str] = {}
    for pair in _EDIT_PAIR.finditer(text.strip()):
        key = pair.group("key").strip()
        value = pair.group("value").strip().rstrip(",，;；").strip()
        if value:
            edited[EDIT_KEY_ALIASES.get(key.lower(), key)] = value
    return edited


def card_button_key(decision: Decision, action_id: str, language: str = "zh") -> str:
    """The key of a template-card button: 'approve:A7K2Q:zh'; the language lets the reply match the card."""
    return f"{decision}:{action_id}:{language}"


def parse_card_button_key(event_key: str) -> ConfirmCommand | None:
    """The decision a clicked button stands for, or None for a key this connector did not write."""
    decision, _, rest = event_key.partition(":")
    action_id, _, language = rest.partition(":")
    if decision not in ("approve", "reject") or not action_id or not re.fullmatch(ACTION_ID_PATTERN, action_id):
        return None
    return ConfirmCommand(decision=decision, action_id=action_id,  # type: ignore[arg-type]
                          language="en" if language == "en" else "zh")
