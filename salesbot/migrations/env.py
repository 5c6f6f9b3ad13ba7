"""Alembic's environment for every store: runs on the connection salesbot hands over in `config.attributes`."""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext

from salesbot.migrations import include_table_name

config = context.config
connection = config.attributes.get("connection")
if connection is None or context.is_offline_mode():
    # Offline SQL scripts are not offered: the baselines look at the live database to adopt old ones.
    raise RuntimeError("salesbot migrations run on a live connection: salesbot.migrations.alembic_config(connection, "
                       "store) sets it (salesbot.database.upgrade_schema does this at start)")
target_metadata = config.attributes.get("target_metadata")
dialect_name = connection.dialect.name


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    return type_ != "table" or include_table_name(name, target_metadata, dialect_name)


def render_item(type_: str, item: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """sqlmodel's column types written as the plain SQLAlchemy types whose DDL they emit, as in the baselines: a
    revision then needs no sqlmodel import and cannot change with a sqlmodel release."""
    if type_ == "type":
        from sqlmodel.sql.sqltypes import AutoString, UTCDateTime

        if isinstance(item, AutoString):
            length = getattr(item.impl, "length", None)
            return f"sa.String(length={length})" if length else "sa.String()"
        if isinstance(item, UTCDateTime):
            return "sa.DateTime(timezone=True)"
    return False  # Alembic's own rendering


context.configure(
    connection=connection,
    target_metadata=target_metadata,
    version_table=config.attributes["version_table"],
    include_name=include_name,
    render_item=render_item,
    compare_type=True,
    # SQLite alters tables by copying them; autogenerate then writes batch operations that work on both.
    render_as_batch=dialect_name == "sqlite",
)
# The caller's transaction (and its schema lock) spans the whole upgrade: begin_transaction() joins it.
with context.begin_transaction():
    context.run_migrations()
