"""Coach mode: parsing each input format, the card with evidence, price avoidance, quotes and gate proposals."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.coach import coach_path, coach_text
from tools.coach.inputs import CoachInputError, parse_email, parse_subtitles, parse_transcript

DATA = Path(__file__).resolve().parents[2] / "data" / "coach"


def test_transcript_card_fields_come_with_their_lines() -> None:
    report = coach_path(DATA / "call_zh.txt")
    card = report.to_contract()["card"]
    assert card["customer"] == "华东人民医院"
    assert card["products"] == ["QM-X3"] and card["quantity"] == 20
    assert card["budget"] == 1_200_000
    assert card["competitor_prices"][0]["amount"] == 52_000 and card["competitor_prices"][0]["line"] == 6
    assert card["decision_maker"] == "张院长"
    # line 8 asks the price again after two unanswered asks: pressing on price is a price objection
    assert {(item["type"], item["line"]) for item in card["objections"]} == {
        ("competitor", 6), ("compatibility", 8), ("price", 8)}
    evidence = {item["field"]: item for item in card["evidence"]}
    assert evidence["budget"]["line"] == 2 and "120" in evidence["budget"]["text"]


def test_price_avoidance_counts_unanswered_price_questions_and_triggers_pricing() -> None:
    report = coach_path(DATA / "call_zh.txt")
    assert report.price_avoidance == 3
    assert report.pricing is not None and len(report.pricing["strategies"]) == 3
    # a rep may not see the floor: the role view the chat pricing route uses removes it
    assert "floor_price" not in report.pricing


def test_answered_price_question_is_not_avoidance() -> None:
    text = "销售小王：请问预算多少？\n客户：X3 多少钱？\n销售小王：单价 6.5 万元，20 台可以再谈。\n"
    assert coach_text(text).price_avoidance == 0


def test_card_and_follow_up_go_through_the_gate() -> None:
    contract = coach_path(DATA / "call_zh.txt").to_contract()
    kinds = {action["kind"] for action in contract["pending_actions"] + contract["executed_actions"]}
    assert kinds == {"log_opportunity_card", "create_follow_up_task"}
    assert all(action["status"] == "pending" for action in contract["pending_actions"])


def test_vtt_voice_tags_and_quote_request() -> None:
    turns = parse_subtitles((DATA / "call_en.vtt").read_text(encoding="utf-8"))
    assert [turn.speaker for turn in turns] == ["Rep Alice", "Tom Baker", "Rep Alice"]
    report = coach_path(DATA / "call_en.vtt")
    assert report.quote_requested and report.price_avoidance == 0
    assert report.pricing is not None and report.pricing["quantity"] == 10


def test_email_thread_splits_quoted_replies_by_sender_oldest_first() -> None:
    raw = (b"From: Tom Baker <tom@example.org>\nTo: alice@example.com\nSubject: Re: quote\n"
           b"Content-Type: text/plain; charset=utf-8\n\nWhat is the price for 5 units?\n\n"
           b"On Mon, 2 Nov 2026, Alice Chen <alice@example.com> wrote:\n> What budget do you have?\n")
    turns = parse_email(raw)
    # the quoted message came first: turns run in the order the messages were written
    assert [(turn.line, turn.speaker, turn.text) for turn in turns] == [
        (1, "Alice Chen", "What budget do you have?"), (2, "Tom Baker", "What is the price for 5 units?")]


def test_timestamped_lines_and_bad_input() -> None:
    turns = parse_transcript("[00:01:02] 甲：你好\n继续说\n乙: ok")
    assert [(turn.speaker, turn.text) for turn in turns] == [("甲", "你好 继续说"), ("乙", "ok")]
    with pytest.raises(CoachInputError):
        coach_path(DATA / "missing.txt")
