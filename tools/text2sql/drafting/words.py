"""English words of schema identifiers: split snake/camel/Pascal case, expand abbreviations, singular and plural."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from salesbot.yaml_files import load_yaml_model

VOCABULARY_FILE = Path(__file__).resolve().parent / "vocabulary.yaml"

# One identifier word: an upper-case run before a capitalised word (HTTP|Server), a capitalised or lower-case
# word, an upper-case run, digits, or a run of Chinese characters.
_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+|[\u4e00-\u9fff]+")
_SEPARATORS = re.compile(r"[^0-9A-Za-z\u4e00-\u9fff]+")
# Endings that look plural but are singular ("status", "analysis", "series").
_SINGULAR_ENDINGS = ("ss", "us", "is", "series", "species", "news")


class Vocabulary(BaseModel):
    """vocabulary.yaml: general identifier conventions (no entry belongs to one database)."""

    model_config = ConfigDict(extra="forbid")

    abbreviations: dict[str, str] = Field(default_factory=dict)
    spelling_variants: dict[str, str] = Field(default_factory=dict)
    irregular_plurals: dict[str, str] = Field(default_factory=dict, description="singular: plural")
    table_prefixes: list[str] = Field(default_factory=list)
    generic_heads: list[str] = Field(default_factory=list)
    stopwords: list[str] = Field(default_factory=list)
    name_words: list[str] = Field(default_factory=list)
    person_name_parts: list[str] = Field(default_factory=list)
    not_label_words: list[str] = Field(default_factory=list)
    identifier_words: list[str] = Field(default_factory=list)
    dimension_words: list[str] = Field(default_factory=list)
    measure_words: list[str] = Field(default_factory=list)
    average_words: list[str] = Field(default_factory=list)
    ranking_words: dict[str, dict[str, str]] = Field(default_factory=dict)


@lru_cache(maxsize=1)
def vocabulary() -> Vocabulary:
    """The shipped vocabulary, read once."""
    return load_yaml_model(VOCABULARY_FILE, Vocabulary)


def split_identifier(identifier: str) -> list[str]:
    """Lower-case words of an identifier: `Template_Type_Code`, `firstName`, `HTTPServer2` → words."""
    words: list[str] = []
    for part in _SEPARATORS.split(identifier):
        words.extend(match.group(0).lower() for match in _WORD.finditer(part))
    return words


def expand_abbreviations(words: list[str]) -> list[str]:
    """Replace short forms (amt, qty, dob…) by the words they stand for."""
    table = vocabulary().abbreviations
    expanded: list[str] = []
    for word in words:
        expanded.extend(table.get(word, word).split())
    return expanded


def identifier_words(identifier: str) -> list[str]:
    """The words of an identifier with abbreviations expanded: `dob` → date of birth, `amt_paid` → amount paid."""
    return expand_abbreviations(split_identifier(identifier))


def singular(word: str) -> str:
    """The singular of an English word (unchanged when it does not look plural)."""
    irregular = {plural: single for single, plural in vocabulary().irregular_plurals.items()}
    if word in irregular:
        return irregular[word]
    if not word.isascii() or not word.isalpha() or len(word) < 3 or word.endswith(_SINGULAR_ENDINGS):
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "xes", "ches", "shes", "zzes")):
        return word[:-2]
    if word.endswith("s"):
        return word[:-1]
    return word


def plural(word: str) -> str:
    """The plural of an English singular word."""
    irregular = vocabulary().irregular_plurals
    if word in irregular:
        return irregular[word]
    if not word.isascii() or not word.isalpha() or word.endswith(_SINGULAR_ENDINGS[2:]):
        return word
    if word.endswith("y") and word[-2:-1] not in ("a", "e", "i", "o", "u"):
        return word[:-1] + "ies"
    if word.endswith(("s", "x", "ch", "sh", "z")):
        return word + "es"
    return word + "s"


def plural_forms(word: str) -> list[str]:
    """Singular and plural spellings of an English word or phrase (Chinese words are returned unchanged).

    The compiler's vocabulary reads every layer phrase through this, so "customer" also matches "customers".
    """
    if not word.isascii():
        return [word]
    forms = {word}
    if word.endswith("ies"):
        forms.add(word[:-3] + "y")
    elif word.endswith("ses") or word.endswith("xes"):
        forms.add(word[:-2])
    elif word.endswith("s") and not word.endswith("ss"):
        forms.add(word[:-1])
    else:
        forms.add(word[:-1] + "ies" if word.endswith("y") and word[-2:-1] not in "aeiou" else word + "s")
        if word.endswith(("s", "x", "ch", "sh")):
            forms.add(word + "es")
    return sorted(forms)


@dataclass(frozen=True)
class TableNoun:
    """What a table holds, as words: `Ref_Template_Types` → singular (template, type), head `type`."""

    words: tuple[str, ...]

    @property
    def phrase(self) -> str:
        return " ".join(self.words)

    @property
    def plural_phrase(self) -> str:
        return " ".join((*self.words[:-1], plural(self.words[-1]))) if self.words else ""


def table_words(table: str) -> list[str]:
    """The words of a table name without prefixes such as ref_ or tbl_ (abbreviations not expanded)."""
    words = split_identifier(table)
    prefixes = set(vocabulary().table_prefixes)
    while len(words) > 1 and words[0] in prefixes:
        words = words[1:]
    return words


def table_noun(table: str) -> TableNoun:
    """The singular noun words of a table name, without prefixes such as ref_ or tbl_."""
    words = expand_abbreviations(table_words(table))
    if words:
        words = [*words[:-1], singular(words[-1])]
    return TableNoun(tuple(words))


def spelling_variants(phrase: str) -> list[str]:
    """The phrase with British spellings made American and the reverse (enrolment ↔ enrollment)."""
    table = vocabulary().spelling_variants
    reverse = {american: british for british, american in table.items()}
    words = phrase.split()
    variants = []
    for mapping in (table, reverse):
        changed = [mapping.get(word, word) for word in words]
        if changed != words:
            variants.append(" ".join(changed))
    return variants


def of_reordered(words: list[str]) -> list[str] | None:
    """`date of birth` → `birth date`, `cost of treatment` → `treatment cost`; None without an inner `of`.

    "number of X" is left alone: read backwards it would mean an identifier ("X number").
    """
    if "of" not in words[1:-1]:
        return None
    split_at = words.index("of")
    head, modifier = words[:split_at], words[split_at + 1:]
    if head[-1] in ("number", "count", "total", "amount"):
        return None
    return [*modifier, *head]


def unique(items: list[str]) -> list[str]:
    """Items in first-seen order without duplicates or empty strings."""
    seen: dict[str, None] = {}
    for item in items:
        if item and item not in seen:
            seen[item] = None
    return list(seen)
