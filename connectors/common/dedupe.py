"""One event-dedupe store for every connector: a redelivered event (same key) is processed once, across processes.

Slack redelivers an Events API event when the ack is late; WeCom retries a callback three times within seconds.
Both claim the delivery's key here before doing any work. The claim is one `INSERT OR IGNORE` into a SQLite
table under SALESBOT_HOME, so it is atomic across threads and across server processes sharing the file, and it
commits with SQLite's default full sync: a claim survives even an OS crash (no event is answered twice).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Literal

from salesbot.settings import get_settings

EventSource = Literal["slack", "wecom"]

# Both platforms retry within minutes; a week of keys covers any redelivery with room to spare.
RETENTION_SECONDS = 7 * 24 * 3600
PRUNE_EVERY_N_CLAIMS = 500


def default_dedupe_path(home_dir: Path | None = None) -> Path:
    """The one file every connector process of a SALESBOT_HOME claims its events in."""
    return (home_dir or get_settings().home_dir) / "connector_events.sqlite3"


class EventDedupeStore:
    """SQLite table of handled (source, event key) pairs; `claim` is atomic across threads and processes."""

    def __init__(self, database_path: Path | None = None) -> None:
        self.database_path = Path(database_path) if database_path else default_dedupe_path()
        self.database_path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._claims_since_prune = 0
        # One connection guarded by a lock; check_same_thread=False because servers call from worker threads.
        # Autocommit (isolation_level=None): each claim is its own transaction, visible to other processes at once.
        self._connection = sqlite3.connect(str(self.database_path), timeout=30, check_same_thread=False,
                                           isolation_level=None)
        self._connection.execute("PRAGMA journal_mode=WAL")
        self._connection.execute(
            "CREATE TABLE IF NOT EXISTS handled_events (source TEXT NOT NULL, event_key TEXT NOT NULL,"
            " first_seen REAL NOT NULL, PRIMARY KEY (source, event_key))"
        )
        with self._lock:
            self._prune_locked()

    def claim(self, source: EventSource, event_key: str) -> bool:
        """True the first time a key is seen (process it); False for a redelivery (skip it)."""
        with self._lock:
            cursor = self._connection.execute(
                "INSERT OR IGNORE INTO handled_events (source, event_key, first_seen) VALUES (?, ?, ?)",
                (source, event_key, time.time()),
            )
            self._claims_since_prune += 1
            if self._claims_since_prune >= PRUNE_EVERY_N_CLAIMS:
                self._prune_locked()
            return cursor.rowcount == 1

    def release(self, source: EventSource, event_key: str) -> None:
        """Forget a key so a retry is processed again (used when the work could not even be queued)."""
        with self._lock:
            self._connection.execute("DELETE FROM handled_events WHERE source = ? AND event_key = ?",
                                     (source, event_key))

    def count(self, source: EventSource | None = None) -> int:
        with self._lock:
            if source is None:
                row = self._connection.execute("SELECT COUNT(*) FROM handled_events").fetchone()
            else:
                row = self._connection.execute("SELECT COUNT(*) FROM handled_events WHERE source = ?",
                                               (source,)).fetchone()
            return int(row[0])

    def close(self) -> None:
        with self._lock:
            self._connection.close()

    def _prune_locked(self) -> None:
        self._connection.execute("DELETE FROM handled_events WHERE first_seen < ?", (time.time() - RETENTION_SECONDS,))
        self._claims_since_prune = 0
