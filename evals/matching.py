"""Text matching shared by the metrics: normalised fact presence, source-name matching, language guess."""

from __future__ import annotations

import re
import unicodedata
from pathlib import PurePath

from salesbot.text import (
    CJK_CHARACTERS,
    detect_language,  # noqa: F401  (re-exported: one language rule everywhere)
)

_SPACES_AND_THOUSANDS = re.compile(r"\s+|\|+|(?<=\d),(?=\d{3})")


def normalize_for_match(text: str) -> str:
    """NFKC (full-width → half-width), casefold, no whitespace, no table cell bars, no thousands separators.

    Why: answers quote clauses verbatim but may re-flow lines, quote a table row as "| a | b |", or write 1,000
    as 1000 or ５ as 5; a fact should count as present in either spelling, and nothing looser than that.
    """
    folded = unicodedata.normalize("NFKC", text).casefold()
    return _SPACES_AND_THOUSANDS.sub("", folded)


def contains_fact(answer: str, fact: str) -> bool:
    normalized_fact = normalize_for_match(fact)
    return bool(normalized_fact) and normalized_fact in normalize_for_match(answer)


def source_matches(retrieved_source: str, expected_source: str) -> bool:
    """Compare file base names; an expected name without extension matches any extension."""
    retrieved_name = PurePath(retrieved_source).name.casefold()
    expected_name = PurePath(expected_source).name.casefold()
    if retrieved_name == expected_name:
        return True
    return "." not in expected_name and PurePath(retrieved_name).stem == expected_name


def tokenize_multilingual(text: str) -> list[str]:
    """Tokens for ROUGE: each CJK character alone, Latin words and numbers whole (lower-cased).

    rouge_score's own tokenizer drops every non-ASCII character, which would score Chinese answers on
    their digits alone.
    """
    normalized = unicodedata.normalize("NFKC", text).casefold()
    return re.findall(rf"[{CJK_CHARACTERS}]|[a-z0-9]+(?:[.%][0-9]+)*%?", normalized)
