"""What the drafter knows about a live database: tables, columns, keys and a sample of each table's values.

One sampled SELECT per table (the first SAMPLE_ROWS rows) gives every column's distinct count and value
shapes, so drafting stays fast on wide or large schemas; nothing reads a whole table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine

from tools.text2sql.drafting.words import identifier_words, split_identifier

SAMPLE_ROWS = 1000
# Columns with at most this many distinct sampled values keep them (for Chinese value synonyms).
SMALL_COLUMN_VALUES = 60
_NUMBER = re.compile(r"^\s*-?\d+(?:\.\d+)?\s*$")
_INTEGER = re.compile(r"^\s*-?\d+\s*$")
_ISO_DATE = re.compile(r"^\s*\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?\s*$")
YEAR_RANGE = (1800, 2100)


@dataclass
class ColumnProfile:
    """One column: its declared type class and what a sample of its values looks like."""

    name: str
    type_class: str  # integer | real | text | date | boolean | other
    raw_words: list[str]
    words: list[str]
    is_primary: bool = False
    sampled: int = 0
    distinct: int = 0
    all_numbers: bool = False
    all_integers: bool = False
    all_years: bool = False
    minimum: float | None = None
    maximum: float | None = None
    all_iso_dates: bool = False
    average_length: float = 0.0
    values: list[str] = field(default_factory=list, repr=False)  # the distinct sampled values of a small column

    @property
    def textual(self) -> bool:
        return self.type_class == "text"

    @property
    def distinct_ratio(self) -> float:
        return self.distinct / self.sampled if self.sampled else 0.0


@dataclass
class ForeignKey:
    columns: list[str]
    referred_table: str
    referred_columns: list[str]


@dataclass
class TableProfile:
    """One table: columns in order, declared primary and foreign keys, and the sample size."""

    name: str
    columns: dict[str, ColumnProfile] = field(default_factory=dict)
    primary_key: list[str] = field(default_factory=list)
    foreign_keys: list[ForeignKey] = field(default_factory=list)
    rows_sampled: int = 0


def type_class(type_name: str) -> str:
    """SQLite-style affinity of a declared type: integer, real, text, date, boolean or other."""
    lowered = type_name.lower()
    if "bool" in lowered:
        return "boolean"
    if any(word in lowered for word in ("date", "time")):
        return "date"
    if "int" in lowered:
        return "integer"
    if any(word in lowered for word in ("char", "text", "clob", "string")) or not lowered:
        return "text"
    if any(word in lowered for word in ("real", "floa", "doub", "dec", "num", "money")):
        return "real"
    return "other"


def read_schema(engine: Engine) -> dict[str, TableProfile]:
    """Tables, columns, primary and foreign keys from the database's catalogue (no rows read)."""
    inspector = inspect(engine)
    tables: dict[str, TableProfile] = {}
    for table in inspector.get_table_names():
        profile = TableProfile(table)
        profile.primary_key = list((inspector.get_pk_constraint(table) or {}).get("constrained_columns") or [])
        for column in inspector.get_columns(table):
            name = column["name"]
            profile.columns[name] = ColumnProfile(
                name=name, type_class=type_class(str(column["type"])), raw_words=split_identifier(name),
                words=identifier_words(name), is_primary=name in profile.primary_key)
        for key in inspector.get_foreign_keys(table):
            profile.foreign_keys.append(ForeignKey(list(key.get("constrained_columns") or []),
                                                   key.get("referred_table") or "",
                                                   list(key.get("referred_columns") or [])))
        tables[table] = profile
    return tables


def sample_values(engine: Engine, tables: dict[str, TableProfile]) -> None:
    """Fill each column's value shape from the first SAMPLE_ROWS rows of its table (one query per table)."""
    preparer = engine.dialect.identifier_preparer
    with engine.connect() as connection:
        for table in tables.values():
            if not table.columns:
                continue
            rows = _sample(connection, preparer, table)
            table.rows_sampled = len(rows)
            for index, column in enumerate(table.columns.values()):
                _describe(column, [row[index] for row in rows if row[index] is not None])


def _sample(connection: Connection, preparer: Any, table: TableProfile) -> list[Any]:
    columns = ", ".join(preparer.quote(name) for name in table.columns)
    # Identifiers come from the database's own catalogue, quoted by the dialect; no user text reaches here.
    statement = text(f"SELECT {columns} FROM {preparer.quote(table.name)} LIMIT {SAMPLE_ROWS}")
    return list(connection.execute(statement).fetchall())


def _describe(column: ColumnProfile, values: list[Any]) -> None:
    column.sampled = len(values)
    texts = [str(value) for value in values]
    distinct = sorted(set(texts))
    column.distinct = len(distinct)
    if not values:
        return
    if column.distinct <= SMALL_COLUMN_VALUES:
        column.values = distinct
    column.average_length = sum(len(value) for value in texts) / len(texts)
    column.all_numbers = all(_NUMBER.match(value) for value in texts)
    column.all_integers = column.all_numbers and all(_INTEGER.match(value) or value.endswith(".0") for value in texts)
    if column.all_numbers:
        numbers = [float(value) for value in texts]
        column.minimum, column.maximum = min(numbers), max(numbers)
    column.all_years = column.all_integers and column.minimum is not None and column.maximum is not None and \
        YEAR_RANGE[0] <= column.minimum and column.maximum <= YEAR_RANGE[1]
    column.all_iso_dates = all(_ISO_DATE.match(value) for value in texts)
