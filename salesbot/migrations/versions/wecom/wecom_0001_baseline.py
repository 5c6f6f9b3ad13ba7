"""Baseline of the WeCom connector's store: wechatpy_session (the access token shared by every process).

Revision ID: wecom_0001
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

revision: str = "wecom_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    existing = existing_tables()
    if "wechatpy_session" not in existing:
        op.create_table(
            "wechatpy_session",
            sa.Column("key", sa.String(), nullable=False),
            sa.Column("value", sa.Text(), nullable=False),
            sa.Column("expires_at", sa.Float(), nullable=True),
            sa.PrimaryKeyConstraint("key"),
        )


def downgrade() -> None:
    op.drop_table("wechatpy_session")
