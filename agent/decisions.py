"""The one parser of decision commands ("确认 A7K2Q", "edit A7K2Q due=next Friday") and their edit arguments.

The agent's answer path (agent.service.answer_turn) calls it, so every connector that hands text to the agent
(CLI ask/chat, Slack, WeCom) accepts exactly the same verbs; a connector's own decision UI (the CLI chat
prompt) asks `decision_for_word`. It lives in agent/ because agent may not import connectors.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, Field

from salesbot.errors import UserFacingError

Decision = Literal["approve", "edit", "reject"]
Language = Literal["zh", "en"]

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


class DecisionCommand(BaseModel):
    """A chat command deciding a pending action: '确认 A7K2Q', '修改 A7K2Q 截止=下周五', 'reject A7K2Q'."""

    decision: Decision
    action_id: str
    edited_args: dict[str, str] = Field(default_factory=dict)
    language: Language = Field(default="zh", description="The verb's language: the reply is written in it.")


class DecisionCommandError(UserFacingError):
    """A message that is clearly a decision command but cannot be used as typed (e.g. 修改 without changes)."""

    def __init__(self, message: str, language: Language) -> None:
        super().__init__(message)
        self.language = language


def parse_decision_command(text: str) -> DecisionCommand | None:
    """The decision command in a message, or None when the message is an ordinary question.

    Raises DecisionCommandError for an edit command without any key=value change.
    """
    cleaned = _LEADING_MENTION.sub("", text.strip()).rstrip(_TRAILING_PUNCTUATION)
    match = _CHINESE_COMMAND.match(cleaned)
    language: Language = "zh"
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
        return DecisionCommand(decision=decision, action_id=action_id, language=language)
    edited_args = parse_edit_arguments(rest)
    if not edited_args:
        raise DecisionCommandError(
            f"请写明要修改的内容，例如「修改 {action_id} 截止=下周五」。" if language == "zh"
            else f"Say what to change, e.g. \"edit {action_id} due=next Friday\".",
            language,
        )
    return DecisionCommand(decision="edit", action_id=action_id, edited_args=edited_args, language=language)


def looks_like_action_id(candidate: str) -> bool:
    """Action ids contain a digit or are upper case (A7K2Q, 3); ordinary words after a verb are not ids."""
    return any(character.isdigit() for character in candidate) or candidate.isupper()


def parse_edit_arguments(text: str) -> dict[str, str]:
    """'截止=下周五 备注=带上报价单' → {'due': '下周五', 'description': '带上报价单'} (unknown keys kept as typed)."""
    edited: dict[str, str] = {}
    for pair in _EDIT_PAIR.finditer(text.strip()):
        key = pair.group("key").strip()
        value = pair.group("value").strip().rstrip(",，;；").strip()
        if value:
            edited[EDIT_KEY_ALIASES.get(key.lower(), key)] = value
    return edited


def decision_for_word(word: str) -> Decision | None:
    """The decision a single verb stands for ('确认' → approve, 'Decline' → reject), None for other words."""
    cleaned = word.strip().rstrip(_TRAILING_PUNCTUATION)
    return CHINESE_VERBS.get(cleaned) or ENGLISH_VERBS.get(cleaned.lower())
