"""SQLModel engines: one per database URL, created lazily, SQLite files under SALESBOT_HOME by default.

With SALESBOT_DATABASE_URL set (the server profile), every store asks `database_url_or_file` and lands in that
one database; the helpers below keep their SQL the same on SQLite and Postgres (conflict-tolerant inserts,
schema migrations under a lock several processes may race for).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Table, event, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlmodel import create_engine

from salesbot.settings import get_settings, on_reset

# Key of the Postgres advisory lock held while migrating tables: CREATE TABLE IF NOT EXISTS from two processes at
# once can still fail on the pg_type unique index, so schema migrations are serialised across processes.
SCHEMA_LOCK_KEY = 0x5A1E5B07
# Key of the lock around the LangGraph checkpointer's own migrations. A key of its own: they include CREATE INDEX
# CONCURRENTLY, which waits for every transaction running a statement when it starts: under SCHEMA_LOCK_KEY it
# waited for another process's schema transaction queued for that lock, which waited for it, and both hung (Postgres
# does not see that cycle; tests/integration/server_profile/test_stores_server_profile.py shows it).
CHECKPOINT_SCHEMA_LOCK_KEY = 0x5A1E5B08

_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()
# (database URL, store) pairs whose schema this process has brought to head. Threads upgrading the same pair take
# turns on that pair's own lock (re-entrant): one lock for all of them made a thread opening one store wait for
# another thread's upgrade of a different store, which may itself wait on a database lock the first thread holds.
_schemas_current: set[tuple[str, str]] = set()
_schema_locks: dict[tuple[str, str], threading.RLock] = {}
_schema_locks_guard = threading.Lock()


def engine_for(url: str) -> Engine:
    """A shared engine for a database URL; SQLite gets WAL and a busy timeout so CLI and servers can share it."""
    with _engines_lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _build_engine(url)
            _engines[url] = engine
        return engine


def _build_engine(url: str) -> Engine:
    is_sqlite = url.startswith("sqlite")
    if not is_sqlite:
        # pre_ping: a server process outlives a Postgres restart; connect_timeout: no call waits forever.
        return create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 10})
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
    if is_sqlite:

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

    return engine


def database_url_or_file(sqlite_path: Path) -> str:
    """SALESBOT_DATABASE_URL when set (the server profile: one database for every store), else this SQLite file."""
    return get_settings().database_url or f"sqlite:///{sqlite_path}"


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


def libpq_conninfo(url: str) -> str:
    """A SQLAlchemy URL (postgresql+psycopg://...) as the plain libpq URL psycopg and PostgresSaver take."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@contextmanager
def schema_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction for creating or altering tables, holding a cross-process lock from its first statement: the
    schema advisory lock on Postgres, the database's write lock on SQLite (BEGIN IMMEDIATE). Without it, two
    processes both see a table missing and the second CREATE fails ("table ... already exists").

    Both locks end with the transaction: at commit, or when a killed process's connection goes.
    """
    with engine.begin() as connection:
        if is_postgres(engine):
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK_KEY})
        elif engine.dialect.name == "sqlite":
            connection.exec_driver_sql("BEGIN IMMEDIATE")  # pysqlite itself begins only before DML
        yield connection


def upgrade_schema(engine: Engine, store: str) -> None:
    """Bring one store's tables (salesbot.migrations: sales, knowledge, connector_events, slack, wecom) to its newest
    migration: once per process per URL, and safe when several processes start at once.

    A database already at head costs one SELECT of its version table, without the lock or importing Alembic (cold
    start). Otherwise Alembic runs on the connection of a `schema_transaction`, so the lock is held from before the
    version table is read until the upgrade commits: a second process waits, then finds the database at head.
    A database made by `create_all` before migrations existed is adopted by the baselines (see salesbot.migrations).
    """
    from salesbot.migrations import STORE_HEADS, current_revision

    key = (engine.url.render_as_string(hide_password=False), store)
    if key in _schemas_current:
        return
    with _schema_locks_guard:
        lock = _schema_locks.setdefault(key, threading.RLock())
    with lock:
        if key in _schemas_current:
            return
        with engine.connect() as connection:
            at_head = current_revision(connection, store) == STORE_HEADS[store]
        if not at_head:
            from salesbot.migrations import upgrade_to_head

            with schema_transaction(engine) as connection:
                upgrade_to_head(connection, store)
        _schemas_current.add(key)


def dialect_insert(engine: Engine, table: Table) -> Any:
    """The INSERT construct of this engine's dialect (SQLite or Postgres), which knows ON CONFLICT."""
    if is_postgres(engine):
        from sqlalchemy.dialects.postgresql import insert as postgres_insert

        return postgres_insert(table)
    if engine.dialect.name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(table)
    raise ValueError(f"unsupported database {engine.dialect.name!r}: salesbot runs on SQLite or PostgreSQL")


def insert_ignoring_conflicts(engine: Engine, table: Table) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING (atomic in SQLite and Postgres); add .returning(...) to learn whether
    the row went in (rowcount is -1 on Postgres through psycopg)."""
    return dialect_insert(engine, table).on_conflict_do_nothing()


def upsert(engine: Engine, table: Table) -> Any:
    """INSERT ... ON CONFLICT (primary key) DO UPDATE the other columns: the portable INSERT OR REPLACE."""
    statement = dialect_insert(engine, table)
    keys = [column.name for column in table.primary_key.columns]
    return statement.on_conflict_do_update(
        index_elements=keys,
        set_={column.name: statement.excluded[column.name] for column in table.columns if column.name not in keys})


def sales_engine() -> Engine:
    """The engine of the configured sales database, its tables migrated to head once per process.

    Migrating under the lock matters: concurrent first turns (Slack, WeCom) would otherwise race on
    CREATE TABLE and fail with "table already exists".
    """
    engine = engine_for(get_settings().sales_database_url)
    upgrade_schema(engine, "sales")
    return engine


@on_reset
def reset_engines() -> None:
    """Dispose and forget cached engines (tests that switch SALESBOT_HOME call this)."""
    with _engines_lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
    with _schema_locks_guard:
        _schemas_current.clear()
