"""A persistent record of handled WeCom messages, so a redelivered callback (same MsgId) is processed once."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

# WeCom retries a callback three times within seconds; a week of keys covers any redelivery with room to spare.
RETENTION_SECONDS = 7 * 24 * 3600
PRUNE_EVERY_N_CLAIMS = 500


class MessageDedupeStore:
    """SQLite table of message keys; `claim` is atomic across threads and processes sharing the file."""

    def __init__(self, database_path: Path) -> None:
        self.database_path = Path(database_path)
        self.database_path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._claims_since_prune = 0
        # One connection guarded by a lock; check_same_thread=False because the server calls from worker threads.
        self._connection = sqlite3.connect(str(self.database_path), timeout=30, check_same_thread=False,
                                           isolation_level=None)
        self._connection.execute("PRAGMA journal_mode=WAL")
        self._connection.execute(
            "CREATE TABLE IF NOT EXISTS handled_messages (message_key TEXT PRIMARY KEY, first_seen REAL NOT NULL)"
        )

    def claim(self, message_key: str) -> bool:
        """True the first time a key is seen (process it); False for a redelivery (skip it)."""
        with self._lock:
            cursor = self._connection.execute(
                "INSERT OR IGNORE INTO handled_messages (message_key, first_seen) VALUES (?, ?)",
                (message_key, time.time()),
            )
            self._claims_since_prune += 1
            if self._claims_since_prune >= PRUNE_EVERY_N_CLAIMS:
                self._prune_locked()
            return cursor.rowcount == 1

    def release(self, message_key: str) -> None:
        """Forget a key so a retry is processed again (used when the work could not even be queued)."""
        with self._lock:
            self._connection.execute("DELETE FROM handled_messages WHERE message_key = ?", (message_key,))

    def count(self) -> int:
        with self._lock:
            return int(self._connection.execute("SELECT COUNT(*) FROM handled_messages").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._connection.close()

    def _prune_locked(self) -> None:
        self._connection.execute("DELETE FROM handled_messages WHERE first_seen < ?", (time.time() - RETENTION_SECONDS,))
        self._claims_since_prune = 0


def default_dedupe_path(home_dir: Path) -> Path:
    return home_dir / "wecom" / "handled_messages.sqlite3"
