"""Check a semantic layer someone drafted or edited: what no question can reach, words that name several things,
joins without keys, tables without a label, and (with a database) what the layer names that does not exist.

Errors make the layer wrong (a join to a column that is not there); warnings make some questions unanswerable
or ambiguous. The check reads only the YAML unless a database is given.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Literal

from pydantic import BaseModel, Field
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine

from tools.text2sql.drafting.words import plural_forms
from tools.text2sql.models import SemanticLayer, TableSpec

Severity = Literal["error", "warning"]


class LayerProblem(BaseModel):
    """One finding: how bad, what kind, where (table, table.column or a join) and what to do."""

    severity: Severity
    kind: str
    where: str
    message: str


class LayerReport(BaseModel):
    """Every finding for one layer; `salesbot sql layer check --json` prints model_dump() of it."""

    layer: str
    tables: int
    columns: int
    joins: int
    problems: list[LayerProblem] = Field(default_factory=list)

    @property
    def errors(self) -> list[LayerProblem]:
        return [problem for problem in self.problems if problem.severity == "error"]

    @property
    def warnings(self) -> list[LayerProblem]:
        return [problem for problem in self.problems if problem.severity == "warning"]


def check_layer(layer: SemanticLayer, engine: Engine | None = None) -> LayerReport:
    """All findings for a layer; with `engine`, also tables, columns and join keys checked against the data."""
    problems = [*_dangling_references(layer), *_join_problems(layer), *_unreachable(layer),
                *_ambiguous_words(layer), *_missing_labels(layer)]
    if engine is not None:
        problems += _database_problems(layer, engine)
    columns = sum(len(table.columns) for table in layer.tables.values())
    return LayerReport(layer=layer.name, tables=len(layer.tables), columns=columns, joins=len(layer.joins),
                       problems=sorted(problems, key=lambda problem: (problem.severity != "error", problem.kind)))


def _problem(severity: Severity, kind: str, where: str, message: str) -> LayerProblem:
    return LayerProblem(severity=severity, kind=kind, where=where, message=message)


def _dangling_references(layer: SemanticLayer) -> list[LayerProblem]:
    """Primary keys, labels, time columns and measures that name a column the table does not list."""
    problems = []
    for name, table in layer.tables.items():
        named = [("primary_key", table.primary_key), ("time_column", table.time_column)]
        named += [("label", column) for column in table.label]
        for field, column in named:
            if column and column not in table.columns:
                problems.append(_problem("error", "unknown_column", f"{name}.{field}",
                                         f"{field} of {name} names {column!r}, which is not among its columns"))
    for measure in layer.measures:
        if measure.table not in layer.tables:
            problems.append(_problem("error", "unknown_table", f"measures.{measure.name}",
                                     f"measure {measure.name!r} is on table {measure.table!r}, not in the layer"))
    return problems


def _join_problems(layer: SemanticLayer) -> list[LayerProblem]:
    """Joins whose sides are not `table.column` of the layer, or where neither side is a primary key."""
    problems = []
    for join in layer.joins:
        where = f"join {join.left} = {join.right}"
        sides = [_split_side(side) for side in (join.left, join.right)]
        missing = [side for side, (table, column) in zip((join.left, join.right), sides, strict=True)
                   if table not in layer.tables or column not in layer.tables[table].columns]
        if missing:
            problems.append(_problem("error", "join_unknown_column", where,
                                     f"the join names {', '.join(missing)}, not in the layer (write table.column)"))
            continue
        if not any(layer.tables[table].primary_key == column for table, column in sides):
            problems.append(_problem("warning", "join_without_key", where,
                                     "neither side is its table's primary_key: the join may repeat rows "
                                     "(set primary_key, or check that one side is unique)"))
    return problems


def _split_side(side: str) -> tuple[str, str]:
    table, _, column = side.partition(".")
    return table, column


def _joined_tables(layer: SemanticLayer) -> set[str]:
    return {_split_side(side)[0] for join in layer.joins for side in (join.left, join.right)}


def _unreachable(layer: SemanticLayer) -> list[LayerProblem]:
    """Columns no word reaches (no synonym, not a label, not a key, values not indexed) and isolated tables."""
    problems = []
    joined = _joined_tables(layer)
    for name, table in layer.tables.items():
        if len(layer.tables) > 1 and name not in joined:
            problems.append(_problem("warning", "table_not_joinable", name,
                                     f"{name} has no join: questions that also involve another table cannot use it"))
        for column_name, column in table.columns.items():
            reachable = column.synonyms or column.role == "key" or column.index_values or column_name in table.label
            if not reachable:
                problems.append(_problem("warning", "unreachable_column", f"{name}.{column_name}",
                                         "no synonym, label, key role or indexed values: only its raw name "
                                         "reaches it (add synonyms)"))
    return problems


def _ambiguous_words(layer: SemanticLayer) -> list[LayerProblem]:
    """Words that name several tables, or several columns of one table (other tables' columns may share a word:
    the table in the question tells them apart)."""
    table_words: dict[str, set[str]] = defaultdict(set)
    column_words: dict[tuple[str, str], set[str]] = defaultdict(set)
    for name, table in layer.tables.items():
        for word in _words_of_table(name, table):
            table_words[word].add(name)
        for column_name, column in table.columns.items():
            if column.role == "key":
                continue
            for word in _forms([column_name.replace("_", " "), *column.synonyms]):
                column_words[(name, word)].add(column_name)
    problems = [_problem("warning", "ambiguous_synonym", word,
                         f"{word!r} names the tables {', '.join(sorted(tables))}")
                for word, tables in sorted(table_words.items()) if len(tables) > 1]
    problems += [_problem("warning", "ambiguous_synonym", f"{table}: {word}",
                          f"{word!r} names the columns {', '.join(sorted(columns))} of {table}")
                 for (table, word), columns in sorted(column_words.items()) if len(columns) > 1]
    return problems


def _words_of_table(name: str, table: TableSpec) -> set[str]:
    return _forms([name.replace("_", " "), *table.synonyms])


def _forms(phrases: list[str]) -> set[str]:
    return {form for phrase in phrases for form in plural_forms(" ".join(phrase.lower().split()))}


def _missing_labels(layer: SemanticLayer) -> list[LayerProblem]:
    """Tables whose rows have no name (questions asking for "the names of" them get ids), bridges excepted."""
    joined_columns = {side for join in layer.joins for side in (join.left, join.right)}
    problems = []
    for name, table in layer.tables.items():
        bridge = bool(table.columns) and all(f"{name}.{column}" in joined_columns or spec.role == "key"
                                             for column, spec in table.columns.items())
        if not table.label and not bridge:
            problems.append(_problem("warning", "no_label", name,
                                     f"{name} has no label: answers name its rows by key (set label: [column])"))
    return problems


def _database_problems(layer: SemanticLayer, engine: Engine) -> list[LayerProblem]:
    """Tables and columns of the layer missing from the database; joins whose key side is not unique there."""
    inspector = inspect(engine)
    actual = {table: {column["name"] for column in inspector.get_columns(table)}
              for table in inspector.get_table_names()}
    problems = []
    for name, table in layer.tables.items():
        if name not in actual:
            problems.append(_problem("error", "missing_in_database", name, f"table {name} is not in the database"))
            continue
        for column in table.columns:
            if column not in actual[name]:
                problems.append(_problem("error", "missing_in_database", f"{name}.{column}",
                                         f"column {column} is not in table {name} of the database"))
    for join in layer.joins:
        sides = [_split_side(side) for side in (join.left, join.right)]
        if all(table in actual and column in actual[table] for table, column in sides) and \
                not any(_is_unique(engine, table, column) for table, column in sides):
            problems.append(_problem("warning", "join_not_unique", f"join {join.left} = {join.right}",
                                     "neither side holds unique values in the database: the join multiplies rows"))
    return problems


def _is_unique(engine: Engine, table: str, column: str) -> bool:
    preparer = engine.dialect.identifier_preparer
    quoted_table, quoted_column = preparer.quote(table), preparer.quote(column)
    # Names were checked against the database's catalogue above.
    statement = text(f"SELECT COUNT({quoted_column}) = COUNT(DISTINCT {quoted_column}) FROM {quoted_table}")
    with engine.connect() as connection:
        return bool(connection.execute(statement).scalar())
