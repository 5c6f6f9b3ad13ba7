"""Step 1, intent: what the question asks for, read from general English and Chinese words (no schema involved).

The result is a list of cues with their positions (count, aggregates, superlatives, grouping, ordering,
negation, set operations, comparisons with numbers, substring patterns); the planner ties each cue to the
schema words next to it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from salesbot.text import has_cjk
from tools.text2sql import lexicon

NUMBER = r"\d+(?:\.\d+)?"


@dataclass(frozen=True)
class Cue:
    """One intent word in the question: its kind, where it is, and an operator, number or text it carries."""

    kind: str
    start: int
    end: int
    text: str = ""
    operator: str | None = None
    number: float | None = None
    upper: float | None = None


@dataclass
class Intent:
    """Every cue found in one question, in order of position."""

    cues: list[Cue] = field(default_factory=list)

    def of(self, *kinds: str) -> list[Cue]:
        return [cue for cue in self.cues if cue.kind in kinds]

    def has(self, *kinds: str) -> bool:
        return any(cue.kind in kinds for cue in self.cues)


def _phrase_pattern(phrase: str) -> str:
    if has_cjk(phrase):
        return re.escape(phrase)
    return r"(?<![\w'])" + re.escape(phrase).replace(r"\ ", r"\s+") + r"(?![\w'])"


@lru_cache(maxsize=1)
def _cue_patterns() -> list[tuple[str, re.Pattern[str]]]:
    """One alternation per cue kind, longest phrase first so "most number of" wins over "most"."""
    patterns = []
    for kind, phrases in lexicon.INTENT_CUES.items():
        ordered = sorted(set(phrases), key=len, reverse=True)
        patterns.append((kind, re.compile("|".join(_phrase_pattern(p) for p in ordered))))
    return patterns


@lru_cache(maxsize=1)
def _comparison_pattern() -> re.Pattern[str]:
    words = sorted(lexicon.COMPARISON_WORDS, key=len, reverse=True)
    return re.compile(r"(?P<op>" + "|".join(_phrase_pattern(w) for w in words) + r")\s*(?:a\s+|an\s+)?(?P<number>"
                      + NUMBER + "|" + _number_words() + r")(?!\d|\.\d)")


@lru_cache(maxsize=1)
def _trailing_comparison_pattern() -> re.Pattern[str]:
    words = sorted(lexicon.TRAILING_COMPARISON_WORDS, key=len, reverse=True)
    return re.compile(r"(?<![\w.])(?P<number>" + NUMBER + "|" + _number_words() + r")\s*(?P<op>"
                      + "|".join(_phrase_pattern(w) for w in words) + ")")


@lru_cache(maxsize=1)
def _number_words() -> str:
    english = sorted((w for w in lexicon.NUMBER_WORDS if w.isascii()), key=len, reverse=True)
    return r"(?:\b(?:" + "|".join(english + ["single", "a single"]) + r")\b)"


def number_value(text: str) -> float:
    """A number written in digits or as a word ("two", "a single")."""
    cleaned = text.strip().lower()
    if cleaned in ("single", "a single"):
        return 1.0
    if cleaned in lexicon.NUMBER_WORDS:
        return float(lexicon.NUMBER_WORDS[cleaned])
    return float(cleaned)


BETWEEN = re.compile(r"\bbetween\s+(?P<low>" + NUMBER + r"|\w+)\s+and\s+(?P<high>" + NUMBER + r"|\w+)\b"
                     r"|(?<![\w.])(?P<low2>" + NUMBER + r")\s*(?:to|-|~|到|至)\s*(?P<high2>" + NUMBER + r")(?!\d|\.\d)")
TOP_N = re.compile(r"\b(?:top|first|last|bottom)\s+(?P<n>\d+|" + "|".join(
    w for w in lexicon.NUMBER_WORDS if w.isascii()) + r")\b|前\s*(?P<zh>\d+|[一二三四五六七八九十两])"
    r"|(?<![\w.])(?P<lead>\d+)\s+(?=(?:most|least|highest|lowest|largest|smallest|best|worst|cheapest|oldest|"
    r"youngest|latest|earliest|newest)\b)")


def parse_intent(text: str, original: str | None = None) -> Intent:
    """All cues of a (lower-cased, NFKC) question; overlapping phrases of one kind keep the longest. With the
    `original` (same text before lower-casing), substring patterns keep the letters' case ('West')."""
    cues: list[Cue] = []
    for kind, pattern in _cue_patterns():
        cues.extend(Cue(kind, m.start(), m.end(), m.group(0)) for m in pattern.finditer(text))
    cues.extend(_comparisons(text))
    cues.extend(_limits(text))
    same_length = original is not None and len(original) == len(text)
    cues.extend(_substrings(text, original if same_length else None))
    return Intent(sorted(cues, key=lambda cue: (cue.start, -cue.end)))


def _comparisons(text: str) -> list[Cue]:
    found = []
    for match in BETWEEN.finditer(text):
        low, high = match.group("low") or match.group("low2"), match.group("high") or match.group("high2")
        try:
            found.append(Cue("between", match.start(), match.end(), match.group(0), "between",
                             number_value(low), number_value(high)))
        except ValueError:
            continue
    for match in _comparison_pattern().finditer(text):
        operator = lexicon.COMPARISON_WORDS[re.sub(r"\s+", " ", match.group("op"))]
        found.append(Cue("compare", match.start(), match.end(), match.group(0), operator,
                         number_value(match.group("number"))))
    for match in _trailing_comparison_pattern().finditer(text):
        operator = lexicon.TRAILING_COMPARISON_WORDS[re.sub(r"\s+", " ", match.group("op"))]
        found.append(Cue("compare", match.start(), match.end(), match.group(0), operator,
                         number_value(match.group("number"))))
    return found


def _limits(text: str) -> list[Cue]:
    found = []
    for match in TOP_N.finditer(text):
        raw = match.group("n") or match.group("zh") or match.group("lead")
        value = float(lexicon.NUMBER_WORDS[raw]) if raw in lexicon.NUMBER_WORDS else float(raw)
        found.append(Cue("limit", match.start(), match.end(), match.group(0), number=value))
    return found


def _substrings(text: str, original: str | None) -> list[Cue]:
    found = []
    for pattern, kind in ((lexicon.SUBSTRING_WORDS, "contains"), (lexicon.PREFIX_WORDS, "prefix"),
                          (lexicon.SUFFIX_WORDS, "suffix")):
        for match in pattern.finditer(text):
            group = next((index for index, g in enumerate(match.groups(), start=1) if g), None)
            if group is None:
                continue
            source = original if original is not None else text
            literal = source[match.start(group):match.end(group)]
            if literal.lower() not in (("the", "a") if kind == "contains" else ("the",)):
                found.append(Cue("like", match.start(), match.end(), literal, operator=kind))
    return found
