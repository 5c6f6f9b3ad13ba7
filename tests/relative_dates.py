"""Due dates relative to today for gate tests: the gate refuses due dates outside a window around today, so a
fixed calendar date in a test would start failing once the calendar passes it."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

# The tests' configured timezone (SALESBOT_TIMEZONE's default).
TEST_TIMEZONE = ZoneInfo("Asia/Shanghai")


def local_day(days_from_today: int) -> str:
    """'YYYY-MM-DD', `days_from_today` after today in the tests' timezone."""
    return (datetime.now(TEST_TIMEZONE).date() + timedelta(days=days_from_today)).isoformat()


def due_at(days_from_today: int, hour: int = 10, separator: str = "T") -> str:
    """'YYYY-MM-DDTHH:00' for a due time `days_from_today` after today."""
    return f"{local_day(days_from_today)}{separator}{hour:02d}:00"


DUE_TOMORROW = due_at(1)
