"""Each store's schema as the migrations must make it, and as code before migrations made it (the adoption tests)."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Engine

from salesbot.migrations import STORE_HEADS, include_table_name
from scripts.new_migration import store_metadata

STORES = sorted(STORE_HEADS)

# One row per store, written into a database made the old way; it must survive the adoption.
SAMPLE_ROWS: dict[str, tuple[str, dict[str, Any]]] = {
    "sales": ("customers", {"key": "c1", "name_zh": "客户", "name_en": "Customer", "region": "华东",
                            "industry": "hospital", "city": "Shanghai"}),
    "knowledge": ("entities", {"entity_id": "product:x1", "entity_type": "product", "name": "X1"}),
    "connector_events": ("handled_events", {"source": "slack", "event_key": "Ev1", "first_seen": 1.5}),
    "slack": ("slack_bot_threads", {"channel": "C1", "thread_ts": "1.1", "saved_at": 2.5}),
    "wecom": ("wechatpy_session", {"key": "token", "value": "abc", "expires_at": None}),
}

# The entities table as it was before `key` and `attributes` (the ALTERs knowledge/base.py used to run).
ENTITIES_BEFORE_KEY_AND_ATTRIBUTES = (
    "CREATE TABLE entities (entity_id VARCHAR NOT NULL, entity_type VARCHAR NOT NULL, name VARCHAR NOT NULL, "
    "PRIMARY KEY (entity_id))",
    "CREATE INDEX ix_entities_entity_type ON entities (entity_type)",
)


def schema_differences(engine: Engine, store: str) -> list[Any]:
    """What Alembic's autogenerate finds between this database and the store's models (empty: they agree)."""
    metadata = store_metadata(store)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={
            "compare_type": True,
            "include_name": lambda name, type_, _parents: type_ != "table" or include_table_name(
                name, metadata, connection.dialect.name)})
        return list(compare_metadata(context, metadata))


def create_the_old_way(engine: Engine, store: str, *, skip_tables: tuple[str, ...] = ()) -> None:
    """The store's tables as `create_all` made them before migrations (no version table); the knowledge store's
    entities without the two columns added later."""
    metadata: MetaData = store_metadata(store)
    with engine.begin() as connection:
        skipped = set(skip_tables)
        if store == "knowledge":
            for statement in ENTITIES_BEFORE_KEY_AND_ATTRIBUTES:
                connection.execute(text(statement))
            skipped.add("entities")
        metadata.create_all(connection, tables=[table for name, table in metadata.tables.items()
                                                if name not in skipped])


def insert_sample_row(engine: Engine, store: str) -> None:
    table, row = SAMPLE_ROWS[store]
    columns = ", ".join(f'"{name}"' for name in row)
    with engine.begin() as connection:
        connection.execute(text(f"INSERT INTO {table} ({columns}) VALUES ({', '.join(':' + n for n in row)})"), row)


def sample_row_count(engine: Engine, store: str) -> int:
    table, row = SAMPLE_ROWS[store]
    first = next(iter(row))
    with engine.connect() as connection:
        return int(connection.execute(text(f'SELECT count(*) FROM {table} WHERE "{first}" = :value'),
                                      {"value": row[first]}).scalar_one())


def revision_of(engine: Engine, store: str) -> str | None:
    from salesbot.migrations import current_revision

    with engine.connect() as connection:
        return current_revision(connection, store)
