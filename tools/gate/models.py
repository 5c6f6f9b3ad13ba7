"""Pydantic types of the confirmation gate: action views, the per-turn action context, the model tools' inputs.

Each action kind's own argument model (what any proposer may pass) lives in its module under tools/gate/kinds/;
the *Input models here are the narrower schemas the language model fills in.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic import Field as PydanticField

from tools.db.tables import OpportunityStage


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
    approver_label: str = PydanticField(default="", description="Both labels joined, for `tasks --json` readers.")
    approver_label_en: str = PydanticField(default="", description="Who must confirm, in English.")
    approver_label_zh: str = PydanticField(default="", description="Who must confirm, in Chinese.")
    sources: list[dict[str, Any]] = PydanticField(default_factory=list)
    origin: str = "user"
    created_at: str
    decided_by: str | None = None
    decided_at: str | None = None
    result: str | None = PydanticField(default=None, description="What the write produced, e.g. tasks:12.")
    error: str | None = None
    already_decided: bool = PydanticField(default=False, description="True when a repeated decision changed nothing.")


class ActionContext(BaseModel):
    """Who is asking and where: passed in by the graph per turn, never chosen by the model."""

    user_id: str = "cli-user"
    role: str = "rep"
    thread_id: str = "default"
    sources: list[dict[str, Any]] = PydanticField(default_factory=list)
    origin: str = PydanticField(
        default="user", description="user | document | mcp | model: where the request came from (model: arguments "
        "a model filled in that the rules could not confirm). Only user may auto-execute.")
    request_text: str | None = PydanticField(default=None, description="The user's message, for feedback.")


class FollowUpTaskInput(BaseModel):
    customer: str = PydanticField(description="Customer name as the user wrote it (Chinese or English).")
    due: str = PydanticField(description="When: ISO datetime, or the user's words such as 下周三 or 'next Friday'.")
    description: str = PydanticField(description="What to do, in the user's language, e.g. 回访 or 'send the quote'.")


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
    product: str = PydanticField(description="Product SKU or name, as the pricing tool returned it.")
    quantity: int = PydanticField(description="Number of units.", ge=1)
    unit_price: str | None = PydanticField(
        default=None, description="Proposed unit price (digits only) in the policy's currency; omit when the "
                                  "pricing tool withheld the strategy's price (then give strategy and suggestion_id).")
    strategy: str | None = PydanticField(default=None, description="within_authority | value_bundle | competitive")
    suggestion_id: str | None = PydanticField(default=None, description="Id of the pricing proposal it came from.")
