"""The one clock: the current time and date in the configured timezone (SALESBOT_TIMEZONE).

Product code asks here instead of calling date.today() or a naive datetime.now(): those use the server's
timezone, which is not the sales team's ("下周三" for a rep in Shanghai must not depend on where the
bot is hosted). Tests freeze time by patching salesbot.clock.now.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from salesbot.errors import UserFacingError
from salesbot.settings import get_settings


class UnknownTimezoneError(UserFacingError, ValueError):
    """SALESBOT_TIMEZONE names no IANA timezone."""


def timezone() -> ZoneInfo:
    """The configured timezone; UnknownTimezoneError (with what to set) when the name is not a timezone."""
    name = get_settings().timezone
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise UnknownTimezoneError(
            f"SALESBOT_TIMEZONE={name!r} is not a known timezone: use an IANA name such as Asia/Shanghai "
            f"or America/New_York"
        ) from error


def now() -> datetime:
    """The current time, timezone-aware, in the configured timezone."""
    return datetime.now(timezone())


def today() -> date:
    """Today's date in the configured timezone."""
    return now().date()
