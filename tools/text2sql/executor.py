"""Read-only execution: SQLite through a `mode=ro` URI with an authorizer and a timeout; others in a read-only transaction."""

from __future__ import annotations

import logging
import sqlite3
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

from tools.text2sql.models import QueryResult

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 10.0
ROW_CAP = 1000

# sqlite3 authorizer action codes a read-only query needs; everything else (writes, ATTACH, PRAGMA,
# schema changes, transactions) is denied by the engine itself as a second line behind the guard.
_ALLOWED_SQLITE_ACTIONS = {sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION}
if hasattr(sqlite3, "SQLITE_RECURSIVE"):
    _ALLOWED_SQLITE_ACTIONS.add(sqlite3.SQLITE_RECURSIVE)
_DENIED_FUNCTIONS = {"load_extension", "readfile", "writefile", "edit", "fts3_tokenizer", "sqlite_compileoption_get",
                     "zeroblob", "randomblob"}
# Per read-only connection: no string or blob (a printf result, a group_concat) longer than this, and no SQL
# text longer than that, so one query cannot allocate a gigabyte ("string or blob too big" instead).
MAX_VALUE_BYTES = 10_000_000
MAX_SQL_BYTES = 1_000_000
# SQLite's heap limit is process-wide (it covers the checkpointer and Chroma too), so it is generous and only
# set where nothing else has set one: a backstop behind the per-connection length limits above.
HARD_HEAP_LIMIT_BYTES = 512 * 1024 * 1024


class QueryTimeoutError(RuntimeError):
    """The query ran past its time budget and was interrupted."""


class DatabaseMissingError(RuntimeError):
    """The database file does not exist (nothing to read)."""


def sqlite_path(url: str) -> Path | None:
    """The file path of a sqlite URL, or None for other databases and in-memory SQLite."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite") or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database).expanduser()


def _authorize(action: int, arg1: Any, arg2: Any, _db: Any, _trigger: Any) -> int:
    if action not in _ALLOWED_SQLITE_ACTIONS:
        return sqlite3.SQLITE_DENY
    if action == sqlite3.SQLITE_FUNCTION and str(arg2 or "").lower() in _DENIED_FUNCTIONS:
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK


def open_sqlite_read_only(path: Path, immutable: bool = False) -> sqlite3.Connection:
    """A connection that cannot write: `mode=ro` URI, query_only, no extension loading."""
    if not path.exists():
        raise DatabaseMissingError(str(path))
    uri = f"file:{quote(str(path.resolve()))}?mode=ro" + ("&immutable=1" if immutable else "")
    connection = sqlite3.connect(uri, uri=True, check_same_thread=False)
    connection.execute("PRAGMA query_only = ON")
    _limit_memory(connection)
    return connection


def _limit_memory(connection: sqlite3.Connection) -> None:
    connection.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_VALUE_BYTES)
    connection.setlimit(sqlite3.SQLITE_LIMIT_SQL_LENGTH, MAX_SQL_BYTES)
    try:
        (current,) = connection.execute("PRAGMA hard_heap_limit").fetchone()
        if not current:
            connection.execute(f"PRAGMA hard_heap_limit = {HARD_HEAP_LIMIT_BYTES}")
    except sqlite3.DatabaseError:  # an SQLite older than 3.31 has no hard heap limit; the length limits stay
        logger.debug("PRAGMA hard_heap_limit unavailable", exc_info=True)


def read_only_engine(url: str) -> Engine:
    """An engine for schema inspection and value indexing that never writes (SQLite: `mode=ro`)."""
    path = sqlite_path(url)
    if path is not None:
        if not path.exists():
            raise DatabaseMissingError(str(path))
        return create_engine("sqlite://", creator=lambda: open_sqlite_read_only(path))
    return create_engine(url)


def execute_read_only(url: str, sql: str, timeout_s: float = DEFAULT_TIMEOUT_S, row_cap: int = ROW_CAP) -> QueryResult:
    """Run one already-guarded SELECT and return at most `row_cap` rows."""
    path = sqlite_path(url)
    if path is not None:
        return _execute_sqlite(path, sql, timeout_s, row_cap)
    return _execute_sqlalchemy(url, sql, timeout_s, row_cap)


def _execute_sqlite(path: Path, sql: str, timeout_s: float, row_cap: int) -> QueryResult:
    try:
        connection = open_sqlite_read_only(path)
    except sqlite3.OperationalError:
        # A WAL database without its -shm file cannot open read-only; immutable mode reads the main file.
        connection = open_sqlite_read_only(path, immutable=True)
    deadline = time.monotonic() + timeout_s
    timed_out = False

    def check_deadline() -> int:
        nonlocal timed_out
        if time.monotonic() > deadline:
            timed_out = True
            return 1  # non-zero interrupts the statement
        return 0

    try:
        connection.set_authorizer(_authorize)
        connection.set_progress_handler(check_deadline, 10000)
        try:
            cursor = connection.execute(sql)
            rows = cursor.fetchmany(row_cap + 1)
        except sqlite3.OperationalError as error:
            if timed_out:
                raise QueryTimeoutError(f"query ran longer than {timeout_s:g} s") from error
            raise
        columns = [description[0] for description in cursor.description or []]
    finally:
        connection.close()
    return QueryResult(columns=columns, rows=[list(row) for row in rows[:row_cap]], truncated=len(rows) > row_cap)


def _execute_sqlalchemy(url: str, sql: str, timeout_s: float, row_cap: int) -> QueryResult:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            transaction = connection.begin()
            try:
                if engine.dialect.name == "postgresql":
                    connection.execute(text("SET TRANSACTION READ ONLY"))
                    connection.execute(text(f"SET LOCAL statement_timeout = {int(timeout_s * 1000)}"))
                elif engine.dialect.name == "mysql":
                    connection.execute(text(f"SET SESSION MAX_EXECUTION_TIME = {int(timeout_s * 1000)}"))
                result = connection.exec_driver_sql(sql)
                rows = result.fetchmany(row_cap + 1)
                columns = list(result.keys())
            finally:
                transaction.rollback()  # never commit: anything the statement did is discarded
    finally:
        engine.dispose()
    return QueryResult(columns=columns, rows=[list(row) for row in rows[:row_cap]], truncated=len(rows) > row_cap)
