"""Resolve a customer mention (Chinese, English, short alias, or a near miss) to one known customer."""

from __future__ import annotations

import logging
import re
from functools import cache
from pathlib import Path

import yaml
from rapidfuzz import fuzz

from salesbot.settings import SAMPLES_DIR
from tools.sales.models import CustomerRef

logger = logging.getLogger(__name__)

COMPANY_FILE = SAMPLES_DIR / "company.yaml"

# Legal-form and generic suffixes people drop when they talk about a customer.
_ZH_SUFFIXES = ("股份有限公司", "有限责任公司", "有限公司", "集团", "股份")
# Generic business words after the brand: 珠江电力设备 -> 珠江电力, 巴蜀制药 -> 巴蜀.
_ZH_BUSINESS_WORDS = ("精密制造", "电力设备", "设备", "制造", "物流", "水务", "制药", "钢铁")
_FUZZY_THRESHOLD = 80
_EN_SUFFIXES = (" Co., Ltd.", " Inc.", " AS", " Ltd.", " Group", " Works")


@cache
def load_company(path: str = str(COMPANY_FILE)) -> dict:
    """The fictional company world (customers, competitors, reps) shared by every layer."""
    return yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}


def company_customers() -> list[CustomerRef]:
    return [CustomerRef(**entry) for entry in load_company().get("customers", [])]


def known_customers() -> list[CustomerRef]:
    """Customers from the sales database, plus company.yaml ones the database does not have yet."""
    by_key = {customer.key: customer for customer in company_customers()}
    try:
        from sqlmodel import select

        from tools.db.tables import Customer, sales_session

        with sales_session() as session:
            for row in session.exec(select(Customer)).all():
                by_key[row.key] = CustomerRef(
                    key=row.key, name_zh=row.name_zh, name_en=row.name_en, region=row.region,
                    industry=row.industry, city=row.city,
                )
    except Exception:  # the database is optional for resolution; company.yaml always answers
        logger.warning("customer table unavailable; resolving against company.yaml only", exc_info=True)
    return list(by_key.values())


def customer_aliases(customer: CustomerRef) -> list[str]:
    """Names a person might use: full names, without legal suffix, without the city prefix, short forms."""
    aliases = {customer.name_zh, customer.name_en, customer.key}
    zh_core = customer.name_zh
    for suffix in _ZH_SUFFIXES:
        zh_core = zh_core.removesuffix(suffix)
    aliases.add(zh_core)
    for word in _ZH_BUSINESS_WORDS:
        if zh_core.endswith(word) and len(zh_core) - len(word) >= 2:
            brand = zh_core.removesuffix(word)
            aliases.add(brand)
            if customer.city and brand.startswith(customer.city) and len(brand) - len(customer.city) >= 2:
                aliases.add(brand[len(customer.city):])
    if customer.city and zh_core.startswith(customer.city) and len(zh_core) > len(customer.city) + 1:
        without_city = zh_core[len(customer.city):]
        aliases.add(without_city)
        # 苏州恒力精密制造 -> 恒力: a two-character brand in front of a generic business word.
        if len(without_city) >= 4 and not without_city.endswith(("医院", "中心")):
            aliases.add(without_city[:2])
    en_core = customer.name_en
    for suffix in _EN_SUFFIXES:
        en_core = en_core.removesuffix(suffix)
    aliases.add(en_core)
    first_word = customer.name_en.split()[0]
    if len(first_word) >= 6:  # "Northwind", "Baltic"; not "Pearl", which is also an ordinary word
        aliases.add(first_word)
    return [alias for alias in aliases if alias]


def _alias_table() -> list[tuple[str, CustomerRef]]:
    """(alias, customer) pairs, longest alias first, without aliases shared by two customers."""
    owners: dict[str, set[str]] = {}
    customers = known_customers()
    by_key = {customer.key: customer for customer in customers}
    for customer in customers:
        for alias in customer_aliases(customer):
            owners.setdefault(alias.lower(), set()).add(customer.key)
    table = [(alias, by_key[next(iter(keys))]) for alias, keys in owners.items() if len(keys) == 1]
    return sorted(table, key=lambda pair: len(pair[0]), reverse=True)


def _is_word_boundary(text: str, start: int, end: int) -> bool:
    """ASCII aliases must stand as words ("Binhai" not inside "Binhaiville"); CJK text has no spaces."""
    before = text[start - 1] if start > 0 else " "
    after = text[end] if end < len(text) else " "
    return not (before.isascii() and before.isalnum()) and not (after.isascii() and after.isalnum())


def find_customer_in_text(text: str) -> tuple[CustomerRef, int, int] | None:
    """The first customer named in free text, with the span of the mention (exact aliases, then fuzzy)."""
    lowered = text.lower()
    best: tuple[CustomerRef, int, int] | None = None
    for alias, customer in _alias_table():
        position = lowered.find(alias)
        while position >= 0 and not _is_word_boundary(lowered, position, position + len(alias)):
            position = lowered.find(alias, position + 1)
        if position >= 0 and (best is None or position < best[1]):
            best = (customer, position, position + len(alias))
    if best is not None:
        return best
    return _fuzzy_find_in_text(text)


def _fuzzy_find_in_text(text: str) -> tuple[CustomerRef, int, int] | None:
    """Near misses such as 华东人名医院 or "Northwnd": compare aliases with same-length windows of the text."""
    best_score, best_match = 0.0, None
    for alias, customer in _alias_table():
        if len(alias) < 4:
            continue
        width = len(alias)
        for start in range(0, max(1, len(text) - width + 1)):
            if alias.isascii() and not _is_word_boundary(text, start, start + width):
                continue
            window = text[start:start + width]
            score = fuzz.ratio(alias.lower(), window.lower())
            if score > best_score:
                best_score, best_match = score, (customer, start, start + width)
    return best_match if best_score >= _FUZZY_THRESHOLD else None


def resolve_customer(mention: str) -> CustomerRef | None:
    """The one customer a mention refers to: exact (any alias, case-insensitive), then contained, then fuzzy."""
    cleaned = re.sub(r"\s+", " ", mention or "").strip()
    if not cleaned:
        return None
    lowered = cleaned.lower()
    table = _alias_table()
    for alias, customer in table:
        if alias.lower() == lowered:
            return customer
    found = find_customer_in_text(cleaned)
    if found is not None:
        return found[0]
    best_score, best_customer = 0.0, None
    for alias, customer in table:
        score = fuzz.WRatio(alias.lower(), lowered)
        if score > best_score:
            best_score, best_customer = score, customer
    return best_customer if best_score >= _FUZZY_THRESHOLD else None
