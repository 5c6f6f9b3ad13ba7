"""One event-dedupe store for every connector: a redelivered event (same key) is processed once, across processes.

Slack redelivers an Events API event when the ack is late; WeCom retries a callback three times within seconds.
Both claim the delivery's key here before doing any work. The claim is one INSERT ... ON CONFLICT DO NOTHING,
atomic across threads and across server processes: in a SQLite file under SALESBOT_HOME by default (committed
with SQLite's full sync, so a claim survives even an OS crash), or in SALESBOT_DATABASE_URL's database (the server
profile), where every salesbot process on every machine claims in the same table.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Literal

from sqlalchemy import Column, Float, MetaData, String, Table, delete, func, select
from sqlalchemy.engine import Engine

from salesbot.database import engine_for, insert_ignoring_conflicts, upgrade_schema
from salesbot.settings import Settings, get_settings

EventSource = Literal["slack", "wecom"]

# Both platforms retry within minutes; a week of keys covers any redelivery with room to spare.
RETENTION_SECONDS = 7 * 24 * 3600
PRUNE_EVERY_N_CLAIMS = 500

# Its own metadata: the table goes where the store is (its SQLite file or the server database), not with the
# sales models. Its migrations (salesbot/migrations/versions/connector_events) create it.
metadata = MetaData()
handled_events = Table(
    "handled_events", metadata,
    Column("source", String, primary_key=True),
    Column("event_key", String, primary_key=True),
    Column("first_seen", Float, nullable=False),
)


def default_dedupe_path(home_dir: Path | None = None) -> Path:
    """The one file every connector process of a SALESBOT_HOME claims its events in (embedded profile)."""
    return (home_dir or get_settings().home_dir) / "connector_events.sqlite3"


class EventDedupeStore:
    """Table of handled (source, event key) pairs; `claim` is atomic across threads and processes.

    database_path: a SQLite file (tests, the embedded profile); database_url: any SQLAlchemy URL. Without either,
    `for_settings` decides.
    """

    def __init__(self, database_path: Path | None = None, *, database_url: str | None = None) -> None:
        self.database_path: Path | None = None
        if database_url is None:
            self.database_path = Path(database_path) if database_path else default_dedupe_path()
            self.database_path.parent.mkdir(parents=True, exist_ok=True)
            database_url = f"sqlite:///{self.database_path}"
        self._engine: Engine = engine_for(database_url)
        upgrade_schema(self._engine, "connector_events")
        self._claims_since_prune = 0
        self._prune()

    @classmethod
    def for_settings(cls, settings: Settings | None = None) -> EventDedupeStore:
        """The store every connector process of this configuration shares: the server database when
        SALESBOT_DATABASE_URL is set, else the SQLite file under SALESBOT_HOME."""
        settings = settings or get_settings()
        if settings.database_url:
            return cls(database_url=settings.database_url)
        return cls(default_dedupe_path(settings.home_dir))

    def claim(self, source: EventSource, event_key: str) -> bool:
        """True the first time a key is seen (process it); False for a redelivery (skip it)."""
        with self._engine.begin() as connection:
            # RETURNING, not rowcount: psycopg reports -1 for an INSERT ... ON CONFLICT through SQLAlchemy.
            inserted = connection.execute(
                insert_ignoring_conflicts(self._engine, handled_events).returning(handled_events.c.event_key),
                {"source": source, "event_key": event_key, "first_seen": time.time()}).first()
        # Counted without a lock: an occasional extra or late prune is harmless.
        self._claims_since_prune += 1
        if self._claims_since_prune >= PRUNE_EVERY_N_CLAIMS:
            self._prune()
        return inserted is not None

    def release(self, source: EventSource, event_key: str) -> None:
        """Forget a key so a retry is processed again (used when the work could not even be queued)."""
        with self._engine.begin() as connection:
            connection.execute(delete(handled_events).where(handled_events.c.source == source,
                                                            handled_events.c.event_key == event_key))

    def count(self, source: EventSource | None = None) -> int:
        statement = select(func.count()).select_from(handled_events)
        if source is not None:
            statement = statement.where(handled_events.c.source == source)
        with self._engine.connect() as connection:
            return int(connection.execute(statement).scalar_one())

    def close(self) -> None:
        """Nothing to close: the engine is shared per URL (salesbot.database) and disposed on reset."""

    def _prune(self) -> None:
        self._claims_since_prune = 0
        with self._engine.begin() as connection:
            connection.execute(delete(handled_events).where(
                handled_events.c.first_seen < time.time() - RETENTION_SECONDS))
