"""Alembic migrations on Postgres: every store in one database (each its own version table) reaches its models,
a database made before migrations is adopted with its rows, and processes migrating at once all succeed."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable

from sqlalchemy import inspect, text

from salesbot.database import SCHEMA_LOCK_KEY, engine_for, reset_engines, upgrade_schema
from salesbot.migrations import STORE_HEADS, version_table
from tests.integration.server_profile.conftest import REPO_ROOT, subprocess_env
from tests.store_schemas import (
    STORES,
    create_the_old_way,
    insert_sample_row,
    revision_of,
    sample_row_count,
    schema_differences,
)


def test_every_store_migrates_into_one_empty_database_and_matches_its_models(server_database: str) -> None:
    engine = engine_for(server_database)
    for store in STORES:
        upgrade_schema(engine, store)
    tables = set(inspect(engine).get_table_names())
    assert {version_table(store) for store in STORES} <= tables
    for store in STORES:
        assert revision_of(engine, store) == STORE_HEADS[store]
        assert schema_differences(engine, store) == [], store


def test_a_database_created_before_migrations_is_adopted_and_keeps_its_rows(server_database: str) -> None:
    engine = engine_for(server_database)
    for store in STORES:
        create_the_old_way(engine, store)
        insert_sample_row(engine, store)
    for store in STORES:
        upgrade_schema(engine, store)
    for store in STORES:
        assert revision_of(engine, store) == STORE_HEADS[store]
        assert sample_row_count(engine, store) == 1
        assert schema_differences(engine, store) == [], store
    with engine.connect() as connection:  # old entities read as the model writes new ones: no default left behind
        row = connection.execute(text("SELECT key, attributes::text FROM entities")).one()
        assert tuple(row) == ("", "{}")
        defaults = connection.execute(text(
            "SELECT column_name, column_default FROM information_schema.columns "
            "WHERE table_name = 'entities' AND column_name IN ('key', 'attributes')")).all()
        assert {name: default for name, default in defaults} == {"key": None, "attributes": None}
        # the serial ids of adopted and migrated tables still number new rows themselves
        connection.execute(text("INSERT INTO feedback (suggestion_id, kind, verdict, \"user\", created_at) "
                                "VALUES ('s1', 'answer', 'adopted', 'u1', now())"))
        connection.rollback()


# Each process migrates every store of the server database, then reports what it found.
MIGRATE_EVERY_STORE = """
import json
from salesbot.database import engine_for, upgrade_schema
from salesbot.migrations import STORE_HEADS, current_revision
from salesbot.settings import get_settings
engine = engine_for(get_settings().database_url)
for store in STORE_HEADS:
    upgrade_schema(engine, store)
with engine.connect() as connection:
    print(json.dumps({store: current_revision(connection, store) for store in STORE_HEADS}))
"""


def test_processes_migrating_one_fresh_database_at_once_all_succeed(server_database: str) -> None:
    """The schema lock is held by the test until every process waits for it, so they all start together on an
    empty database; released, one migrates and the others find it at head."""
    engine = engine_for(server_database)
    gate = engine.connect()
    gate.execute(text("SELECT pg_advisory_lock(:key)"), {"key": SCHEMA_LOCK_KEY})
    gate.commit()
    try:
        processes = [subprocess.Popen([sys.executable, "-c", MIGRATE_EVERY_STORE], cwd=REPO_ROOT,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                      env=subprocess_env()) for _ in range(3)]
        assert _eventually(lambda: _advisory_waiters(gate) >= 3), "the processes never queued for the schema lock"
        gate.execute(text("SELECT pg_advisory_unlock_all()"))
        gate.commit()
    finally:
        gate.close()
    outputs = [process.communicate(timeout=180) for process in processes]
    assert all(process.returncode == 0 for process in processes), [stderr for _, stderr in outputs]
    assert all(json.loads(stdout) == STORE_HEADS for stdout, _ in outputs)
    reset_engines()
    engine = engine_for(server_database)
    for store in STORES:
        assert schema_differences(engine, store) == [], store


def _eventually(condition: Callable[[], bool], seconds: float = 60.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _advisory_waiters(connection) -> int:
    result = connection.execute(text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"))
    connection.rollback()
    return int(result.scalar())
