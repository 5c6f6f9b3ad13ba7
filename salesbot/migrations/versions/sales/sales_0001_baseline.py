"""Baseline of the sales store: sales data, pending actions and audit, suggestions and feedback (ten tables).

Revision ID: sales_0001
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

revision: str = "sales_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    existing = existing_tables()
    if "audit_events" not in existing:
        op.create_table(
            "audit_events",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("actor", sa.String(), nullable=False),
            sa.Column("actor_role", sa.String(), nullable=True),
            sa.Column("event", sa.String(), nullable=False),
            sa.Column("action_id", sa.String(), nullable=True),
            sa.Column("kind", sa.String(), nullable=True),
            sa.Column("detail", sa.JSON(), nullable=True),
            sa.Column("sources", sa.JSON(), nullable=True),
            sa.PrimaryKeyConstraint("id"),
        )
        op.create_index(op.f("ix_audit_events_action_id"), "audit_events", ["action_id"])
        op.create_index(op.f("ix_audit_events_created_at"), "audit_events", ["created_at"])
        op.create_index(op.f("ix_audit_events_event"), "audit_events", ["event"])
    if "customers" not in existing:
        op.create_table(
            "customers",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("key", sa.String(), nullable=False),
            sa.Column("name_zh", sa.String(), nullable=False),
            sa.Column("name_en", sa.String(), nullable=False),
            sa.Column("region", sa.String(), nullable=False),
            sa.Column("industry", sa.String(), nullable=False),
            sa.Column("city", sa.String(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )
        op.create_index(op.f("ix_customers_industry"), "customers", ["industry"])
        op.create_index(op.f("ix_customers_key"), "customers", ["key"], unique=True)
        op.create_index(op.f("ix_customers_region"), "customers", ["region"])
    if "feedback" not in existing:
        op.create_table(
            "feedback",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("suggestion_id", sa.String(), nullable=False),
            sa.Column("kind", sa.String(), nullable=False),
            sa.Column("verdict", sa.String(), nullable=False),
            sa.Column("user", sa.String(), nullable=False),
            sa.Column("comment", sa.String(), nullable=True),
            sa.Column("payload", sa.JSON(), nullable=True),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )
        op.create_index(op.f("ix_feedback_suggestion_id"), "feedback", ["suggestion_id"])
    if "opportunities" not in existing:
        op.create_table(
            "opportunities",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("ref", sa.String(), nullable=True),
            sa.Column("source_action_id", sa.String(), nullable=True),
            sa.Column("customer_key", sa.String(), nullable=True),
            sa.Column("customer_name", sa.String(), nullable=False),
            sa.Column("product_sku", sa.String(), nullable=True),
            sa.Column("stage", sa.String(), nullable=False),
            sa.Column("amount", sa.Numeric(precision=16, scale=2), nullable=True),
            sa.Column("budget", sa.Numeric(precision=16, scale=2), nullable=True),
            sa.Column("next_step", sa.String(), nullable=True),
            sa.Column("competitor", sa.String(), nullable=True),
            sa.Column("objections", sa.Text(), nullable=True),
            sa.Column("owner", sa.String(), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("ref"),
            sa.UniqueConstraint("source_action_id"),
        )
        op.create_index(op.f("ix_opportunities_customer_key"), "opportunities", ["customer_key"])
        op.create_index(op.f("ix_opportunities_owner"), "opportunities", ["owner"])
        op.create_index(op.f("ix_opportunities_product_sku"), "opportunities", ["product_sku"])
        op.create_index(op.f("ix_opportunities_stage"), "opportunities", ["stage"])
    if "pending_actions" not in existing:
        op.create_table(
            "pending_actions",
            sa.Column("id", sa.String(length=12), nullable=False),
            sa.Column("kind", sa.String(), nullable=False),
            sa.Column("args", sa.JSON(), nullable=True),
            sa.Column("status", sa.String(), nullable=False),
            sa.Column("proposer_user", sa.String(), nullable=False),
            sa.Column("proposer_role", sa.String(), nullable=False),
            sa.Column("thread_id", sa.String(), nullable=False),
            sa.Column("required_approver", sa.String(), nullable=False),
            sa.Column("approver_rule", sa.String(), nullable=True),
            sa.Column("sources", sa.JSON(), nullable=True),
            sa.Column("origin", sa.String(), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("decided_by", sa.String(), nullable=True),
            sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
            sa.Column("result_ref", sa.String(), nullable=True),
            sa.Column("error", sa.String(), nullable=True),
            sa.PrimaryKeyConstraint("id"),
        )
        op.create_index(op.f("ix_pending_actions_kind"), "pending_actions", ["kind"])
        op.create_index(op.f("ix_pending_actions_status"), "pending_actions", ["status"])
        op.create_index(op.f("ix_pending_actions_thread_id"), "pending_actions", ["thread_id"])
    if "products" not in existing:
        op.create_table(
            "products",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("sku", sa.String(), nullable=False),
            sa.Column("name_zh", sa.String(), nullable=False),
            sa.Column("name_en", sa.String(), nullable=False),
            sa.Column("line", sa.String(), nullable=False),
            sa.Column("list_price", sa.Numeric(precision=14, scale=2), nullable=False),
            sa.Column("unit_cost", sa.Numeric(precision=14, scale=2), nullable=False),
            sa.Column("floor_price", sa.Numeric(precision=14, scale=2), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )
        op.create_index(op.f("ix_products_sku"), "products", ["sku"], unique=True)
    if "quotes" not in existing:
        op.create_table(
            "quotes",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("action_id", sa.String(), nullable=False),
            sa.Column("customer_key", sa.String(), nullable=True),
            sa.Column("customer_name", sa.String(), nullable=False),
            sa.Column("product_sku", sa.String(), nullable=False),
            sa.Column("quantity", sa.Integer(), nullable=False),
            sa.Column("unit_price", sa.Numeric(precision=14, scale=2), nullable=False),
            sa.Column("discount", sa.Numeric(precision=6, scale=4), nullable=False),
            sa.Column("amount", sa.Numeric(precision=16, scale=2), nullable=False),
            sa.Column("status", sa.String(), nullable=False),
            sa.Column("submitted_by", sa.String(), nullable=False),
            sa.Column("approved_by", sa.String(), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("action_id"),
        )
        op.create_index(op.f("ix_quotes_customer_key"), "quotes", ["customer_key"])
        op.create_index(op.f("ix_quotes_product_sku"), "quotes", ["product_sku"])
    if "suggestions" not in existing:
        op.create_table(
            "suggestions",
            sa.Column("id", sa.String(length=16), nullable=False),
            sa.Column("kind", sa.String(), nullable=False),
            sa.Column("question", sa.Text(), nullable=True),
            sa.Column("user", sa.String(), nullable=True),
            sa.Column("payload", sa.JSON(), nullable=True),
            sa.Column("sources", sa.JSON(), nullable=True),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )
        op.create_index(op.f("ix_suggestions_kind"), "suggestions", ["kind"])
    if "tasks" not in existing:
        op.create_table(
            "tasks",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("owner", sa.String(), nullable=False),
            sa.Column("customer_key", sa.String(), nullable=True),
            sa.Column("customer_name", sa.String(), nullable=False),
            sa.Column("due", sa.DateTime(timezone=True), nullable=False),
            sa.Column("description", sa.String(), nullable=False),
            sa.Column("status", sa.String(), nullable=False),
            sa.Column("source_thread", sa.String(), nullable=True),
            sa.Column("action_id", sa.String(), nullable=True),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("action_id"),
        )
        op.create_index(op.f("ix_tasks_customer_key"), "tasks", ["customer_key"])
        op.create_index(op.f("ix_tasks_due"), "tasks", ["due"])
        op.create_index(op.f("ix_tasks_owner"), "tasks", ["owner"])
        op.create_index(op.f("ix_tasks_status"), "tasks", ["status"])
    if "deals" not in existing:
        op.create_table(
            "deals",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("ref", sa.String(), nullable=False),
            sa.Column("customer_key", sa.String(), nullable=False),
            sa.Column("product_sku", sa.String(), nullable=False),
            sa.Column("quantity", sa.Integer(), nullable=False),
            sa.Column("list_price", sa.Numeric(precision=14, scale=2), nullable=False),
            sa.Column("unit_price", sa.Numeric(precision=14, scale=2), nullable=False),
            sa.Column("discount", sa.Numeric(precision=6, scale=4), nullable=False),
            sa.Column("amount", sa.Numeric(precision=16, scale=2), nullable=False),
            sa.Column("outcome", sa.String(), nullable=False),
            sa.Column("closed_on", sa.Date(), nullable=False),
            sa.Column("rep", sa.String(), nullable=False),
            sa.Column("competitor", sa.String(), nullable=True),
            sa.Column("region", sa.String(), nullable=False),
            sa.ForeignKeyConstraint(["customer_key"], ["customers.key"]),
            sa.ForeignKeyConstraint(["product_sku"], ["products.sku"]),
            sa.PrimaryKeyConstraint("id"),
        )
        op.create_index(op.f("ix_deals_closed_on"), "deals", ["closed_on"])
        op.create_index(op.f("ix_deals_customer_key"), "deals", ["customer_key"])
        op.create_index(op.f("ix_deals_outcome"), "deals", ["outcome"])
        op.create_index(op.f("ix_deals_product_sku"), "deals", ["product_sku"])
        op.create_index(op.f("ix_deals_ref"), "deals", ["ref"], unique=True)
        op.create_index(op.f("ix_deals_region"), "deals", ["region"])
        op.create_index(op.f("ix_deals_rep"), "deals", ["rep"])


def downgrade() -> None:
    op.drop_table("deals")
    op.drop_table("tasks")
    op.drop_table("suggestions")
    op.drop_table("quotes")
    op.drop_table("products")
    op.drop_table("pending_actions")
    op.drop_table("opportunities")
    op.drop_table("feedback")
    op.drop_table("customers")
    op.drop_table("audit_events")
