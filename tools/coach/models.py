"""Coach mode's typed values: conversation turns, the opportunity card with its evidence, and the report."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

ObjectionType = Literal["price", "competitor", "compatibility", "delivery", "after_sales"]


class Turn(BaseModel):
    """One speaker turn; `line` is its 1-based position in the parsed conversation."""

    line: int
    speaker: str
    text: str
    side: Literal["rep", "customer", "unknown"] = "unknown"


class Conversation(BaseModel):
    """A parsed input: turns in reading order plus where they came from."""

    source: Literal["transcript", "chat", "email", "screenshot"]
    turns: list[Turn]


class Evidence(BaseModel):
    field: str
    line: int
    text: str


class CompetitorPrice(BaseModel):
    competitor: str
    amount: float
    currency: str
    line: int


class Objection(BaseModel):
    type: ObjectionType
    line: int


class CoachCard(BaseModel):
    """The opportunity card; every filled field has an Evidence entry naming the line it came from."""

    customer: str | None = None
    products: list[str] = Field(default_factory=list)
    quantity: int | None = None
    competitors: list[str] = Field(default_factory=list)
    competitor_prices: list[CompetitorPrice] = Field(default_factory=list)
    budget: float | None = None
    timeline: str | None = None
    decision_maker: str | None = None
    objections: list[Objection] = Field(default_factory=list)
    stage: str | None = None
    evidence: list[Evidence] = Field(default_factory=list)


class CoachReport(BaseModel):
    """Everything `salesbot coach` reports; `to_contract()` is the stable JSON."""

    card: CoachCard
    price_avoidance: int = 0
    price_avoidance_lines: list[int] = Field(default_factory=list)
    quote_requested: bool = False
    pricing: dict[str, Any] | None = None
    pending_actions: list[dict[str, Any]] = Field(default_factory=list)
    executed_actions: list[dict[str, Any]] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list, description="Why something was not proposed, for the user.")
    conversation: Conversation
    elapsed_ms: float = 0.0

    def to_contract(self) -> dict[str, Any]:
        """The JSON contract of `salesbot coach --json` (extra field: elapsed_ms)."""
        card = self.card.model_dump(mode="json")
        return {"card": card, "price_avoidance": self.price_avoidance, "pricing": self.pricing,
                "pending_actions": self.pending_actions, "executed_actions": self.executed_actions,
                "elapsed_ms": round(self.elapsed_ms, 1)}
