"""Sales database tables (SQLModel) and the pydantic views the tools hand to the agent and connectors."""

from __future__ import annotations

import warnings
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import JSON, Column, Text
from sqlalchemy.exc import SAWarning
from sqlmodel import Field, Session, SQLModel

# SQLite stores Numeric as REAL; our prices have at most 2 decimals and quantities are integers, so the
# round trip is exact. The warning would otherwise appear once per process in every CLI run.
warnings.filterwarnings("ignore", message=r".*does \*not\* support Decimal objects natively.*", category=SAWarning)

ACTION_STATUSES = ("pending", "executed", "rejected", "failed")
APPROVERS = ("auto", "confirm", "manager", "vp")
OPPORTUNITY_STAGES = ("prospecting", "qualification", "proposal", "negotiation", "closed_won", "closed_lost")
FEEDBACK_VERDICTS = ("adopted", "rejected", "modified")
SUGGESTION_KINDS = ("answer", "pricing", "action")

OpportunityStage = Literal["prospecting", "qualification", "proposal", "negotiation", "closed_won", "closed_lost"]


def utc_now() -> datetime:
    """Timestamps are timezone-aware; SQLModel stores them in UTC and returns them in UTC."""
    return datetime.now(UTC)


# ---------------------------------------------------------------- tables (names read well in SQL)


class Customer(SQLModel, table=True):
    __tablename__ = "customers"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, index=True, description="Stable short id: the registry key of the customer entity.")
    name_zh: str
    name_en: str
    region: str = Field(index=True, description="华东 | 华南 | 华北 | 西南 | 海外")
    industry: str = Field(index=True)
    city: str


class Product(SQLModel, table=True):
    __tablename__ = "products"

    id: int | None = Field(default=None, primary_key=True)
    sku: str = Field(unique=True, index=True)
    name_zh: str
    name_en: str
    line: str = Field(description="medical | iot")
    list_price: Decimal = Field(max_digits=14, decimal_places=2)
    unit_cost: Decimal = Field(max_digits=14, decimal_places=2)
    floor_price: Decimal = Field(max_digits=14, decimal_places=2)


class Deal(SQLModel, table=True):
    """A historical quote that was won or lost (the pricing engine's anchors)."""

    __tablename__ = "deals"

    id: int | None = Field(default=None, primary_key=True)
    ref: str = Field(unique=True, index=True, description="Deal number, e.g. D-2024-0001.")
    customer_key: str = Field(foreign_key="customers.key", index=True)
    product_sku: str = Field(foreign_key="products.sku", index=True)
    quantity: int
    list_price: Decimal = Field(max_digits=14, decimal_places=2, description="List price per unit at the time.")
    unit_price: Decimal = Field(max_digits=14, decimal_places=2)
    discount: Decimal = Field(max_digits=6, decimal_places=4, description="1 - unit_price / list_price.")
    amount: Decimal = Field(max_digits=16, decimal_places=2, description="unit_price * quantity.")
    outcome: str = Field(index=True, description="won | lost")
    closed_on: date = Field(index=True)
    rep: str = Field(index=True, description="User id of the sales rep.")
    competitor: str | None = Field(default=None, description="Competitor in the deal (name_en), if any.")
    region: str = Field(index=True)


class Opportunity(SQLModel, table=True):
    __tablename__ = "opportunities"

    id: int | None = Field(default=None, primary_key=True)
    ref: str | None = Field(default=None, unique=True, description="Seeded opportunity number.")
    source_action_id: str | None = Field(default=None, unique=True, description="Action that logged it.")
    customer_key: str | None = Field(default=None, index=True)
    customer_name: str
    product_sku: str | None = Field(default=None, index=True)
    stage: str = Field(index=True)
    amount: Decimal | None = Field(default=None, max_digits=16, decimal_places=2)
    budget: Decimal | None = Field(default=None, max_digits=16, decimal_places=2)
    next_step: str | None = None
    competitor: str | None = None
    objections: str | None = Field(default=None, sa_column=Column(Text), description="'; '-separated.")
    owner: str = Field(index=True)
    created_at: datetime = Field(default_factory=utc_now)
    updated_at: datetime = Field(default_factory=utc_now)


class Task(SQLModel, table=True):
    __tablename__ = "tasks"

    id: int | None = Field(default=None, primary_key=True)
    owner: str = Field(index=True)
    customer_key: str | None = Field(default=None, index=True)
    customer_name: str
    due: datetime = Field(index=True, description="Aware; stored and returned in UTC.")
    description: str
    status: str = Field(default="open", index=True, description="open | done")
    source_thread: str | None = None
    # Unique: applying the same approved action twice cannot create a second task.
    action_id: str | None = Field(default=None, unique=True)
    created_at: datetime = Field(default_factory=utc_now)


class Quote(SQLModel, table=True):
    """A quote submitted for approval and approved by the required person."""

    __tablename__ = "quotes"

    id: int | None = Field(default=None, primary_key=True)
    action_id: str = Field(unique=True)
    customer_key: str | None = Field(default=None, index=True)
    customer_name: str
    product_sku: str = Field(index=True)
    quantity: int
    unit_price: Decimal = Field(max_digits=14, decimal_places=2)
    discount: Decimal = Field(max_digits=6, decimal_places=4)
    amount: Decimal = Field(max_digits=16, decimal_places=2)
    status: str = Field(default="approved")
    submitted_by: str
    approved_by: str
    created_at: datetime = Field(default_factory=utc_now)


class PendingAction(SQLModel, table=True):
    """A proposed write waiting for (or done with) its human confirmation; persisted before anyone is asked."""

    __tablename__ = "pending_actions"

    id: str = Field(primary_key=True, max_length=12)
    kind: str = Field(index=True)
    args: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    status: str = Field(default="pending", index=True)
    proposer_user: str
    proposer_role: str
    thread_id: str = Field(index=True)
    required_approver: str
    approver_rule: str | None = Field(default=None, description="Which responsibility rule decided.")
    sources: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON))
    origin: str = Field(default="user", description="user | document: where the request came from.")
    created_at: datetime = Field(default_factory=utc_now)
    decided_by: str | None = None
    decided_at: datetime | None = None
    result_ref: str | None = Field(default=None, description="e.g. tasks:12")
    error: str | None = None


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_events"

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utc_now, index=True)
    actor: str
    actor_role: str | None = None
    event: str = Field(index=True, description="proposed | approved | edited | rejected | executed | failed")
    action_id: str | None = Field(default=None, index=True)
    kind: str | None = None
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    sources: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON))


class Suggestion(SQLModel, table=True):
    """Anything the assistant suggested (answer, pricing proposal, action), so feedback can point at it."""

    __tablename__ = "suggestions"

    id: str = Field(primary_key=True, max_length=16)
    kind: str = Field(index=True)
    question: str | None = Field(default=None, sa_column=Column(Text))
    user: str | None = None
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    sources: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON))
    created_at: datetime = Field(default_factory=utc_now)


class Feedback(SQLModel, table=True):
    __tablename__ = "feedback"

    id: int | None = Field(default=None, primary_key=True)
    suggestion_id: str = Field(index=True)
    kind: str
    verdict: str
    user: str
    comment: str | None = None
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    created_at: datetime = Field(default_factory=utc_now)


def sales_session() -> Session:
    """A session on the configured sales database (tables created on first use)."""
    from salesbot.database import sales_engine

    return Session(sales_engine(), expire_on_commit=False)


# ---------------------------------------------------------------- views (pydantic)


# ---------------------------------------------------------------- pricing


# ---------------------------------------------------------------- tool inputs (what the model fills in)


