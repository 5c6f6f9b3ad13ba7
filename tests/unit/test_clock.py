"""The one clock: aware times in SALESBOT_TIMEZONE, today() from it, a clear error for a bad timezone."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from salesbot import clock
from salesbot.errors import UserFacingError
from salesbot.settings import reset_runtime


def test_now_is_aware_and_in_the_configured_timezone(monkeypatch: pytest.MonkeyPatch) -> None:
    assert clock.now().tzinfo.key == "Asia/Shanghai"  # type: ignore[union-attr]  (the default)
    monkeypatch.setenv("SALESBOT_TIMEZONE", "America/New_York")
    reset_runtime()
    current = clock.now()
    assert current.tzinfo.key == "America/New_York"  # type: ignore[union-attr]
    assert abs((current - datetime.now(UTC)).total_seconds()) < 5


def test_today_is_the_date_where_the_team_is(monkeypatch: pytest.MonkeyPatch) -> None:
    # 2026-12-01 20:00 UTC is already 12-02 in Shanghai but still 12-01 in New York.
    instant = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)
    monkeypatch.setattr(clock, "now", lambda: instant.astimezone(clock.timezone()))
    assert clock.today() == date(2026, 12, 2)
    monkeypatch.setenv("SALESBOT_TIMEZONE", "America/New_York")
    reset_runtime()
    assert clock.today() == date(2026, 12, 1)


def test_callers_follow_the_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    from tools.sales.dates import local_now

    instant = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)
    monkeypatch.setattr(clock, "now", lambda: instant.astimezone(clock.timezone()))
    assert local_now() == instant and local_now().tzinfo.key == "Asia/Shanghai"  # type: ignore[union-attr]


def test_an_unknown_timezone_is_a_clear_user_facing_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SALESBOT_TIMEZONE", "Mars/Olympus_Mons")
    reset_runtime()
    with pytest.raises(clock.UnknownTimezoneError) as raised:
        clock.today()
    assert isinstance(raised.value, UserFacingError)
    assert "SALESBOT_TIMEZONE='Mars/Olympus_Mons'" in str(raised.value) and "Asia/Shanghai" in str(raised.value)
