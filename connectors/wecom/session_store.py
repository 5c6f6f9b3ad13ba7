"""A wechatpy session store in SQLite under SALESBOT_HOME, so the access token survives restarts."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from wechatpy.session import SessionStorage


class SqliteSessionStorage(SessionStorage):
    """wechatpy's SessionStorage interface (get/set/delete with a TTL) over one SQLite table.

    WeCom limits how often gettoken may be called; keeping the token across restarts and processes
    avoids fetching a new one every start. Expired entries read as missing, so wechatpy fetches anew.
    """

    def __init__(self, database_path: Path) -> None:
        self.database_path = Path(database_path)
        self.database_path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._connection = sqlite3.connect(str(self.database_path), timeout=30, check_same_thread=False,
                                           isolation_level=None)
        self._connection.execute("PRAGMA journal_mode=WAL")
        self._connection.execute(
            "CREATE TABLE IF NOT EXISTS wechatpy_session (key TEXT PRIMARY KEY, value TEXT NOT NULL, expires_at REAL)"
        )

    def get(self, key: str, default: Any = None) -> Any:
        with self._lock:
            row = self._connection.execute(
                "SELECT value, expires_at FROM wechatpy_session WHERE key = ?", (key,)
            ).fetchone()
        if row is None:
            return default
        value, expires_at = row
        if expires_at is not None and expires_at <= time.time():
            return default
        return value

    def set(self, key: str, value: Any, ttl: int | None = None) -> None:
        if value is None:
            return
        expires_at = time.time() + ttl if ttl else None
        with self._lock:
            self._connection.execute(
                "INSERT OR REPLACE INTO wechatpy_session (key, value, expires_at) VALUES (?, ?, ?)",
                (key, str(value), expires_at),
            )

    def delete(self, key: str) -> None:
        with self._lock:
            self._connection.execute("DELETE FROM wechatpy_session WHERE key = ?", (key,))

    def close(self) -> None:
        with self._lock:
            self._connection.close()
