"""Alembic migrations on SQLite: every store's history reaches its models, adopts databases made before migrations
existed (keeping their rows), is reversible, is skipped cheaply at head and survives processes starting at once."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import inspect
from sqlmodel import Session, select

from salesbot.database import engine_for, reset_engines, upgrade_schema
from salesbot.migrations import STORE_HEADS, SchemaNewerThanCodeError, alembic_config, version_table
from tests.store_schemas import (
    STORES,
    create_the_old_way,
    insert_sample_row,
    revision_of,
    sample_row_count,
    schema_differences,
)

ROOT = Path(__file__).resolve().parents[2]


def _sqlite_engine(tmp_path: Path, store: str):
    return engine_for(f"sqlite:///{tmp_path / f'{store}.db'}")


def test_store_heads_name_the_newest_revision_of_each_history() -> None:
    from alembic.script import ScriptDirectory

    for store in STORES:
        scripts = ScriptDirectory.from_config(alembic_config(None, store))
        assert scripts.get_heads() == [STORE_HEADS[store]], f"set STORE_HEADS[{store!r}] to the new head"
        assert all(revision.revision.startswith(f"{store}_") for revision in scripts.walk_revisions())


@pytest.mark.parametrize("store", STORES)
def test_an_empty_database_upgraded_to_head_matches_the_models(tmp_path: Path, store: str) -> None:
    engine = _sqlite_engine(tmp_path, store)
    upgrade_schema(engine, store)
    assert revision_of(engine, store) == STORE_HEADS[store]
    assert schema_differences(engine, store) == []


@pytest.mark.parametrize("store", STORES)
def test_a_database_created_before_migrations_is_adopted_and_keeps_its_rows(tmp_path: Path, store: str) -> None:
    engine = _sqlite_engine(tmp_path, store)
    create_the_old_way(engine, store)
    insert_sample_row(engine, store)
    assert revision_of(engine, store) is None

    upgrade_schema(engine, store)

    assert revision_of(engine, store) == STORE_HEADS[store]
    assert sample_row_count(engine, store) == 1
    assert schema_differences(engine, store) == []


def test_old_entities_get_key_and_attributes_with_empty_values(tmp_path: Path) -> None:
    from knowledge.tables import Entity

    engine = _sqlite_engine(tmp_path, "knowledge")
    create_the_old_way(engine, "knowledge")
    insert_sample_row(engine, "knowledge")
    upgrade_schema(engine, "knowledge")
    with Session(engine) as session:
        entity = session.exec(select(Entity)).one()
        assert (entity.entity_id, entity.key, entity.attributes) == ("product:x1", "", {})
        session.add(Entity(entity_id="product:x2", entity_type="product", name="X2", key="X2",
                           attributes={"line": "iot"}))
        session.commit()


def test_a_store_missing_a_table_added_later_gets_it(tmp_path: Path) -> None:
    """Before migrations, create_all added tables new to a store (slack_bot_threads came late) and nothing else."""
    engine = _sqlite_engine(tmp_path, "slack")
    create_the_old_way(engine, "slack", skip_tables=("slack_bot_threads",))
    upgrade_schema(engine, "slack")
    assert "slack_bot_threads" in inspect(engine).get_table_names()
    assert schema_differences(engine, "slack") == []


def test_a_knowledge_store_made_after_the_columns_existed_is_adopted_as_it_is(tmp_path: Path) -> None:
    from knowledge.tables import KnowledgeTable

    engine = _sqlite_engine(tmp_path, "knowledge")
    KnowledgeTable.metadata.create_all(engine)  # today's create_all: entities with both columns
    upgrade_schema(engine, "knowledge")
    assert revision_of(engine, "knowledge") == STORE_HEADS["knowledge"]
    assert schema_differences(engine, "knowledge") == []


@pytest.mark.parametrize("store", STORES)
def test_every_history_downgrades_to_empty_and_upgrades_again(tmp_path: Path, store: str) -> None:
    from alembic import command

    engine = _sqlite_engine(tmp_path, store)
    upgrade_schema(engine, store)
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection, store), "base")
    assert set(inspect(engine).get_table_names()) <= {version_table(store)}
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection, store), "head")
    assert schema_differences(engine, store) == []


def test_a_database_migrated_by_a_newer_salesbot_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    engine = _sqlite_engine(tmp_path, "knowledge")
    upgrade_schema(engine, "knowledge")
    with engine.begin() as connection:
        connection.exec_driver_sql(f"UPDATE {version_table('knowledge')} SET version_num = 'knowledge_9999'")
    reset_engines()  # a fresh process
    with pytest.raises(SchemaNewerThanCodeError, match="knowledge_9999.*upgrade salesbot"):
        upgrade_schema(_sqlite_engine(tmp_path, "knowledge"), "knowledge")


# A process opening stores already at head: one SELECT each, Alembic never imported (cold start of `salesbot ask`).
OPEN_STORES_AND_REPORT = """
import json, sys
from salesbot.database import engine_for, upgrade_schema
for store, url in json.loads(sys.argv[1]).items():
    upgrade_schema(engine_for(url), store)
print(json.dumps(sorted(name for name in sys.modules if name == "alembic" or name.startswith("alembic."))))
"""


def _open_stores(urls: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", OPEN_STORES_AND_REPORT, json.dumps(urls)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_stores_at_head_are_opened_without_importing_alembic(tmp_path: Path) -> None:
    urls = {store: f"sqlite:///{tmp_path / f'{store}.db'}" for store in STORES}
    first = _open_stores(urls).communicate(timeout=120)
    assert json.loads(first[0]) != [], first[1]  # the first process migrated
    stdout, stderr = _open_stores(urls).communicate(timeout=120)
    assert json.loads(stdout) == [], stderr


@pytest.mark.slow
def test_processes_migrating_the_same_fresh_files_at_once_all_succeed(tmp_path: Path) -> None:
    urls = {store: f"sqlite:///{tmp_path / 'shared.db'}" for store in STORES}  # every store in one file: most racing
    processes = [_open_stores(urls) for _ in range(4)]
    outputs = [process.communicate(timeout=180) for process in processes]
    assert all(process.returncode == 0 for process in processes), [stderr for _, stderr in outputs]
    engine = engine_for(urls["sales"])
    assert {store: revision_of(engine, store) for store in STORES} == STORE_HEADS
