"""The one decision-command parser (agent.decisions): Chinese and English, edits, ordinary questions left alone."""

from __future__ import annotations

import pytest

from agent.decisions import (
    DecisionCommandError,
    decision_for_word,
    parse_decision_command,
    parse_edit_arguments,
)
from connectors.wecom.card_buttons import card_button_key, parse_card_button_key
from salesbot.errors import UserFacingError


@pytest.mark.parametrize(
    ("text", "decision", "action_id", "language"),
    [
        ("确认 A7K2Q", "approve", "A7K2Q", "zh"),
        ("确认A7K2Q。", "approve", "A7K2Q", "zh"),
        ("@salesbot 同意 A7K2Q", "approve", "A7K2Q", "zh"),
        ("取消 A7K2Q", "reject", "A7K2Q", "zh"),
        ("拒绝 3", "reject", "3", "zh"),
        ("approve A7K2Q", "approve", "A7K2Q", "en"),
        ("Reject a7k2q", "reject", "a7k2q", "en"),
        ("cancel 3", "reject", "3", "en"),
    ],
)
def test_approve_and_reject_commands(text: str, decision: str, action_id: str, language: str) -> None:
    command = parse_decision_command(text)
    assert command is not None
    assert (command.decision, command.action_id, command.language, command.edited_args) == (
        decision, action_id, language, {}
    )


def test_edit_command_maps_chinese_keys_to_argument_names() -> None:
    command = parse_decision_command("修改 A7K2Q 截止=下周五 备注=带上 报价单")
    assert command is not None
    assert command.decision == "edit"
    assert command.edited_args == {"due": "下周五", "description": "带上 报价单"}


def test_edit_command_in_english_with_fullwidth_and_time_values() -> None:
    command = parse_decision_command("edit A7K2Q due=next Friday 10:30, description=Bring the quote")
    assert command is not None
    assert command.edited_args == {"due": "next Friday 10:30", "description": "Bring the quote"}
    assert parse_edit_arguments("截止：下周五，负责人＝liu.yang") == {"due": "下周五", "owner": "liu.yang"}
    assert parse_edit_arguments("数量=20 单价=1800 colour=red") == {"quantity": "20", "unit_price": "1800", "colour": "red"}


def test_edit_without_changes_asks_for_them_in_the_users_language() -> None:
    with pytest.raises(DecisionCommandError) as chinese:
        parse_decision_command("修改 A7K2Q")
    assert "截止=下周五" in str(chinese.value) and isinstance(chinese.value, UserFacingError)
    with pytest.raises(DecisionCommandError) as english:
        parse_decision_command("edit A7K2Q")
    assert str(english.value).startswith("Say what to change")


@pytest.mark.parametrize(
    "text",
    ["确认一下华东人民医院的合同", "确认 A7K2Q 的合同条款怎么写", "cancel meeting", "approve it", "no problem",
     "华东人民医院的质保期是多久？", ""],
)
def test_ordinary_messages_are_not_commands(text: str) -> None:
    assert parse_decision_command(text) is None


def test_card_button_keys_round_trip_and_reject_garbage() -> None:
    approve = parse_card_button_key(card_button_key("approve", "A7K2Q", "zh"))
    assert approve is not None and (approve.decision, approve.action_id, approve.language) == ("approve", "A7K2Q", "zh")
    reject = parse_card_button_key(card_button_key("reject", "3", "en"))
    assert reject is not None and (reject.decision, reject.action_id, reject.language) == ("reject", "3", "en")
    for garbage in ("", "approve:", "edit:A7K2Q:zh", "drop:A7K2Q", "approve:A7 K2Q:zh"):
        assert parse_card_button_key(garbage) is None


@pytest.mark.parametrize(("word", "decision"), [
    ("确认", "approve"), ("通过", "approve"), ("Approve", "approve"), ("confirm", "approve"),
    ("编辑", "edit"), ("change", "edit"), ("驳回", "reject"), ("decline", "reject"), ("later", None), ("ok", None),
])
def test_single_verbs_map_to_the_same_decisions(word: str, decision: str | None) -> None:
    assert decision_for_word(word) == decision
