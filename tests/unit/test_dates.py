"""Due-date resolution: Chinese and English relative expressions against a fixed now in the configured timezone."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tools.sales.dates import find_due_date, format_due, parse_due, resolve_due_date

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Monday 2026-11-23, 15:30 in Shanghai.
MONDAY_AFTERNOON = datetime(2026, 11, 23, 15, 30, tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("phrase", "expected"),
    [
        ("下周三", datetime(2026, 12, 2, 10, 0)),
        ("下星期五下午两点", datetime(2026, 12, 4, 14, 0)),
        ("明天下午3点", datetime(2026, 11, 24, 15, 0)),
        ("后天上午十点半", datetime(2026, 11, 25, 10, 30)),
        ("这周五", datetime(2026, 11, 27, 10, 0)),
        ("周三", datetime(2026, 11, 25, 10, 0)),
        ("3天后", datetime(2026, 11, 26, 10, 0)),
        ("两周后", datetime(2026, 12, 7, 10, 0)),
        ("12月5日", datetime(2026, 12, 5, 10, 0)),
        ("下个月5号", datetime(2026, 12, 5, 10, 0)),
        ("next Friday", datetime(2026, 12, 4, 10, 0)),
        ("in 3 days", datetime(2026, 11, 26, 10, 0)),
        ("tomorrow at 3pm", datetime(2026, 11, 24, 15, 0)),
        ("this Thursday 2:30pm", datetime(2026, 11, 26, 14, 30)),
        ("on Nov 28", datetime(2026, 11, 28, 10, 0)),
        ("2 hours later: in 2 hours", datetime(2026, 11, 23, 17, 30)),
    ],
)
def test_phrases_resolve_against_now(phrase: str, expected: datetime) -> None:
    resolved = resolve_due_date(phrase, MONDAY_AFTERNOON)
    assert resolved is not None
    assert resolved.utcoffset() == MONDAY_AFTERNOON.utcoffset()
    assert resolved.replace(tzinfo=None) == expected


def test_bare_weekday_that_already_passed_today_rolls_to_next_week() -> None:
    # 周一 said on Monday afternoon at 15:30: 10:00 today is gone, so it means next Monday.
    assert resolve_due_date("周一", MONDAY_AFTERNOON).replace(tzinfo=None) == datetime(2026, 11, 30, 10, 0)
    assert resolve_due_date("Monday", MONDAY_AFTERNOON).replace(tzinfo=None) == datetime(2026, 11, 30, 10, 0)


def test_resolution_is_deterministic_and_follows_the_configured_timezone(monkeypatch) -> None:
    from salesbot.settings import reset_runtime

    first = resolve_due_date("下周三", MONDAY_AFTERNOON)
    assert first == resolve_due_date("下周三", MONDAY_AFTERNOON)
    monkeypatch.setenv("SALESBOT_TIMEZONE", "America/New_York")
    reset_runtime()
    # Monday 15:30 in Shanghai is Monday 02:30 in New York: still Wednesday next week, but New York time.
    in_new_york = resolve_due_date("下周三", MONDAY_AFTERNOON)
    assert in_new_york.tzinfo.key == "America/New_York"
    assert (in_new_york.year, in_new_york.month, in_new_york.day, in_new_york.hour) == (2026, 12, 2, 10)


def test_span_of_the_phrase_is_reported() -> None:
    text = "给华东人民医院下周三安排一次回访"
    match = find_due_date(text, MONDAY_AFTERNOON)
    assert match is not None and text[match.start:match.end] == "下周三"


def test_words_that_are_not_dates_give_none() -> None:
    assert find_due_date("schedule the next step with this quote", MONDAY_AFTERNOON) is None
    assert find_due_date("X3 的质保是多久？", MONDAY_AFTERNOON) is None


def test_parse_due_accepts_iso_and_phrases_and_rejects_nonsense() -> None:
    assert parse_due("2026-12-01", MONDAY_AFTERNOON).replace(tzinfo=None) == datetime(2026, 12, 1, 10, 0)
    assert parse_due("2026-12-01T14:00", MONDAY_AFTERNOON).hour == 14
    assert parse_due("下周三", MONDAY_AFTERNOON).day == 2
    with pytest.raises(ValueError, match="could not understand"):
        parse_due("whenever", MONDAY_AFTERNOON)


def test_format_due_shows_weekday_for_confirmation() -> None:
    when = datetime(2026, 12, 2, 10, 0, tzinfo=SHANGHAI)
    assert format_due(when, "zh") == "2026-12-02 周三 10:00"
    assert format_due(when, "en") == "Wed 2026-12-02 10:00"
