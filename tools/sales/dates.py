"""Resolve due dates like 下周三, 明天下午3点, "next Friday", "in 3 days" against now in the configured timezone.

Explicit rules cover the Chinese weekday/relative forms (dateparser handles them poorly) and the common
English forms; dateparser covers the rest (absolute dates such as "Nov 28" or "2026-12-01"). Given the same
`now` the result is always the same. Convention (shown back to the user for confirmation): weeks start on
Monday; 下周三 and "next Wednesday" both mean Wednesday of next calendar week; 周三 / "Wednesday" alone mean
the coming Wednesday (today counts only when that time is still ahead).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from salesbot import clock
from salesbot.settings import get_settings

DEFAULT_DUE_TIME = time(10, 0)  # a date without a time means "during the morning" for a follow-up

_ZH_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_ZH_WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "七": 6}
_EN_WEEKDAYS = {
    "monday": 0, "mon": 0, "tuesday": 1, "tue": 1, "tues": 1, "wednesday": 2, "wed": 2, "thursday": 3, "thu": 3,
    "thur": 3, "thurs": 3, "friday": 4, "fri": 4, "saturday": 5, "sat": 5, "sunday": 6, "sun": 6,
}
_EN_NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
               "eight": 8, "nine": 9, "ten": 10, "fourteen": 14, "thirty": 30}

_ZH_NUMBER = r"[0-9零〇一二两三四五六七八九十]+"
_ZH_TIME = (rf"(?P<period>上午|早上|早晨|中午|下午|傍晚|晚上)?\s*(?P<hour>{_ZH_NUMBER})\s*[点點时](?:\s*(?P<half>半)"
            rf"|\s*(?P<minute>{_ZH_NUMBER})\s*分?)?|(?P<period_only>上午|早上|中午|下午|晚上)")
_ZH_TIME_RE = re.compile(_ZH_TIME)
_EN_TIME_RE = re.compile(
    r"(?:\s*(?:at|@|by)\s*)?(?P<hour>\d{1,2})(?::(?P<minute>\d{2}))?\s*(?P<ampm>am|pm|a\.m\.|p\.m\.)|"
    r"\s*(?:at|@)\s*(?P<hour24>\d{1,2}):(?P<minute24>\d{2})|\s*(?P<word>noon|in the morning|in the afternoon|"
    r"this morning|this afternoon|tonight|in the evening)",
    re.IGNORECASE,
)

def _zh_upcoming_weekday(match: re.Match[str], today: datetime) -> datetime:
    return _upcoming_weekday(today, _ZH_WEEKDAYS[match["weekday"]])


def _en_upcoming_weekday(match: re.Match[str], today: datetime) -> datetime:
    return _upcoming_weekday(today, _EN_WEEKDAYS[match["weekday"].lower()])


# A bare weekday whose time already passed today rolls to next week; other phrases say exactly which day.
_ROLLING_RULES = (_zh_upcoming_weekday, _en_upcoming_weekday)

_ZH_DAY_RULES = [
    (re.compile(r"大后天"), lambda match, today: today + timedelta(days=3)),
    (re.compile(r"后天"), lambda match, today: today + timedelta(days=2)),
    (re.compile(r"明天|明日|明早|明晚"), lambda match, today: today + timedelta(days=1)),
    (re.compile(r"今天|今日|今晚|今早"), lambda match, today: today),
    (re.compile(r"下下(?:个)?(?:周|星期|礼拜)(?P<weekday>[一二三四五六日天])"),
     lambda match, today: _weekday_of_week(today, 2, _ZH_WEEKDAYS[match["weekday"]])),
    (re.compile(r"下(?:个)?(?:周|星期|礼拜)(?P<weekday>[一二三四五六日天])"),
     lambda match, today: _weekday_of_week(today, 1, _ZH_WEEKDAYS[match["weekday"]])),
    (re.compile(r"(?:本|这|这个)(?:周|星期|礼拜)(?P<weekday>[一二三四五六日天])"),
     lambda match, today: _weekday_of_week(today, 0, _ZH_WEEKDAYS[match["weekday"]])),
    (re.compile(r"(?:周|星期|礼拜)(?P<weekday>[一二三四五六日天])"), _zh_upcoming_weekday),
    (re.compile(rf"(?P<count>{_ZH_NUMBER})\s*(?:个)?(?P<unit>天|周|星期|礼拜|个月)(?:以?后|之后)"),
     lambda match, today: _add_units(today, _zh_number(match["count"]), match["unit"])),
    (re.compile(r"下(?:个)?(?:周|星期|礼拜)(?![一二三四五六日天])"), lambda match, today: _weekday_of_week(today, 1, 0)),
    (re.compile(r"下个?月(?:(?P<day>[0-9一二三四五六七八九十]+)[号日])?"),
     lambda match, today: _next_month_day(today, _zh_number(match["day"]) if match["day"] else 1)),
    (re.compile(r"(?:(?P<year>\d{4})年)?(?P<month>[0-9一二三四五六七八九十]+)月(?P<day>[0-9一二三四五六七八九十]+)[号日]"),
     lambda match, today: _month_day(today, match["year"], _zh_number(match["month"]), _zh_number(match["day"]))),
]
_ZH_RELATIVE_HOURS_RE = re.compile(rf"(?P<count>{_ZH_NUMBER}|半)\s*个?(?P<unit>小时|钟头|分钟)(?:以?后|之后)")

_EN_DAY_RULES = [
    (re.compile(r"\bday after tomorrow\b", re.I), lambda match, today: today + timedelta(days=2)),
    (re.compile(r"\btomorrow\b", re.I), lambda match, today: today + timedelta(days=1)),
    (re.compile(r"\b(?:today|tonight|this (?:morning|afternoon|evening))\b", re.I), lambda match, today: today),
    (re.compile(r"\bnext week'?s? (?P<weekday>[a-z]+)\b|\b(?:on )?next (?P<weekday2>[a-z]+)\b", re.I),
     lambda match, today: _en_weekday_of_week(today, 1, match["weekday"] or match["weekday2"])),
    (re.compile(r"\b(?:on )?this (?P<weekday>[a-z]+)\b", re.I),
     lambda match, today: _en_weekday_of_week(today, 0, match["weekday"])),
    (re.compile(r"\b(?:on |by |this coming )?(?P<weekday>monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b",
                re.I), _en_upcoming_weekday),
    (re.compile(r"\bin (?P<count>\d+|[a-z]+) (?P<unit>days?|weeks?|months?)\b", re.I),
     lambda match, today: _en_add_units(today, match["count"], match["unit"])),
    (re.compile(r"\b(?P<count>\d+|[a-z]+) (?P<unit>days?|weeks?) from (?:now|today)\b", re.I),
     lambda match, today: _en_add_units(today, match["count"], match["unit"])),
    (re.compile(r"\bnext week\b", re.I), lambda match, today: _weekday_of_week(today, 1, 0)),
    (re.compile(r"\bnext month\b", re.I), lambda match, today: _next_month_day(today, 1)),
]
_EN_RELATIVE_HOURS_RE = re.compile(r"\bin (?P<count>\d+|[a-z]+|half an) (?P<unit>hours?|minutes?|mins?)\b", re.I)


@dataclass(frozen=True)
class DateMatch:
    """A due date found in text and where its phrase sits (so callers can cut it out)."""

    when: datetime
    start: int
    end: int
    text: str


class _NotADay(ValueError):
    """A regex matched words that are not a weekday ("next step", "this quote")."""


def local_now(now: datetime | None = None) -> datetime:
    """`now` in the configured timezone (naive values are taken as already local)."""
    zone = clock.timezone()
    if now is None:
        return clock.now()
    return now.replace(tzinfo=zone) if now.tzinfo is None else now.astimezone(zone)


def _zh_number(text: str) -> int:
    """Arabic or Chinese numerals up to 99: 3, 三, 十, 十五, 二十三, 两."""
    if text.isdigit():
        return int(text)
    if "十" in text:
        tens_text, _, ones_text = text.partition("十")
        tens = _ZH_DIGITS.get(tens_text, 1) if tens_text else 1
        ones = _ZH_DIGITS.get(ones_text, 0) if ones_text else 0
        return tens * 10 + ones
    value = 0
    for character in text:
        value = value * 10 + _ZH_DIGITS[character]
    return value


def _weekday_of_week(today: datetime, weeks_ahead: int, weekday: int) -> datetime:
    monday = today - timedelta(days=today.weekday())
    return monday + timedelta(weeks=weeks_ahead, days=weekday)


def _upcoming_weekday(today: datetime, weekday: int) -> datetime:
    return today + timedelta(days=(weekday - today.weekday()) % 7)


def _en_weekday_of_week(today: datetime, weeks_ahead: int, name: str) -> datetime:
    weekday = _EN_WEEKDAYS.get(name.lower())
    if weekday is None:
        raise _NotADay(name)
    return _weekday_of_week(today, weeks_ahead, weekday)


def _add_units(today: datetime, count: int, unit: str) -> datetime:
    if unit.startswith("天") or unit.startswith("day"):
        return today + timedelta(days=count)
    if unit in ("周", "星期", "礼拜") or unit.startswith("week"):
        return today + timedelta(weeks=count)
    return _add_months(today, count)


def _en_add_units(today: datetime, count_text: str, unit: str) -> datetime:
    count = int(count_text) if count_text.isdigit() else _EN_NUMBERS.get(count_text.lower())
    if count is None:
        raise _NotADay(count_text)
    return _add_units(today, count, unit.lower())


def _add_months(today: datetime, months: int) -> datetime:
    month_index = today.month - 1 + months
    year, month = today.year + month_index // 12, month_index % 12 + 1
    return today.replace(year=year, month=month, day=min(today.day, 28))


def _next_month_day(today: datetime, day: int) -> datetime:
    first_of_next = _add_months(today.replace(day=1), 1)
    return first_of_next.replace(day=max(1, min(day, 28)))


def _month_day(today: datetime, year_text: str | None, month: int, day: int) -> datetime:
    year = int(year_text) if year_text else today.year
    candidate = today.replace(year=year, month=month, day=day)
    # "3月5日" said in November means next March unless a year was given.
    if not year_text and candidate.date() < today.date():
        candidate = candidate.replace(year=year + 1)
    return candidate


def _zh_time_of_day(match: re.Match[str]) -> time:
    period = match["period"] or match["period_only"]
    if match["hour"] is None:
        return {"上午": time(9, 30), "早上": time(9, 0), "中午": time(12, 0), "下午": time(15, 0),
                "晚上": time(19, 0)}.get(period or "", DEFAULT_DUE_TIME)
    hour = _zh_number(match["hour"])
    minute = 30 if match["half"] else (_zh_number(match["minute"]) if match["minute"] else 0)
    if period in ("下午", "傍晚", "晚上") and hour < 12:
        hour += 12
    if period == "中午" and hour < 6:
        hour += 12
    return time(hour % 24, min(minute, 59))


def _en_time_of_day(match: re.Match[str]) -> time:
    if match["word"]:
        word = match["word"].lower()
        if word == "noon":
            return time(12, 0)
        if "morning" in word:
            return time(9, 30)
        if "afternoon" in word:
            return time(15, 0)
        return time(19, 0)
    if match["hour24"]:
        return time(int(match["hour24"]) % 24, int(match["minute24"]) % 60)
    hour = int(match["hour"]) % 12
    if match["ampm"].lower().startswith("p"):
        hour += 12
    return time(hour, int(match["minute"] or 0) % 60)


def _first_day_match(text: str, rules: list, today: datetime) -> tuple[datetime, int, int, bool] | None:
    """The earliest day phrase; on a tie the rule listed first (the more specific one) wins."""
    best: tuple[datetime, int, int, bool] | None = None
    for pattern, compute in rules:
        for match in pattern.finditer(text):
            try:
                day = compute(match, today)
            except (_NotADay, ValueError):
                continue
            if best is None or match.start() < best[1]:
                best = (day, match.start(), match.end(), compute in _ROLLING_RULES)
            break
    return best


def _time_near(text: str, start: int, end: int, chinese: bool) -> tuple[time, int, int] | None:
    """A time of day right before or after the day phrase (明天下午3点, 下午3点明天, tomorrow at 3pm)."""
    pattern = _ZH_TIME_RE if chinese else _EN_TIME_RE
    for match in pattern.finditer(text):
        if not match.group(0).strip():
            continue
        gap_after = text[end:match.start()]
        gap_before = text[match.end():start]
        if (match.start() >= end and len(gap_after.strip()) <= 1) or (match.end() <= start and not gap_before.strip()):
            converter = _zh_time_of_day if chinese else _en_time_of_day
            return converter(match), match.start(), match.end()
    return None


def find_due_date(text: str, now: datetime | None = None) -> DateMatch | None:
    """The first due date expressed in `text`, resolved against `now` (timezone-aware), or None."""
    current = local_now(now)
    today = current.replace(hour=0, minute=0, second=0, microsecond=0)
    for chinese, rules, hours_re in ((True, _ZH_DAY_RULES, _ZH_RELATIVE_HOURS_RE),
                                     (False, _EN_DAY_RULES, _EN_RELATIVE_HOURS_RE)):
        hours_match = hours_re.search(text)
        if hours_match:
            return _relative_time_match(hours_match, current, text)
        found = _first_day_match(text, rules, today)
        if found is None:
            continue
        day, start, end, rolls_forward = found
        time_found = _time_near(text, start, end, chinese)
        due_time = DEFAULT_DUE_TIME
        if time_found:
            due_time, time_start, time_end = time_found
            start, end = min(start, time_start), max(end, time_end)
        when = day.replace(hour=due_time.hour, minute=due_time.minute)
        if when < current and rolls_forward:
            when += timedelta(weeks=1)  # "周三" said on Wednesday afternoon means next Wednesday
        return DateMatch(when=when, start=start, end=end, text=text[start:end])
    return _dateparser_match(text, current)


def _relative_time_match(match: re.Match[str], current: datetime, text: str) -> DateMatch:
    count_text = match["count"]
    if count_text in ("半", "half an"):
        minutes = 30
    else:
        count = (int(count_text) if count_text.isdigit() else
                 _EN_NUMBERS.get(count_text.lower()) or _zh_number(count_text))
        minutes = count * 60 if match["unit"].lower().startswith(("小时", "钟头", "hour")) else count
    when = (current + timedelta(minutes=minutes)).replace(second=0, microsecond=0)
    return DateMatch(when=when, start=match.start(), end=match.end(), text=match.group(0))


_MONTHS = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_ABSOLUTE_DATE_RE = re.compile(
    rf"\d{{4}}[-/.]\d{{1,2}}[-/.]\d{{1,2}}|\b\d{{1,2}}/\d{{1,2}}\b|\b{_MONTHS}\s*\d{{1,2}}\b|\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTHS}",
    re.IGNORECASE,
)


def _dateparser_match(text: str, current: datetime) -> DateMatch | None:
    """Absolute dates and anything the rules above do not cover ("Nov 28", "2026-12-01 14:00")."""
    from dateparser.search import search_dates

    settings = {
        "RELATIVE_BASE": current.replace(tzinfo=None),
        "PREFER_DATES_FROM": "future",
        "TIMEZONE": get_settings().timezone,
        "RETURN_AS_TIMEZONE_AWARE": True,
        "REQUIRE_PARTS": ["day"],
    }
    try:
        found = search_dates(text, languages=["en", "zh"], settings=settings)
    except Exception:  # dateparser raises on some odd inputs; "no date" is the honest answer then
        return None
    for phrase, value in found or []:
        if not _ABSOLUTE_DATE_RE.search(phrase):
            continue  # dateparser also "finds" dates in words like "may" or a model number; keep real dates only
        if value.hour == 0 and value.minute == 0 and not re.search(r"\d:\d|am|pm|点", phrase, re.I):
            value = value.replace(hour=DEFAULT_DUE_TIME.hour, minute=DEFAULT_DUE_TIME.minute)
        when = value.astimezone(current.tzinfo)
        start = text.find(phrase)
        return DateMatch(when=when, start=start, end=start + len(phrase), text=phrase)
    return None


def resolve_due_date(text: str, now: datetime | None = None) -> datetime | None:
    """The due datetime a phrase means (timezone-aware), or None when it names no date."""
    match = find_due_date(text, now)
    return match.when if match else None


def parse_due(value: str | datetime, now: datetime | None = None) -> datetime:
    """An ISO datetime/date or a natural-language phrase, as an aware local datetime; ValueError if neither."""
    if isinstance(value, datetime):
        return local_now(value)
    cleaned = value.strip()
    try:
        parsed = datetime.fromisoformat(cleaned)
    except ValueError:
        parsed = None
    if parsed is not None:
        if len(cleaned) == 10:  # a bare date
            parsed = parsed.replace(hour=DEFAULT_DUE_TIME.hour, minute=DEFAULT_DUE_TIME.minute)
        return local_now(parsed)
    resolved = resolve_due_date(cleaned, now)
    if resolved is None:
        raise ValueError(f"could not understand the date {value!r}; try 2026-12-01 14:00, 下周三 or 'next Friday'")
    return resolved


_ZH_WEEKDAY_NAMES = ["周一", "周二", "周三", "周四", "周五", "周六", "周日"]


def format_due(when: datetime, language: str = "zh") -> str:
    """A due date as shown back for confirmation: 2026-12-02 周三 10:00 / Wed 2026-12-02 10:00."""
    if language == "zh":
        return f"{when:%Y-%m-%d} {_ZH_WEEKDAY_NAMES[when.weekday()]} {when:%H:%M}"
    return f"{when:%a %Y-%m-%d %H:%M}"
