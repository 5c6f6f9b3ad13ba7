"""The no-LLM follow-up request parser: customer, due date and description from one sentence."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from salesbot.text import detect_language
from tools.sales.customers import find_customer_in_text
from tools.sales.dates import find_due_date, format_due

_TASK_INTENT_RE = re.compile(
    r"安排|回访|跟进|提醒|拜访|联系|打电话|电话|预约|约[见谈]|开会|会议|发送|发给|发(?:报价|方案|资料|邮件)|寄|"
    r"\b(?:schedule|remind|follow[- ]?up|call|meet|meeting|visit|set up|book|send|email|check in)\b",
    re.IGNORECASE,
)


_CUSTOMER_PARTICLES_RE = re.compile(r"(?:给|为|和|跟|与|对|帮|去|到)\s*$|\b(?:with|to|for|at|on|visit)\s*$", re.I)


_ZH_LEADING_RE = re.compile(r"^(?:请|麻烦|帮我|帮忙|我要|我想|提醒我|记得|给我)+")


_ZH_ARRANGE_RE = re.compile(r"^(?:安排|约)(?:一次|一个|一下|个|次)?(?=\S)")


_EN_LEADING_RE = re.compile(
    r"^(?:please\s+|can you\s+|could you\s+|i need to\s+|remind me\s+(?:to\s+)?|"
    r"(?:schedule|set up|book|arrange)\s+(?:an?\s+|the\s+)?)+", re.I)


_DANGLING_RE = re.compile(r"^(?:to|and|for|with|on|at)\s+|\s+(?:to|and|for|with|on|at)$", re.I)


def parse_task_request(text: str, now: datetime | None = None) -> dict[str, Any] | None:
    """Turn a follow-up request into {customer, customer_key, due, due_display, description} without an LLM.

    `customer` is the canonical (Chinese) name; `customer_display` is the name in the request's language.
    Returns None unless the text asks for a task and names a known customer. `due` is an ISO datetime in
    the configured timezone, or None when the text gives no date (ask the user, don't guess).
    """
    if not text or not _TASK_INTENT_RE.search(text):
        return None
    found_customer = find_customer_in_text(text)
    if found_customer is None:
        return None
    customer, customer_start, customer_end = found_customer
    date_match = find_due_date(text, now)
    spans = [(customer_start, customer_end)]
    if date_match is not None:
        spans.append((date_match.start, date_match.end))
    chinese = detect_language(_without_spans(text, spans)) == "zh"
    description = _describe(text, spans, chinese) or ("回访" if chinese else "follow-up")
    language = "zh" if chinese else "en"
    return {
        "customer": customer.name_zh,
        "customer_key": customer.key,
        "customer_display": customer.name_zh if chinese else customer.name_en,
        "due": date_match.when.isoformat(timespec="minutes") if date_match else None,
        "due_display": format_due(date_match.when, language) if date_match else None,
        "due_text": date_match.text if date_match else None,
        "description": description,
        "language": language,
    }


def _without_spans(text: str, spans: list[tuple[int, int]]) -> str:
    kept, position = [], 0
    for start, end in sorted(spans):
        # Swallow the particle/preposition in front of the customer ("给", "with", "to").
        before = text[position:start]
        particle = _CUSTOMER_PARTICLES_RE.search(before)
        kept.append(before[: particle.start()] if particle else before)
        kept.append(" ")
        position = max(position, end)
    kept.append(text[position:])
    return "".join(kept)


def _describe(text: str, spans: list[tuple[int, int]], chinese: bool) -> str:
    remainder = re.sub(r"\s+", " ", _without_spans(text, spans)).strip(" ，,。.!！?？")
    if chinese:
        remainder = remainder.replace(" ", "")
        remainder = _ZH_LEADING_RE.sub("", remainder)
        remainder = _ZH_ARRANGE_RE.sub("", remainder)
        return remainder.strip(" ，,。")
    previous = None
    while previous != remainder:
        previous = remainder
        remainder = _EN_LEADING_RE.sub("", remainder).strip()
        remainder = _DANGLING_RE.sub("", remainder).strip(" ,.")
    return remainder
