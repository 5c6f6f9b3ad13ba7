"""Event dedupe, the Slack/WeCom stores and schema creation in one Postgres database shared by several processes."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import text

from tests.conftest import claim_from_racing_threads
from tests.integration.server_profile.conftest import REPO_ROOT, subprocess_env

# Several processes start at once on an empty database: each creates every table (sales, knowledge graph, dedupe,
# Slack, WeCom) before claiming its share of the same delivery keys.
START_AND_CLAIM = """
import json, sys
from connectors.common.dedupe import EventDedupeStore
from connectors.slack.store import SlackConnectorStore
from connectors.wecom.session_store import SqlSessionStorage
from knowledge.base import get_knowledge_base
from salesbot.database import sales_engine
sales_engine(); get_knowledge_base(); SlackConnectorStore(); SqlSessionStorage.for_settings()
store = EventDedupeStore.for_settings()
assert store.database_path is None  # the server database, not a file
print(json.dumps([key for key in json.loads(sys.argv[1]) if store.claim("slack", key)]))
"""


def test_processes_starting_at_once_create_the_schema_and_claim_each_event_once(server_database: str) -> None:
    keys = [f"Ev{number:03d}" for number in range(80)]
    processes = [subprocess.Popen([sys.executable, "-c", START_AND_CLAIM, json.dumps(keys)], cwd=REPO_ROOT,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=subprocess_env())
                 for _ in range(3)]
    outputs = [process.communicate(timeout=180) for process in processes]
    assert all(process.returncode == 0 for process in processes), [stderr for _, stderr in outputs]
    claimed = [key for stdout, _ in outputs for key in json.loads(stdout)]
    assert sorted(claimed) == keys  # every delivery processed, none twice

    from connectors.common.dedupe import EventDedupeStore

    assert EventDedupeStore.for_settings().count("slack") == len(keys)


def test_racing_claims_of_one_key_from_two_store_instances_let_one_through(server_database: str) -> None:
    from connectors.common.dedupe import EventDedupeStore

    stores = [EventDedupeStore(database_url=server_database) for _ in range(2)]
    assert sorted(claim_from_racing_threads(stores, "wecom", "msg:42")) == [False] * 7 + [True]
    stores[0].release("wecom", "msg:42")
    assert stores[1].claim("wecom", "msg:42") is True  # released: a retry is processed again


def test_slack_and_wecom_stores_share_the_server_database(server_database: str) -> None:
    from connectors.slack.store import SlackConnectorStore
    from connectors.wecom.session_store import SqlSessionStorage
    from tools.gate.models import ActionView

    first, second = SlackConnectorStore(), SlackConnectorStore()
    assert first.database_path is None
    view = ActionView.model_construct(id="A7K2Q", args={"customer": "华东人民医院"}, summary="回访")
    first.remember_pending_action(view)
    first.remember_pending_action(view)  # an upsert, not a duplicate key
    assert second.pending_action_snapshot("A7K2Q") == ({"customer": "华东人民医院"}, "回访")
    first.remember_action_message("A7K2Q", "C1", "1.1", [{"type": "section"}])
    first.remember_action_message("A7K2Q", "C1", "1.1", [{"type": "actions"}])
    assert second.action_messages("A7K2Q") == [("C1", "1.1", [{"type": "actions"}])]

    tokens = SqlSessionStorage.for_settings()
    tokens.set("corp_access_token", "token-1", ttl=7200)
    tokens.set("corp_access_token", "token-2", ttl=7200)
    assert SqlSessionStorage(database_url=server_database).get("corp_access_token") == "token-2"
    tokens.delete("corp_access_token")
    assert tokens.get("corp_access_token") is None




def test_checkpointer_setup_and_a_schema_transaction_of_another_process_do_not_deadlock(server_database: str) -> None:
    """The checkpointer's migrations build indexes CONCURRENTLY, which waits for every transaction running a
    statement when it starts. Another process's schema transaction waiting for the schema lock is such a statement:
    with one lock key for both, it waited for the setup and the setup for it, and both hung (Postgres does not see
    that cycle): no process answered. Here the setup queues for its lock first, then a schema transaction."""
    from salesbot.database import CHECKPOINT_SCHEMA_LOCK_KEY, SCHEMA_LOCK_KEY, engine_for, schema_transaction

    engine = engine_for(server_database)
    errors: list[BaseException] = []

    def create_tables_meanwhile() -> None:
        try:
            with schema_transaction(engine) as connection:
                connection.execute(text("CREATE TABLE IF NOT EXISTS raced (id integer PRIMARY KEY)"))
        except BaseException as error:
            errors.append(error)

    gate = engine.connect()  # holds both keys, so that both start waiting in a known order
    gate.execute(text("SELECT pg_advisory_lock(:a), pg_advisory_lock(:b)"),
                 {"a": SCHEMA_LOCK_KEY, "b": CHECKPOINT_SCHEMA_LOCK_KEY})
    gate.commit()
    threads = [threading.Thread(target=_set_up_checkpointer, args=(server_database, errors)),
               threading.Thread(target=create_tables_meanwhile)]
    try:
        threads[0].start()
        assert _eventually(lambda: _lock_askers(gate) >= 1), "the setup never asked for its lock"
        threads[1].start()
        assert _eventually(lambda: _advisory_waiters(gate) >= 1), "the schema transaction never queued"
        gate.execute(text("SELECT pg_advisory_unlock_all()"))
        gate.commit()
    finally:
        gate.close()
        for thread in threads:
            thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads) and not errors, errors


def test_two_checkpointer_setups_racing_for_the_schema_lock_both_finish(server_database: str) -> None:
    """Two processes starting at once both set the checkpointer up. One waiting in a blocking pg_advisory_lock sits
    in an open statement, and the holder's CREATE INDEX CONCURRENTLY waits for it: both hung for good (seen about
    one start in four). The setup polls for its lock instead, so the holder's migrations never wait for the other."""
    from salesbot.database import CHECKPOINT_SCHEMA_LOCK_KEY, engine_for

    engine = engine_for(server_database)
    errors: list[BaseException] = []

    gate = engine.connect()  # holds the key until both setups are waiting, so that they race for it
    gate.execute(text("SELECT pg_advisory_lock(:key)"), {"key": CHECKPOINT_SCHEMA_LOCK_KEY})
    gate.commit()
    threads = [threading.Thread(target=_set_up_checkpointer, args=(server_database, errors)) for _ in range(2)]
    try:
        for thread in threads:
            thread.start()
        assert _eventually(lambda: _lock_askers(gate) >= 2), "the setups never asked for the lock"
        gate.execute(text("SELECT pg_advisory_unlock_all()"))
        gate.commit()
    finally:
        gate.close()
        for thread in threads:
            thread.join(timeout=90)
    assert not any(thread.is_alive() for thread in threads), "a checkpointer setup hung"
    assert not errors, errors
    with engine.connect() as connection:  # the migrations ran once and completely
        assert int(connection.execute(text("SELECT count(*) FROM checkpoint_migrations")).scalar() or 0) > 0


def _set_up_checkpointer(database_url: str, errors: list[BaseException]) -> None:
    """One process's checkpointer setup, in a thread; its failure goes to `errors` (it would otherwise vanish)."""
    from agent import service

    try:
        _, pool = service._postgres_saver(database_url)
        pool.close()
    except BaseException as error:
        errors.append(error)


def _eventually(condition: Callable[[], bool], seconds: float = 20.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.025)
    return True


def _advisory_waiters(connection: Any) -> int:
    """Sessions blocked in pg_advisory_lock (a schema transaction waiting for its key)."""
    result = connection.execute(text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"))
    connection.rollback()
    return int(result.scalar())


def _lock_askers(connection: Any) -> int:
    """Other sessions whose last statement asked for an advisory lock, blocking or polling with pg_try_advisory_lock
    (a poller never shows as a blocked waiter in pg_locks)."""
    result = connection.execute(text(
        "SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND query LIKE '%advisory_lock(%'"))
    connection.rollback()
    return int(result.scalar())
