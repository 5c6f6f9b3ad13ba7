"""Schema migrations (Alembic): one history per store, run programmatically on a connection salesbot holds.

Every store keeps its own history in `versions/<store>/` and its own version table (`alembic_version_<store>`), so
each SQLite file of the embedded profile migrates on its own and, on the server profile, all stores coexist in one
Postgres database. One environment (`env.py`) serves them all; nothing reads an alembic.ini. The stores call
`salesbot.database.upgrade_schema(engine, store)` where they used to create their tables: once per process per
URL, under the cross-process schema lock, and only when the version table is not already at `STORE_HEADS[store]`.

Adding a migration (e.g. a column on a knowledge table):

1. change the model (`knowledge/tables.py`, `tools/db/tables.py`, or a connector store's `metadata`);
2. `.venv/bin/python scripts/new_migration.py knowledge "entities get a note"` upgrades a scratch SQLite database
   to the current head, autogenerates `versions/knowledge/knowledge_0003_entities_get_a_note.py` against the
   models and bumps nothing else: review the file (explicit `op.*` calls; SQLite needs `op.batch_alter_table` for
   anything but adding a column; a NOT NULL column needs a `server_default` for the rows already there);
3. set `STORE_HEADS["knowledge"] = "knowledge_0003"` below (tests/unit/test_migrations.py checks it);
4. run `tests/unit/test_migrations.py` (models and migrations agree on SQLite, old databases upgrade) and, on the
   server profile, `tests/integration/server_profile/test_migrations_server_profile.py`.

Only the baselines (`*_0001`) and knowledge_0002 look at what exists (they adopt databases made by `create_all`
before migrations existed); later revisions state their change plainly.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import exc, text

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy import MetaData
    from sqlalchemy.engine import Connection

MIGRATIONS_DIR = Path(__file__).resolve().parent

# The newest revision of each store. Read without importing Alembic, so a process whose databases are current
# pays one SELECT per store at start (cold start), not Alembic's import and script scan.
STORE_HEADS: dict[str, str] = {
    "sales": "sales_0001",
    "knowledge": "knowledge_0002",
    "connector_events": "connector_events_0002",
    "slack": "slack_0001",
    "wecom": "wecom_0001",
}


class SchemaNewerThanCodeError(RuntimeError):
    """The database was migrated by a newer salesbot than this one."""


def version_table(store: str) -> str:
    if store not in STORE_HEADS:
        raise ValueError(f"unknown store {store!r}; known: {', '.join(STORE_HEADS)}")
    return f"alembic_version_{store}"


def current_revision(connection: Connection, store: str) -> str | None:
    """The store's revision in this database, None when its version table is missing or empty. A missing table
    fails the transaction on Postgres: pass a connection of its own, not one holding work."""
    try:
        return connection.execute(text(f"SELECT version_num FROM {version_table(store)}")).scalar()
    except exc.DBAPIError:  # no version table yet (OperationalError on SQLite, ProgrammingError on Postgres)
        connection.rollback()
        return None


def alembic_config(connection: Connection | None, store: str, target_metadata: MetaData | None = None) -> Config:
    """The Alembic configuration of one store, built in code: script location, this store's history and version
    table, and the connection to run on (`env.py` reads them from `config.attributes`; without one the config
    serves only to read the scripts)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", _escaped(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations", _escaped(MIGRATIONS_DIR / "versions" / store))
    config.attributes.update(connection=connection, store=store, version_table=version_table(store),
                             target_metadata=target_metadata)
    return config


def upgrade_to_head(connection: Connection, store: str) -> None:
    """Run the store's migrations up to head on this connection, inside the transaction the caller holds (the
    caller holds the schema lock too: salesbot.database.upgrade_schema)."""
    from alembic import command
    from alembic.util import CommandError

    try:
        command.upgrade(alembic_config(connection, store), "head")
    except CommandError as error:
        if "Can't locate revision" in str(error):  # the version table exists: reading it is safe
            revision = connection.execute(text(f"SELECT version_num FROM {version_table(store)}")).scalar()
            raise SchemaNewerThanCodeError(
                f"the {store} tables are at schema revision {revision!r}, which this salesbot does not know (its "
                f"newest is {STORE_HEADS[store]!r}): a newer salesbot migrated this database; upgrade salesbot"
            ) from error
        raise


def _escaped(path: Path) -> str:
    """A path as a ConfigParser value (% starts an interpolation there)."""
    return str(path).replace("%", "%%")


def include_table_name(name: str | None, target_metadata: Any, dialect_name: str) -> bool:
    """Which database tables autogenerate compares with a store's models: never a version table; on a database
    shared by every store (Postgres) only the store's own tables, on SQLite (one file per store) all of them, so a
    table dropped from the models shows up."""
    if name is None or name.startswith("alembic_version"):
        return name is None
    return dialect_name == "sqlite" or target_metadata is None or name in target_metadata.tables
