"""handled_events becomes a durable inbox: state, owner, lease_until, attempts, payload, finished_at; old rows done.

Revision ID: connector_events_0002
Revises: connector_events_0001
Create Date: 2026-12-06

A claimed delivery is 'processing' under its owner's lease until its answer is posted ('done'), so a delivery whose
process died is replayed by another process from `payload` (connectors/common/dedupe.py). Rows written before this
revision were claims of the old kind, handled at once: the server defaults make them 'done' with one attempt, and the
models keep those defaults (a claim without a payload is done the moment it is made). A store made by `create_all`
after the columns existed (adopted at connector_events_0001) has them already: only missing columns are added.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from salesbot.migrations.operations import existing_columns

revision: str = "connector_events_0002"
down_revision: str | Sequence[str] | None = "connector_events_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATE_LEASE_INDEX = "ix_handled_events_state_lease_until"


def upgrade() -> None:
    columns = existing_columns("handled_events")
    new_columns: list[sa.Column[Any]] = [
        sa.Column("state", sa.String(), nullable=False, server_default="done"),
        sa.Column("owner", sa.String(), nullable=True),
        sa.Column("lease_until", sa.Float(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="1"),
        sa.Column("payload", sa.Text(), nullable=True),
        sa.Column("finished_at", sa.Float(), nullable=True),
    ]
    for column in new_columns:
        if column.name not in columns:
            op.add_column("handled_events", column)
    indexes = {index["name"] for index in sa.inspect(op.get_bind()).get_indexes("handled_events")}
    if STATE_LEASE_INDEX not in indexes:
        # The sweeper of every serve process asks for expired 'processing' rows every few seconds.
        op.create_index(STATE_LEASE_INDEX, "handled_events", ["state", "lease_until"])


def downgrade() -> None:
    op.drop_index(STATE_LEASE_INDEX, table_name="handled_events")
    with op.batch_alter_table("handled_events") as batch_op:
        for name in ("finished_at", "payload", "attempts", "lease_until", "owner", "state"):
            batch_op.drop_column(name)
