"""Sales database tables (SQLModel) and the pydantic views the tools hand to the agent and connectors."""

from __future__ import annotations

import warnings
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from pydantic import Field as PydanticField
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
    key: str = Field(unique=True, index=True, description="Stable short id, e.g. huadong-peoples.")
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


class CustomerRef(BaseModel):
    """A resolved customer."""

    key: str
    name_zh: str
    name_en: str
    region: str = ""
    industry: str = ""
    city: str = ""

    def display_name(self, language: str = "zh") -> str:
        return self.name_zh if language == "zh" else self.name_en


class ActionView(BaseModel):
    """A pending or decided action as connectors show it (`salesbot tasks --json` prints these)."""

    id: str
    kind: str
    status: str
    args: dict[str, Any]
    customer: str | None = None
    due: str | None = PydanticField(default=None, description="ISO datetime with offset, when the action has one.")
    summary: str
    summary_zh: str
    proposer: str
    proposer_role: str
    thread_id: str
    required_approver: str
    approver_label: str = ""
    sources: list[dict[str, Any]] = PydanticField(default_factory=list)
    origin: str = "user"
    created_at: str
    decided_by: str | None = None
    decided_at: str | None = None
    result: str | None = PydanticField(default=None, description="What the write produced, e.g. tasks:12.")
    error: str | None = None
    already_decided: bool = PydanticField(default=False, description="True when a repeated decision changed nothing.")


class OpportunityCard(BaseModel):
    """What a chat, email or call transcript says about a sales opportunity."""

    model_config = ConfigDict(title="OpportunityCard")

    customer: str | None = PydanticField(default=None, description="Customer organisation name as written.")
    product: str | None = PydanticField(default=None, description="Our product discussed (SKU or name).")
    stage: OpportunityStage | None = PydanticField(default=None, description="Sales stage the conversation shows.")
    objections: list[str] = PydanticField(default_factory=list, description="Customer concerns, one per item.")
    competitor: str | None = PydanticField(default=None, description="Competing vendor mentioned.")
    budget: int | None = PydanticField(default=None, description="Customer budget in CNY (whole yuan).")
    next_step: str | None = PydanticField(default=None, description="Agreed next step, one sentence.")


# ---------------------------------------------------------------- pricing


class ApprovalBand(BaseModel):
    max_discount: Decimal
    approver: str
    label_en: str
    label_zh: str


class ValueBundle(BaseModel):
    key: str
    label_en: str
    label_zh: str
    cost_ratio: Decimal = PydanticField(description="Cost to us as a fraction of list price, per unit.")


class VolumeBreak(BaseModel):
    min_quantity: int
    suggested_discount: Decimal


class ProductPolicy(BaseModel):
    sku: str
    name_zh: str
    name_en: str
    aliases: list[str] = PydanticField(default_factory=list)
    line: str
    list_price: Decimal
    unit_cost: Decimal
    floor_price: Decimal


class PricingPolicy(BaseModel):
    """The pricing and discount policy YAML (knowledge/samples/policy/pricing_policy.yaml)."""

    title: str = ""
    currency: str = "CNY"
    approval_levels: list[ApprovalBand]
    visibility: dict[str, list[str]] = PydanticField(default_factory=dict)
    value_bundles: list[ValueBundle] = PydanticField(default_factory=list)
    volume_breaks: list[VolumeBreak] = PydanticField(default_factory=list)
    products: list[ProductPolicy]


class DealAnchor(BaseModel):
    """A similar past deal shown next to a strategy."""

    deal_ref: str
    customer: str
    quantity: int
    unit_price: Decimal
    discount: Decimal
    outcome: str
    closed_on: date
    competitor: str | None = None
    same_customer: bool = False


class PricingStrategy(BaseModel):
    """One of the three quote strategies, with exact Decimal arithmetic."""

    key: Literal["within_authority", "value_bundle", "competitive"]
    title_en: str
    title_zh: str
    unit_price: Decimal
    quantity: int
    total: Decimal = PydanticField(description="unit_price * quantity.")
    discount: Decimal = PydanticField(description="1 - unit_price / list_price, rounded to 4 places for display.")
    concessions: list[ValueBundle] = PydanticField(default_factory=list)
    concession_cost_per_unit: Decimal = Decimal(0)
    unit_cost: Decimal
    floor_price: Decimal
    gross_margin: Decimal = PydanticField(description="total - (unit_cost + concession cost) * quantity.")
    gross_margin_rate: Decimal = PydanticField(description="gross_margin / total, 4 places.")
    approver: str = PydanticField(description="rep | manager | vp: who must approve this discount.")
    approval_label_en: str
    approval_label_zh: str
    clamped_to_floor: bool = False
    anchors: list[DealAnchor] = PydanticField(default_factory=list)
    rationale_en: str
    rationale_zh: str


# Fields only roles listed in the policy's visibility section may see.
_COST_FIELDS = {"unit_cost": "unit_cost", "concession_cost_per_unit": "unit_cost", "floor_price": "floor_price",
                "gross_margin": "margin", "gross_margin_rate": "margin"}


class PricingProposal(BaseModel):
    """Three strategies for one product, quantity and customer."""

    suggestion_id: str | None = None
    sku: str
    product_name_zh: str
    product_name_en: str
    currency: str
    quantity: int
    list_price: Decimal
    customer: CustomerRef | None = None
    competitor_price: Decimal | None = None
    customer_ask: Decimal | None = None
    request_below_floor: bool = PydanticField(default=False, description="A requested price was under the floor.")
    strategies: list[PricingStrategy]
    visibility: dict[str, list[str]] = PydanticField(default_factory=dict)

    def may_see(self, role: str, figure: str) -> bool:
        """Whether `role` may see a figure class (unit_cost | floor_price | margin) under the policy."""
        from salesbot.roles import role_at_least

        allowed = self.visibility.get(figure, ["manager", "vp", "admin"])
        return any(role_at_least(role, allowed_role) for allowed_role in allowed)

    def view_for_role(self, role: str) -> dict[str, Any]:
        """JSON-ready proposal with cost, floor and margin figures removed for roles that may not see them.

        A rep never sees a price equal to the floor either (that would reveal it): such a price is withheld
        and the strategy says who must set it.
        """
        data = self.model_dump(mode="json", exclude={"visibility"})
        for strategy_data, strategy in zip(data["strategies"], self.strategies, strict=True):
            for field_name, figure in _COST_FIELDS.items():
                if not self.may_see(role, figure):
                    strategy_data.pop(field_name, None)
            if not self.may_see(role, "unit_cost"):
                for concession in strategy_data.get("concessions", []):
                    concession.pop("cost_ratio", None)
            if not self.may_see(role, "floor_price") and strategy.unit_price <= strategy.floor_price:
                strategy_data["unit_price"] = None
                strategy_data["total"] = None
                strategy_data["discount"] = None
                strategy_data["price_withheld"] = True
        return data


# ---------------------------------------------------------------- tool inputs (what the model fills in)


class ActionContext(BaseModel):
    """Who is asking and where: passed in by the graph per turn, never chosen by the model."""

    user_id: str = "cli-user"
    role: str = "rep"
    thread_id: str = "default"
    sources: list[dict[str, Any]] = PydanticField(default_factory=list)
    origin: str = PydanticField(default="user", description="user | document: where the request came from.")
    request_text: str | None = PydanticField(default=None, description="The user's message, for feedback.")


class FollowUpTaskInput(BaseModel):
    customer: str = PydanticField(description="Customer name as the user wrote it (Chinese or English).")
    due: str = PydanticField(description="When: ISO datetime, or the user's words such as 下周三 or 'next Friday'.")
    description: str = PydanticField(description="What to do, in the user's language, e.g. 回访 or 'send X3 quote'.")


class OpportunityCardInput(BaseModel):
    customer: str = PydanticField(description="Customer organisation.")
    stage: OpportunityStage | None = PydanticField(default=None, description="Sales stage.")
    product: str | None = PydanticField(default=None, description="Our product (SKU or name).")
    objections: list[str] = PydanticField(default_factory=list, description="Customer concerns.")
    competitor: str | None = PydanticField(default=None, description="Competing vendor.")
    budget: int | None = PydanticField(default=None, description="Customer budget in CNY.")
    amount: int | None = PydanticField(default=None, description="Expected deal size in CNY.")
    next_step: str | None = PydanticField(default=None, description="Agreed next step.")


class StageUpdateInput(BaseModel):
    customer: str = PydanticField(description="Customer whose open opportunity changes stage.")
    stage: OpportunityStage = PydanticField(description="New stage.")
    note: str | None = PydanticField(default=None, description="Why the stage changes.")


class QuoteApprovalInput(BaseModel):
    customer: str = PydanticField(description="Customer the quote is for.")
    product: str = PydanticField(description="Product SKU or name, e.g. QM-X3 or X3.")
    quantity: int = PydanticField(description="Number of units.", ge=1)
    unit_price: str = PydanticField(description="Proposed unit price in CNY, e.g. '62560'.")
    strategy: str | None = PydanticField(default=None, description="within_authority | value_bundle | competitive")
    suggestion_id: str | None = PydanticField(default=None, description="Id of the pricing proposal it came from.")
