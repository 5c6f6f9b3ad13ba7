"""SQLModel engines: one per database URL, created lazily, SQLite files under SALESBOT_HOME by default."""

from __future__ import annotations

import threading

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel, create_engine

from salesbot.settings import get_settings, on_reset

_engines: dict[str, Engine] = {}
_tables_created: set[str] = set()
_engines_lock = threading.Lock()


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
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30} if is_sqlite else {})
    if is_sqlite:

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

    return engine


def create_tables(engine: Engine) -> None:
    """Create every table the imported models declare (idempotent)."""
    SQLModel.metadata.create_all(engine)


def sales_engine() -> Engine:
    """The engine of the configured sales database, with its tables created once per process.

    Creating under the lock matters: concurrent first turns (Slack, WeCom) would otherwise race on
    CREATE TABLE and fail with "table already exists".
    """
    url = get_settings().sales_database_url
    engine = engine_for(url)
    with _engines_lock:
        if url not in _tables_created:
            create_tables(engine)
            _tables_created.add(url)
    return engine


@on_reset
def reset_engines() -> None:
    """Dispose and forget cached engines (tests that switch SALESBOT_HOME call this)."""
    with _engines_lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
        _tables_created.clear()
