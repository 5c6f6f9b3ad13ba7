"""Entities get `key` (the key as written in the source) and `attributes` (facts from the data), empty on old rows.

Revision ID: knowledge_0002
Revises: knowledge_0001
Create Date: 2026-12-04

Replaces the hand-written ALTER TABLEs knowledge/base.py ran at every start. A store made by `create_all` after the
columns existed (adopted at knowledge_0001) has them already: only missing columns are added. The server defaults
fill the rows already there; on Postgres they are dropped afterwards, so the columns read as the models write them
(no default); SQLite cannot drop a column default without copying the table, and keeps them (harmless).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from salesbot.migrations.operations import existing_columns

revision: str = "knowledge_0002"
down_revision: str | Sequence[str] | None = "knowledge_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    columns = existing_columns("entities")
    added = []
    if "key" not in columns:
        op.add_column("entities", sa.Column("key", sa.String(), nullable=False, server_default=""))
        added.append("key")
    if "attributes" not in columns:
        op.add_column("entities", sa.Column("attributes", sa.JSON(), nullable=False, server_default="{}"))
        added.append("attributes")
    if op.get_bind().dialect.name != "sqlite":
        for name in added:
            op.alter_column("entities", name, server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("entities") as batch_op:
        batch_op.drop_column("attributes")
        batch_op.drop_column("key")
