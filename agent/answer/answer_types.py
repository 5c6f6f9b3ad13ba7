"""The kind of answer a question asks for (amount, percentage, duration, date, yes/no, list, name) and where
a text holds one: the composer prefers answer units that contain a value of the asked type.

Cues and value patterns are general zh/en vocabulary (interrogatives, units, currencies), never any one
document's or question's wording.
"""

from __future__ import annotations

import re
from enum import StrEnum


class AnswerType(StrEnum):
    AMOUNT = "amount"
    PERCENTAGE = "percentage"
    DURATION = "duration"
    DATE = "date"
    QUANTITY = "quantity"
    YES_NO = "yes_no"
    LIST = "list"
    NAME = "name"


_ZH_NUMERAL = "零〇一二两三四五六七八九十百千万"
_NUMBER = rf"(?:\d[\d,，]*(?:\.\d+)?|[{_ZH_NUMERAL}]+)"
# Contracts write figures twice, in words and digits: "sixty (60) days", "fifty (50)%"; the unit follows the ")".
_THEN = r"\)?\s?"
_CURRENCY_WORD = r"(?:USD|CNY|RMB|EUR|GBP|JPY|HKD|US\$|\$|¥|￥|€|£|人民币|美元|欧元|英镑|日元|港币|港元)"
_DURATION_UNIT = (r"(?:个?工作日|个?自然日|个?月|天|日|周|星期|年|小时|分钟|秒|"
                  r"(?:business|working|calendar)\s+days?|days?|weeks?|months?|years?|hours?|hrs?|minutes?|mins?|"
                  r"seconds?|secs?)")

# Question cues per type. A question may ask for several ("how much advance and by when").
_QUESTION_CUES: dict[AnswerType, re.Pattern[str]] = {
    AnswerType.PERCENTAGE: re.compile(
        r"比例|百分之|百分比|几成|几个点|费率|利率|毛利率|折扣率|\b(percent(age)?|rate|share|ratio|margin)\b", re.I),
    AnswerType.AMOUNT: re.compile(
        r"多少钱|多少元|价格|价钱|价位|报价|单价|金额|费用|多少费|付多少|赔多少|罚多少|[价费款]是多少|"
        r"\b(how much|price|prices|cost|costs|fee|fees|amount|pay|paid|payment|charge|charges|worth)\b", re.I),
    AnswerType.DURATION: re.compile(
        rf"多久|多长时间|多长|多少{_DURATION_UNIT}|几{_DURATION_UNIT}|几个(?:月|工作日|小时)|期限|时限|有效期|账期|"
        rf"质保期|保修期|多快|"
        r"\bhow (long|fast|quickly|soon)\b|\bhow many (business |working |calendar )?(days|weeks|months|years|hours|"
        r"minutes)\b|\bwithin how\b|\b(period|term|duration|lead time)\b", re.I),
    AnswerType.DATE: re.compile(
        r"什么时候|何时|哪天|哪一天|几号|几月几日|日期|截止|\b(when|what date|which date|by when|deadline|due date)\b",
        re.I),
    AnswerType.QUANTITY: re.compile(
        r"多少|几|多大|多高|多低|多重|多宽|多远|多少个|\bhow (many|big|large|heavy|high|low|far|wide|tall)\b|"
        r"\b(maximum|minimum|max|min|limit|capacity|number of)\b", re.I),
    AnswerType.LIST: re.compile(r"哪些|有哪几|都有什么|包括什么|包含哪|\b(what are the|which \w+s\b|list)\b", re.I),
    AnswerType.NAME: re.compile(
        r"谁|哪家|哪个公司|哪国|哪里|哪儿|在哪|什么地方|哪个城市|哪款|\b(who|whom|which (company|party|firm)|where)\b",
        re.I),
}
# A yes/no question opens with an auxiliary (en) or carries an A-not-A / 是否 form or a final 吗 (zh).
_YES_NO_EN = re.compile(r"^\s*(does|do|did|is|are|was|were|can|could|will|would|has|have|had|should|may|must|"
                        r"shall)\b", re.I)
_YES_NO_ZH = re.compile(r"是否|能否|可否|能不能|可不可以|会不会|有没有|是不是|支不支持|行不行|要不要|吗\s*[？?]?\s*$")

# Values of each type inside a text.
_VALUE_PATTERNS: dict[AnswerType, re.Pattern[str]] = {
    AnswerType.AMOUNT: re.compile(
        rf"{_CURRENCY_WORD}\s?{_NUMBER}|{_NUMBER}\s?(?:万|亿|千)?(?:元|美元|欧元|英镑|块)|{_NUMBER}\s?{_CURRENCY_WORD}",
        re.I),
    AnswerType.PERCENTAGE: re.compile(rf"{_NUMBER}{_THEN}(?:%|％|percent\b|个百分点)|[百千万]分之[{_ZH_NUMERAL}\d点.]+", re.I),
    # A year ("2029年") is a date, not a duration.
    AnswerType.DURATION: re.compile(rf"(?<!\d)(?!(?:19|20)\d\d\s?年){_NUMBER}{_THEN}{_DURATION_UNIT}(?![a-z])|"
                                    rf"[{_ZH_NUMERAL}]+个?(?:月|年)", re.I),
    AnswerType.DATE: re.compile(
        r"\d{4}\s?年\s?\d{1,2}\s?月(?:\s?\d{1,2}\s?[日号])?|\d{1,2}\s?月\s?\d{1,2}\s?[日号]|\d{4}-\d{2}-\d{2}|"
        r"\b\d{1,2}:\d{2}\b|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s+\d{1,2}(?:st|nd|rd|th)?"
        r"(?:,?\s+\d{4})?\b|\b\d{1,2}\s+(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\s+\d{4}\b",
        re.I),
    AnswerType.QUANTITY: re.compile(r"\d"),
    AnswerType.NAME: re.compile(r"(?<![A-Za-z])[A-Z][a-zA-Z]+(?:\s+[A-Z][a-zA-Z]+)+|[（(]?[甲乙丙][方]|"
                                r"(?:有限|股份)?公司|[省市区县]|\b(?:Ltd|Inc|LLC|SIA|GmbH|AB|AS)\b"),
    AnswerType.LIST: re.compile(r"[、，,;；].+[、，,;；]"),
}
# Saying that something is not so; limits and duties ("不超过", "不低于") are not negations of a capability.
_NEGATION = re.compile(r"\b(not|never|cannot|can't|isn't|aren't|doesn't|don't|unavailable|unsupported)\b|"
                       r"不支持|不可以|不可|不能|不具备|不提供|不包括|不含|不适用|不得|没有|无法|未|非(?!常)|禁止", re.I)
_AFFIRMATIVE_OPENER = re.compile(r"^\W*(?:A[:：]\s*|答[:：]\s*)?(yes\b|可以|能|支持|是的|是，|有，)", re.I)
_NEGATIVE_OPENER = re.compile(r"^\W*(?:A[:：]\s*|答[:：]\s*)?(no\b|不可以|不能|不支持|不是|没有|否)", re.I)


def asked_types(question: str) -> frozenset[AnswerType]:
    """The answer types the question asks for; empty when it asks for nothing typed (a "what is" question)."""
    found = {kind for kind, cue in _QUESTION_CUES.items() if cue.search(question)}
    if is_yes_no_question(question) and not found - {AnswerType.NAME, AnswerType.LIST}:
        found = {AnswerType.YES_NO}
    if AnswerType.QUANTITY in found and found & {AnswerType.AMOUNT, AnswerType.PERCENTAGE, AnswerType.DURATION}:
        found.discard(AnswerType.QUANTITY)  # "多少" inside "多少钱" is the amount, not a plain count
    return frozenset(found)


def is_yes_no_question(question: str) -> bool:
    return bool(_YES_NO_EN.match(question) or _YES_NO_ZH.search(question))


def value_spans(text: str, kind: AnswerType) -> list[tuple[int, int]]:
    """Where the text holds a value of this type (character spans); yes/no values are stated polarity."""
    if kind is AnswerType.YES_NO:
        return [(0, len(text))] if stated_polarity(text) is not None else []
    pattern = _VALUE_PATTERNS.get(kind)
    return [match.span() for match in pattern.finditer(text)] if pattern else []


# A value that answers a question of another type: an amount is often stated as a share of the price.
_ALSO_ANSWERS: dict[AnswerType, tuple[AnswerType, ...]] = {AnswerType.AMOUNT: (AnswerType.PERCENTAGE,)}


def type_match(text: str, kinds: frozenset[AnswerType]) -> float:
    """Share of the asked types the text holds a value of (0 when none asked); a value of a type that may
    also answer (a percentage for an amount) counts half."""
    if not kinds:
        return 0.0
    return sum(_kind_match(text, kind) for kind in kinds) / len(kinds)


def _kind_match(text: str, kind: AnswerType) -> float:
    if value_spans(text, kind):
        return 1.0
    return 0.5 if any(value_spans(text, other) for other in _ALSO_ANSWERS.get(kind, ())) else 0.0


def stated_polarity(text: str) -> bool | None:
    """True/False when the text opens with an explicit yes/no (a FAQ answer "Yes. …", "不支持…"), else None."""
    if _NEGATIVE_OPENER.match(text):
        return False
    if _AFFIRMATIVE_OPENER.match(text):
        return True
    return None


def negated(text: str) -> bool:
    """The text says something is not so ("not available for …", "不支持", "非触摸")."""
    return _NEGATION.search(text) is not None
