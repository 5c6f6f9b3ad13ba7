"""Value index: distinct values of name and category columns, so filter words resolve to the right column."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.engine import Engine

from tools.text2sql.models import SemanticLayer

# High-cardinality name columns (track titles) hold everyday words ("Time", "Go"): such values only
# match when the question capitalises them or quotes them.
HIGH_CARDINALITY = 500
MAX_VALUES_PER_COLUMN = 20000


@dataclass(frozen=True)
class ValueTarget:
    """Where a value lives: one column, or several (a person's first and last name)."""

    table: str
    columns: tuple[str, ...]
    values: tuple[str, ...]
    cardinality: int


@dataclass
class ValueIndex:
    """Lower-cased phrase → the places it is stored; fuzzy candidates for multi-word proper names."""

    phrases: dict[str, list[ValueTarget]] = field(default_factory=dict)
    case_sensitive: dict[str, set[str]] = field(default_factory=dict)
    max_words: int = 1

    def add(self, phrase: str, target: ValueTarget, exact_case: bool = False) -> None:
        key = normalize_phrase(phrase)
        if not key:
            return
        bucket = self.phrases.setdefault(key, [])
        if target not in bucket:
            bucket.append(target)
        if exact_case:
            # Short words ("CA", "US", "won") only match as written, so "us" or "ca" in a sentence do not.
            self.case_sensitive.setdefault(key, set()).add(unicodedata.normalize("NFKC", phrase).strip())
        self.max_words = max(self.max_words, len(key.split()))


def normalize_phrase(phrase: str) -> str:
    """NFKC, lower case, typographic apostrophes unified, spaces collapsed."""
    cleaned = unicodedata.normalize("NFKC", phrase).replace("’", "'").lower()
    return re.sub(r"\s+", " ", cleaned).strip()


def build_value_index(engine: Engine, layer: SemanticLayer) -> ValueIndex:
    """Read distinct values of every column the layer marks `index_values`, plus person full names."""
    index = ValueIndex()
    preparer = engine.dialect.identifier_preparer
    with engine.connect() as connection:
        for table_name, table in layer.tables.items():
            quoted_table = preparer.quote(table_name)
            for column_name, column in table.columns.items():
                if not column.index_values:
                    continue
                quoted_column = preparer.quote(column_name)
                # Identifiers come from the layer (checked against the schema), never from user text.
                values = [
                    str(row[0])
                    for row in connection.execute(
                        text(
                            f"SELECT DISTINCT {quoted_column} FROM {quoted_table} "
                            f"WHERE {quoted_column} IS NOT NULL LIMIT {MAX_VALUES_PER_COLUMN}"
                        )
                    )
                ]
                for value in values:
                    target = ValueTarget(table_name, (column_name,), (value,), len(values))
                    index.add(value, target, exact_case=len(value) <= 3)
                for alias, value in column.value_synonyms.items():
                    index.add(alias, ValueTarget(table_name, (column_name,), (value,), len(values)), exact_case=len(alias) <= 3)
            if "first_name" in table.columns and "last_name" in table.columns:
                rows = connection.execute(
                    text(f"SELECT DISTINCT first_name, last_name FROM {quoted_table} LIMIT {MAX_VALUES_PER_COLUMN}")
                ).all()
                for first, last in rows:
                    if first and last:
                        target = ValueTarget(table_name, ("first_name", "last_name"), (first, last), len(rows))
                        index.add(f"{first} {last}", target)
    return index


# Registry entity types whose names are stored as values (a customer's name, a product's name or SKU).
REGISTRY_VALUE_TYPES = ("customer", "partner", "product", "competitor")


def add_registry_aliases(index: ValueIndex, exact_entity: Callable[[str], Sequence[str] | None]) -> int:
    """Let every name the entity registry knows for a stored value find that value: "<short form>" finds the
    row whose column holds the full name. `exact_entity(value)` gives the aliases of the one registry entity
    named exactly `value` (or None). Returns how many phrases were added."""
    added = 0
    for phrase, targets in list(index.phrases.items()):
        aliases = exact_entity(phrase)
        if not aliases:
            continue
        for alias in aliases:
            key = normalize_phrase(alias)
            if key and key not in index.phrases:
                for target in targets:
                    index.add(alias, target, exact_case=len(alias) <= 3)
                added += 1
    return added
