"""What each column is for: its role, its usage (measure, dimension, identifier), values stored as text, the
default aggregation, superlatives, and which columns name a table's rows (the label)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from tools.text2sql.drafting.profile import YEAR_RANGE, ColumnProfile, TableProfile
from tools.text2sql.drafting.words import singular, table_noun, vocabulary

# Text columns with at most this many distinct sampled values are categories (filters, group-bys).
CATEGORY_MAX_DISTINCT = 60
# A text column is a fallback label when almost every sampled row has its own value…
LABEL_MIN_DISTINCT_RATIO = 0.8
# …and the values are short enough to name a row.
LABEL_MAX_AVERAGE_LENGTH = 60

# A name-like column (title, name) that is not the label names rows only when most rows have their own.
NAME_MIN_DISTINCT_RATIO = 0.5
# An identifier-like text column is an identifier when (nearly) every sampled row has its own value.
UNIQUE_RATIO = 0.9

StoredAs = Literal["number", "year", "date"]
Usage = Literal["measure", "dimension", "identifier"]


@dataclass(frozen=True)
class ColumnReading:
    """The drafter's reading of one column."""

    role: str
    usage: Usage | None
    stored_as: StoredAs | None
    aggregation: str
    ranking_words: dict[str, str]


def read_column(column: ColumnProfile, is_key: bool, is_label: bool) -> ColumnReading:
    """Role, usage, stored type, aggregation and ranking words of one column."""
    stored_as = None if is_key else _stored_as(column)
    role = _role(column, is_key, is_label, stored_as)
    usage = _usage(column, role, stored_as)
    words = vocabulary()
    aggregation = "avg" if usage == "measure" and set(column.words) & set(words.average_words) else "sum"
    return ColumnReading(role, usage, stored_as, aggregation, _ranking_words(column, role, usage))


def _looks_like_identifier(column: ColumnProfile) -> bool:
    return bool(set(column.words + column.raw_words) & set(vocabulary().identifier_words))


def _stored_as(column: ColumnProfile) -> StoredAs | None:
    """`number`, `year` or `date` for a text column whose sampled values all have that shape."""
    if not column.textual or not column.sampled or _looks_like_identifier(column):
        return None
    if column.all_iso_dates:
        return "date"
    if column.all_numbers:
        if column.distinct <= 2 and column.all_integers and column.average_length <= 1:
            return None  # a 0/1 flag written as text is a category
        return "year" if _is_year(column) else "number"
    return None


def _is_year(column: ColumnProfile) -> bool:
    """Years: integers up to 2100 whose name says year, or in 1800..2100 with no measure word in the name."""
    words = set(column.words)
    if "year" in words:
        return column.all_integers and column.maximum is not None and column.maximum <= YEAR_RANGE[1]
    return column.all_years and not (words & set(vocabulary().measure_words))


def _role(column: ColumnProfile, is_key: bool, is_label: bool, stored_as: StoredAs | None) -> str:
    id_like = bool(column.raw_words) and column.raw_words[-1] in ("id", "key", "uuid", "guid")
    if is_key and column.textual and not id_like and column.sampled and column.distinct <= CATEGORY_MAX_DISTINCT:
        return "category"  # a code people type ("type code PP"): joined on, and its values filter questions
    if is_key or (id_like and column.type_class != "date"):
        return "key"
    if column.type_class == "date" or stored_as == "date":
        return "date"
    if column.type_class in ("integer", "real") or stored_as in ("number", "year"):
        return "number"
    if is_label or (column.words and column.words[-1] in vocabulary().name_words
                    and column.distinct_ratio >= NAME_MIN_DISTINCT_RATIO):
        return "name"  # a `title` shared by many rows (a job title) is a category
    if column.type_class == "boolean":
        return "category"
    if set(column.words) & set(vocabulary().not_label_words):
        return "text"
    if _looks_like_identifier(column) and column.distinct_ratio >= UNIQUE_RATIO:
        return "text"  # an e-mail, a social security number: one per row, looked up, never grouped
    if column.sampled and column.distinct <= CATEGORY_MAX_DISTINCT:
        return "category"
    return "text"


def _usage(column: ColumnProfile, role: str, stored_as: StoredAs | None) -> Usage | None:
    """Identifier, measure or dimension; None where the role already says it (names, free text, dates)."""
    words = column.words
    vocabulary_words = vocabulary()
    if role == "category":
        return "dimension"  # a code with few values (a role code) is grouped and filtered by
    if role == "key" or (role in ("number", "text") and _looks_like_identifier(column)):
        return "identifier"
    if role != "number":
        return None
    if stored_as == "year" or (_is_year(column) and "year" in words):
        return "dimension"
    if words and words[0] in ("number", "count", "total") and len(words) > 1:
        return "measure"  # number of products, total sales
    if set(words) & set(vocabulary_words.measure_words):
        return "measure"
    if set(words) & set(vocabulary_words.dimension_words) or (words and words[-1] == "number"):
        return "dimension"
    if column.sampled and column.distinct <= 2:
        return "dimension"  # a 0/1 flag
    return "measure"


def _ranking_words(column: ColumnProfile, role: str, usage: Usage | None) -> dict[str, str]:
    """Superlatives of the vocabulary for the column's head word (age → oldest/youngest, birth date reversed)."""
    if usage != "measure" and role != "date":
        return {}
    table = vocabulary().ranking_words
    for word in reversed(column.words):
        if word in table and (role != "date" or word == "birth"):
            return dict(table[word])
    return {}


def choose_label(table: TableProfile, keys: set[str]) -> list[str]:
    """Columns that name a row: first + last name, a name/title column, else a distinct short text column."""
    words = vocabulary()
    candidates = [column for name, column in table.columns.items() if name not in keys]
    by_name = {"_".join(column.words): column.name for column in candidates}  # firstName and first_name alike
    person = [by_name[part] for part in words.person_name_parts if part in by_name and "middle" not in part]
    if len(person) >= 2:
        return person
    named = [column for column in candidates if column.words and column.words[-1] in words.name_words
             and column.type_class in ("text", "other")]
    if named:
        noun = list(table_noun(table.name).words)

        def preference(column: ColumnProfile) -> tuple[bool, int]:
            # `name`, `title` or `<table>_name` before other names (a `nickname`, a `contact_name`).
            qualifier = [singular(word) for word in column.words[:-1]]
            return (bool(qualifier) and qualifier not in (noun, noun[-1:]), len(column.words))

        return [min(named, key=preference).name]
    return _distinct_text_label(candidates)


def _distinct_text_label(candidates: list[ColumnProfile]) -> list[str]:
    """A text column whose sampled values are (nearly) all different and short; a lookup table's description."""
    excluded = set(vocabulary().not_label_words) - {"description"}
    texts = [column for column in candidates if column.textual and not column.all_numbers
             and not column.all_iso_dates and not set(column.words) & excluded]
    for column in texts:
        if column.sampled and column.distinct_ratio >= LABEL_MIN_DISTINCT_RATIO \
                and column.average_length <= LABEL_MAX_AVERAGE_LENGTH and "description" not in column.words:
            return [column.name]
    descriptions = [column for column in texts if "description" in column.words]
    if len(candidates) <= 2 and len(descriptions) == 1:
        return [descriptions[0].name]  # a code → description lookup table
    return []
