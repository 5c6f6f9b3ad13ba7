"""One durable event inbox for every connector: a delivery is handled once across processes, and replayed by another
process when the one that claimed it died before answering.

Slack redelivers an Events API event when the ack is late; WeCom retries a callback three times within seconds.
Both claim the delivery's key here before doing any work. The claim is one INSERT ... ON CONFLICT DO NOTHING,
atomic across threads and across server processes: in a SQLite file under SALESBOT_HOME by default (committed
with SQLite's full sync, so a claim survives even an OS crash), or in SALESBOT_DATABASE_URL's database (the server
profile), where every salesbot process on every machine claims in the same table.

A claim made with a payload (what is needed to handle the delivery again) is 'processing' under the claiming
process's lease (`owner`, `lease_until`) until `finish` marks it 'done', after its answer is posted. The process
renews the leases of the deliveries it is still working on (`renew`, once per sweep), so a live process keeps them
however long the work takes; a process that was killed stops renewing, and after at most one lease another process
takes the delivery over with `reclaim_expired` (or when the platform redelivers it: `claim`), each takeover a
compare-and-set on (owner, attempts), so two processes never take the same row. After SALESBOT_EVENT_MAX_ATTEMPTS
handlings the delivery is given up: logged and marked 'failed', never replayed again.

The trade-off: this is at-least-once, not exactly-once. A process that dies after posting its answer but before
`finish` committed is replayed, and the user sees the answer twice; a process stalled for longer than a lease (no
renewal) may answer alongside the process that took its delivery over. That is chosen over losing the message
(the old behaviour: the redelivery was skipped as seen, and nobody answered). A replay is a question answered again;
a write it proposes is still only a proposal until the confirmation gate approves it, and a replayed approval is
decided once (the pending-action store is idempotent), so a replay never executes an action twice.

A claim without a payload is done the moment it is made (the old semantics, nothing to replay).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from sqlalchemy import (
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    delete,
    func,
    select,
    update,
)
from sqlalchemy.engine import Engine

from salesbot.database import engine_for, insert_ignoring_conflicts, upgrade_schema
from salesbot.settings import Settings, get_settings

logger = logging.getLogger(__name__)

EventSource = Literal["slack", "wecom"]
EventState = Literal["processing", "done", "failed"]

# Both platforms retry within minutes; a week of keys covers any redelivery with room to spare.
RETENTION_SECONDS = 7 * 24 * 3600
PRUNE_EVERY_N_CLAIMS = 500
RECLAIM_BATCH = 10

# Its own metadata: the table goes where the store is (its SQLite file or the server database), not with the
# sales models. Its migrations (salesbot/migrations/versions/connector_events) create it. The server defaults are
# what a claim of the old kind (and every row written before connector_events_0002) is: done, handled once.
metadata = MetaData()
handled_events = Table(
    "handled_events", metadata,
    Column("source", String, primary_key=True),
    Column("event_key", String, primary_key=True),
    Column("first_seen", Float, nullable=False),
    Column("state", String, nullable=False, server_default="done"),
    Column("owner", String, nullable=True),
    Column("lease_until", Float, nullable=True),
    Column("attempts", Integer, nullable=False, server_default="1"),
    Column("payload", Text, nullable=True),
    Column("finished_at", Float, nullable=True),
    Index("ix_handled_events_state_lease_until", "state", "lease_until"),
)

_process_owner: tuple[int, str] | None = None


def process_owner_token() -> str:
    """This process's name in the `owner` column: host, pid and a random part (a pid is reused after a restart)."""
    global _process_owner
    if _process_owner is None or _process_owner[0] != os.getpid():
        _process_owner = (os.getpid(), f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}")
    return _process_owner[1]


def default_dedupe_path(home_dir: Path | None = None) -> Path:
    """The one file every connector process of a SALESBOT_HOME claims its events in (embedded profile)."""
    return (home_dir or get_settings().home_dir) / "connector_events.sqlite3"


@dataclass(frozen=True)
class ReclaimedEvent:
    """A delivery taken over from a process whose lease expired: replay `payload` through the usual handler."""

    source: str
    event_key: str
    payload: str
    attempts: int
    previous_owner: str | None


class EventDedupeStore:
    """Table of handled (source, event key) pairs; `claim` is atomic across threads and processes.

    database_path: a SQLite file (tests, the embedded profile); database_url: any SQLAlchemy URL. Without either,
    `for_settings` decides. owner: this store's name on its claims (default: the process's token); lease_s and
    max_attempts default to the settings (SALESBOT_EVENT_LEASE_S, SALESBOT_EVENT_MAX_ATTEMPTS).
    """

    def __init__(self, database_path: Path | None = None, *, database_url: str | None = None,
                 owner: str | None = None, lease_s: float | None = None, max_attempts: int | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.database_path: Path | None = None
        if database_url is None:
            self.database_path = Path(database_path) if database_path else default_dedupe_path()
            self.database_path.parent.mkdir(parents=True, exist_ok=True)
            database_url = f"sqlite:///{self.database_path}"
        if lease_s is None or max_attempts is None:
            settings = get_settings()
            lease_s = settings.event_lease_s if lease_s is None else lease_s
            max_attempts = settings.event_max_attempts if max_attempts is None else max_attempts
        self.owner = owner or process_owner_token()
        self.lease_s = lease_s
        self.max_attempts = max_attempts
        self._clock = clock
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
            return cls(database_url=settings.database_url, lease_s=settings.event_lease_s,
                       max_attempts=settings.event_max_attempts)
        return cls(default_dedupe_path(settings.home_dir), lease_s=settings.event_lease_s,
                   max_attempts=settings.event_max_attempts)

    def claim(self, source: EventSource, event_key: str, payload: str | None = None) -> bool:
        """True when this process should handle the delivery; False for a redelivery (skip it).

        Without a payload the key is simply marked handled. With one, the claim is 'processing' under this store's
        lease until `finish`; a redelivery of a key whose claim expired (its process died) takes it over.
        """
        now = self._clock()
        row = {"source": source, "event_key": event_key, "first_seen": now}
        if payload is not None:
            row |= {"state": "processing", "owner": self.owner, "lease_until": now + self.lease_s,
                    "attempts": 1, "payload": payload}
        with self._engine.begin() as connection:
            # RETURNING, not rowcount: psycopg reports -1 for an INSERT ... ON CONFLICT through SQLAlchemy.
            inserted = connection.execute(
                insert_ignoring_conflicts(self._engine, handled_events).returning(handled_events.c.event_key),
                row).first()
        # Counted without a lock: an occasional extra or late prune is harmless.
        self._claims_since_prune += 1
        if self._claims_since_prune >= PRUNE_EVERY_N_CLAIMS:
            self._prune()
        if inserted is not None:
            return True
        if payload is None:
            return False
        taken = self._take_over(source, event_key, now, payload=payload)
        if taken is not None:
            logger.warning("%s delivery %s redelivered after its claim by %s expired: handling it here (attempt %d)",
                           source, event_key, taken.previous_owner, taken.attempts)
        return taken is not None

    def finish(self, source: EventSource, event_key: str) -> bool:
        """Mark a delivery done (its answer is posted): it is never replayed. False when it was not processing."""
        with self._engine.begin() as connection:
            finished = connection.execute(
                update(handled_events)
                .where(handled_events.c.source == source, handled_events.c.event_key == event_key,
                       handled_events.c.state == "processing")
                .values(state="done", owner=self.owner, finished_at=self._clock(), lease_until=None, payload=None)
                .returning(handled_events.c.event_key)).first()
        return finished is not None

    def renew(self, source: EventSource, event_keys: Sequence[str]) -> list[str]:
        """Extend this store's leases on deliveries it is still handling; returns the keys renewed (a key missing
        was finished, or taken over by another process after this one stalled for longer than a lease)."""
        if not event_keys:
            return []
        with self._engine.begin() as connection:
            renewed = connection.execute(
                update(handled_events)
                .where(handled_events.c.source == source, handled_events.c.event_key.in_(list(event_keys)),
                       handled_events.c.state == "processing", handled_events.c.owner == self.owner)
                .values(lease_until=self._clock() + self.lease_s)
                .returning(handled_events.c.event_key)).scalars().all()
        return list(renewed)

    def reclaim_expired(self, source: EventSource, owner: str | None = None,
                        limit: int = RECLAIM_BATCH) -> list[ReclaimedEvent]:
        """Take over up to `limit` processing deliveries whose lease expired, for `owner` (default this store's),
        and hand them back with their payloads to replay. Each takeover is a compare-and-set on the row's owner and
        attempts, so of several processes sweeping at once exactly one gets each delivery. Deliveries that used up
        their attempts are marked failed and logged instead."""
        now = self._clock()
        self._give_up_exhausted(source, now)
        with self._engine.connect() as connection:
            candidates = connection.execute(
                select(handled_events.c.event_key)
                .where(handled_events.c.source == source, handled_events.c.state == "processing",
                       handled_events.c.lease_until < now, handled_events.c.attempts < self.max_attempts)
                .order_by(handled_events.c.lease_until).limit(limit)).scalars().all()
        reclaimed = []
        for event_key in candidates:
            taken = self._take_over(source, event_key, now, owner=owner)
            if taken is not None:
                reclaimed.append(taken)
        return reclaimed

    def state_of(self, source: EventSource, event_key: str) -> dict[str, object] | None:
        """The inbox row of one delivery (state, owner, lease_until, attempts, payload…), None when never claimed."""
        with self._engine.connect() as connection:
            row = connection.execute(select(handled_events).where(
                handled_events.c.source == source, handled_events.c.event_key == event_key)).first()
        return dict(row._mapping) if row is not None else None

    def release(self, source: EventSource, event_key: str) -> None:
        """Forget a key so a retry is processed again (used when the work could not even be queued)."""
        with self._engine.begin() as connection:
            connection.execute(delete(handled_events).where(handled_events.c.source == source,
                                                            handled_events.c.event_key == event_key))

    def count(self, source: EventSource | None = None, state: EventState | None = None) -> int:
        statement = select(func.count()).select_from(handled_events)
        if source is not None:
            statement = statement.where(handled_events.c.source == source)
        if state is not None:
            statement = statement.where(handled_events.c.state == state)
        with self._engine.connect() as connection:
            return int(connection.execute(statement).scalar_one())

    def close(self) -> None:
        """Nothing to close: the engine is shared per URL (salesbot.database) and disposed on reset."""

    def _take_over(self, source: str, event_key: str, now: float, *, owner: str | None = None,
                   payload: str | None = None) -> ReclaimedEvent | None:
        """Compare-and-set one expired processing claim to `owner`; None when another process was first (or the
        claim is done, renewed, or out of attempts)."""
        with self._engine.connect() as connection:
            current = connection.execute(
                select(handled_events.c.owner, handled_events.c.attempts)
                .where(handled_events.c.source == source, handled_events.c.event_key == event_key,
                       handled_events.c.state == "processing", handled_events.c.lease_until < now,
                       handled_events.c.attempts < self.max_attempts)).first()
        if current is None:
            return None
        previous_owner, attempts = current
        values: dict[str, object] = {"owner": owner or self.owner, "lease_until": now + self.lease_s,
                                     "attempts": attempts + 1}
        if payload is not None:
            values["payload"] = payload
        # The WHERE repeats what was read: a row another process took (or renewed) in between no longer matches,
        # on Postgres after waiting for that process's transaction (READ COMMITTED re-checks the updated row).
        with self._engine.begin() as connection:
            taken = connection.execute(
                update(handled_events)
                .where(handled_events.c.source == source, handled_events.c.event_key == event_key,
                       handled_events.c.state == "processing", handled_events.c.lease_until < now,
                       handled_events.c.owner.is_not_distinct_from(previous_owner),
                       handled_events.c.attempts == attempts)
                .values(**values)
                .returning(handled_events.c.payload, handled_events.c.attempts)).first()
        if taken is None:
            return None
        return ReclaimedEvent(source=source, event_key=event_key, payload=taken.payload or "",
                              attempts=int(taken.attempts), previous_owner=previous_owner)

    def _give_up_exhausted(self, source: str, now: float) -> None:
        with self._engine.begin() as connection:
            given_up = connection.execute(
                update(handled_events)
                .where(handled_events.c.source == source, handled_events.c.state == "processing",
                       handled_events.c.lease_until < now, handled_events.c.attempts >= self.max_attempts)
                .values(state="failed", finished_at=now, lease_until=None)
                .returning(handled_events.c.event_key, handled_events.c.owner, handled_events.c.attempts)).all()
        for event_key, last_owner, attempts in given_up:
            logger.error("%s delivery %s given up after %d attempts (last by %s): it is not replayed again",
                         source, event_key, attempts, last_owner)

    def _prune(self) -> None:
        self._claims_since_prune = 0
        with self._engine.begin() as connection:
            connection.execute(delete(handled_events).where(
                handled_events.c.first_seen < self._clock() - RETENTION_SECONDS))


class InFlightDeliveries:
    """The deliveries this process is handling now (by key, counted: one delivery may run several pieces of work),
    whose leases the sweeper renews."""

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def start(self, event_key: str) -> None:
        with self._lock:
            self._counts[event_key] = self._counts.get(event_key, 0) + 1

    def end(self, event_key: str) -> bool:
        """One piece of the delivery's work ended; True when it was the last (the delivery is handled)."""
        with self._lock:
            remaining = self._counts.get(event_key, 1) - 1
            if remaining > 0:
                self._counts[event_key] = remaining
                return False
            self._counts.pop(event_key, None)
            return True

    def keys(self) -> list[str]:
        with self._lock:
            return list(self._counts)


class InboxSweeper:
    """One background thread per serve process: every `interval_s` it renews the leases of this process's deliveries
    still in flight, then takes over expired claims of dead processes and replays each through `replay` (the same
    handler path as a fresh delivery, which finishes the delivery once its answer is posted)."""

    def __init__(self, store: EventDedupeStore, source: EventSource, in_flight: InFlightDeliveries,
                 replay: Callable[[ReclaimedEvent], None], interval_s: float) -> None:
        self.store = store
        self.source: EventSource = source
        self.in_flight = in_flight
        self.replay = replay
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name=f"{self.source}-inbox-sweeper", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout_s)
            self._thread = None

    def sweep_once(self) -> int:
        """Renew, then reclaim and replay; returns how many deliveries were replayed. Errors are logged: a sweep
        that fails (the database restarting) is simply tried again at the next interval."""
        try:
            in_flight = self.in_flight.keys()
            renewed = set(self.store.renew(self.source, in_flight))
            lost = [key for key in in_flight if key not in renewed]
            if lost:
                # Finished between the two reads, or this process stalled for longer than a lease.
                logger.info("%s deliveries %s no longer leased here", self.source, ", ".join(lost))
            reclaimed = self.store.reclaim_expired(self.source, limit=RECLAIM_BATCH)
        except Exception:
            logger.exception("%s inbox sweep failed; trying again in %.0f s", self.source, self.interval_s)
            return 0
        for event in reclaimed:
            logger.warning("replaying %s delivery %s (attempt %d): its claim by %s expired", self.source,
                           event.event_key, event.attempts, event.previous_owner)
            try:
                self.replay(event)
            except Exception:
                logger.exception("replaying %s delivery %s failed", self.source, event.event_key)
        return len(reclaimed)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.sweep_once()
