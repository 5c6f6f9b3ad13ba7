"""Baseline of the Slack connector's store: proposal snapshots, posted messages, their actions, bot threads.

Revision ID: slack_0001
Revises:
Create Date: 2026-12-04

Generated once with autogenerate from the models, then reviewed: plain SQLAlchemy types (no sqlmodel types, so
later sqlmodel releases cannot change this revision), the same DDL `create_all` wrote. A database made before
migrations existed already has some or all of these tables: each table that exists is left as it is (its indexes
were created with it, in the same transaction), the missing ones are created, and the version table is written.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from salesbot.migrations.operations import existing_tables

revision: str = "slack_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    existing = existing_tables()
    if "slack_action_messages" not in existing:
        op.create_table(
            "slack_action_messages",
            sa.Column("action_id", sa.String(), nullable=False),
            sa.Column("channel", sa.String(), nullable=False),
            sa.Column("ts", sa.String(), nullable=False),
            sa.PrimaryKeyConstraint("action_id", "channel", "ts"),
        )
    if "slack_bot_threads" not in existing:
        op.create_table(
            "slack_bot_threads",
            sa.Column("channel", sa.String(), nullable=False),
            sa.Column("thread_ts", sa.String(), nullable=False),
            sa.Column("saved_at", sa.Float(), nullable=False),
            sa.PrimaryKeyConstraint("channel", "thread_ts"),
        )
    if "slack_pending_action_snapshots" not in existing:
        op.create_table(
            "slack_pending_action_snapshots",
            sa.Column("action_id", sa.String(), nullable=False),
            sa.Column("args_json", sa.Text(), nullable=False),
            sa.Column("summary", sa.Text(), nullable=False),
            sa.Column("saved_at", sa.Float(), nullable=False),
            sa.PrimaryKeyConstraint("action_id"),
        )
    if "slack_posted_messages" not in existing:
        op.create_table(
            "slack_posted_messages",
            sa.Column("channel", sa.String(), nullable=False),
            sa.Column("ts", sa.String(), nullable=False),
            sa.Column("blocks_json", sa.Text(), nullable=False),
            sa.Column("saved_at", sa.Float(), nullable=False),
            sa.PrimaryKeyConstraint("channel", "ts"),
        )


def downgrade() -> None:
    op.drop_table("slack_posted_messages")
    op.drop_table("slack_pending_action_snapshots")
    op.drop_table("slack_bot_threads")
    op.drop_table("slack_action_messages")
