"""Draft a semantic layer from a live database: schema, one value sample per table, joins, roles and words."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from tools.text2sql.drafting.joins import declared_joins, naming_joins, primary_key_of
from tools.text2sql.drafting.profile import ColumnProfile, TableProfile, read_schema, sample_values
from tools.text2sql.drafting.roles import choose_label, read_column
from tools.text2sql.drafting.synonyms import (
    column_head,
    column_synonyms,
    label_synonyms,
    table_synonyms,
    value_synonyms,
)
from tools.text2sql.drafting.words import TableNoun, table_noun
from tools.text2sql.models import ColumnSpec, JoinSpec, SemanticLayer, TableSpec


def draft_layer(engine: Engine, name: str) -> SemanticLayer:
    """A first semantic layer for a database nobody has described: good enough for the rule compiler, and a
    starting point people edit (synonyms of their trade, value synonyms, joins the names do not show).

    Joins come from declared foreign keys and from column naming (checked on the data); each table gets the
    columns that name its rows, each column a role and usage, numbers/years/dates stored as text are detected
    from sampled values, and tables and columns get English and Chinese synonyms.
    """
    tables = read_schema(engine)
    sample_values(engine, tables)
    joins = declared_joins(tables)
    joins += naming_joins(engine, tables, joins)
    nouns = {table: table_noun(table) for table in tables}
    drafted = {table: _draft_table(profile, nouns[table], list(nouns.values()), joins)
               for table, profile in tables.items()}
    return SemanticLayer(name=name, dialect=dialect_of(str(engine.url)), tables=drafted, joins=joins)


def dialect_of(url: str) -> str:
    """The sqlglot dialect name of a SQLAlchemy URL."""
    scheme = url.split(":", 1)[0].split("+", 1)[0]
    return {"postgresql": "postgres", "sqlite": "sqlite", "mysql": "mysql"}.get(scheme, scheme)


def join_columns(table: str, joins: list[JoinSpec]) -> set[str]:
    """Columns of `table` that appear in a join."""
    columns = set()
    for join in joins:
        for side in (join.left, join.right):
            side_table, _, column = side.partition(".")
            if side_table == table:
                columns.add(column)
    return columns


def _draft_table(table: TableProfile, noun: TableNoun, all_nouns: list[TableNoun], joins: list[JoinSpec]) -> TableSpec:
    primary_key = primary_key_of(table)
    keys = join_columns(table.name, joins) | set(table.primary_key) | ({primary_key} if primary_key else set())
    bridge = _bridged_tables(table.name, keys, set(table.columns), joins)
    label = [] if bridge else choose_label(table, keys)
    # A head word stands alone only when no other column of the table ends with it (share vs rating share).
    last_words = [column.words[-1] for column in table.columns.values() if column.words]
    unique_heads = {head for column in table.columns.values()
                    if (head := column_head(column)) and last_words.count(head) == 1}
    columns = {name: _draft_column(column, name in keys, name in label, noun, column_head(column) in unique_heads)
               for name, column in table.columns.items()}
    time_column = next((name for name, spec in columns.items() if spec.role == "date"
                        and "birth" not in table.columns[name].words), None)
    description = f"Links {' and '.join(bridge)} (many-to-many)." if bridge else ""
    return TableSpec(synonyms=table_synonyms(table.name, noun, all_nouns), primary_key=primary_key, label=label,
                     label_synonyms=label_synonyms(label, table.columns), time_column=time_column,
                     columns=columns, description=description)


def _draft_column(column: ColumnProfile, is_key: bool, is_label: bool, noun: TableNoun,
                  head_alone: bool) -> ColumnSpec:
    reading = read_column(column, is_key, is_label)
    head_alone = head_alone and reading.role in ("category", "number")
    index_values = reading.role in ("name", "category")
    return ColumnSpec(
        role=reading.role,  # type: ignore[arg-type]
        usage=reading.usage,
        stored_as=reading.stored_as,
        synonyms=column_synonyms(column, noun, head_alone),
        index_values=index_values,
        aggregation=reading.aggregation,  # type: ignore[arg-type]
        ranking_words=reading.ranking_words,  # type: ignore[arg-type]
        value_synonyms=value_synonyms(column) if reading.role == "category" else {},
    )


def _bridged_tables(table: str, keys: set[str], columns: set[str], joins: list[JoinSpec]) -> list[str]:
    """The two or more tables a many-to-many bridge links (every column a key); [] for other tables."""
    if keys != columns:
        return []
    linked = []
    for join in joins:
        left_table, right_table = join.left.partition(".")[0], join.right.partition(".")[0]
        if left_table == table and right_table != table:
            linked.append(right_table)
    linked = sorted(set(linked))
    return linked if len(linked) >= 2 else []
