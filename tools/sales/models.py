"""Pydantic types of the sales domain: customers, opportunity cards, the pricing policy and pricing proposals."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, model_validator
from pydantic import Field as PydanticField

from tools.db.tables import OpportunityStage


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
    """A product's prices from the policy; its names come from the entity registry (see tools.sales.catalog)."""

    sku: str
    line: str
    list_price: Decimal
    unit_cost: Decimal
    floor_price: Decimal
    name_zh: str = PydanticField(default="", description="Filled from the entity registry, never the policy.")
    name_en: str = PydanticField(default="", description="Filled from the entity registry, never the policy.")


class ProbeLimit(BaseModel):
    """How many pricing requests with a competitor price or customer ask one user may make per window.

    Counted in the sales database (audit events), so the limit holds across processes and connectors; roles
    that may see the floor are not limited (they gain nothing by probing).
    """

    requests: int = PydanticField(default=20, ge=1)
    window_minutes: int = PydanticField(default=10, ge=1)


class PricingPolicy(BaseModel):
    """The pricing and discount policy YAML (SALESBOT_PRICING_POLICY_FILE)."""

    title: str = ""
    currency: str = "CNY"
    approval_levels: list[ApprovalBand]
    visibility: dict[str, list[str]] = PydanticField(default_factory=dict)
    value_bundles: list[ValueBundle] = PydanticField(default_factory=list)
    volume_breaks: list[VolumeBreak] = PydanticField(default_factory=list)
    probe_limit: ProbeLimit = PydanticField(default_factory=ProbeLimit)
    products: list[ProductPolicy]


class SeedCompany(BaseModel):
    name_zh: str
    name_en: str


class SeedRep(BaseModel):
    user: str
    name: str
    role: str = PydanticField(description="rep | manager | vp")
    region: str


class SeedParameters(BaseModel):
    """A seed.yaml: the parameters of a company's deterministic demo sales database."""

    company: SeedCompany
    reps: list[SeedRep] = PydanticField(min_length=1)
    product_mix: dict[str, dict[str, int]] = PydanticField(
        description="Customer industry → {SKU: weight}; `default` for every other industry.")
    quantity_ranges: dict[str, tuple[int, int]]
    previous_generation: list[str] = PydanticField(default_factory=list,
                                                   description="SKUs whose weight halves in the last year.")
    objections: list[str] = PydanticField(min_length=2)
    next_steps: list[str] = PydanticField(min_length=1)
    deal_count: int = PydanticField(ge=0)
    first_deal_day: date
    last_deal_day: date
    seed: int

    @model_validator(mode="after")
    def _consistent(self) -> SeedParameters:
        if "default" not in self.product_mix:
            raise ValueError("product_mix needs a `default` entry")
        missing = sorted({sku for mix in self.product_mix.values() for sku in mix} - set(self.quantity_ranges))
        if missing:
            raise ValueError(f"quantity_ranges lacks {', '.join(missing)}")
        if self.last_deal_day < self.first_deal_day:
            raise ValueError("last_deal_day is before first_deal_day")
        return self


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
    beyond_rep_authority: bool = PydanticField(
        default=False, description="The requested price is below the rep's own band: reps see one fixed answer.")
    rep_anchors: list[DealAnchor] = PydanticField(
        default_factory=list, exclude=True,
        description="The anchors roles without floor visibility see: none within a few hundred of the floor.")


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
    escalation: ApprovalBand | None = PydanticField(
        default=None, exclude=True, description="The first band above the rep's: what reps see beyond their own.")

    def may_see(self, role: str, figure: str) -> bool:
        """Whether `role` may see a figure class (unit_cost | floor_price | margin) under the policy."""
        from salesbot.roles import role_at_least

        allowed = self.visibility.get(figure, ["manager", "vp", "admin"])
        return any(role_at_least(role, allowed_role) for allowed_role in allowed)

    def view_for_role(self, role: str) -> dict[str, Any]:
        """JSON-ready proposal with cost, floor and margin figures removed for roles that may not see them.

        For a role that may not see the floor, nothing in the view depends on the floor beyond the rep's own
        band: a price equal to the floor is withheld (that would reveal it); a requested price below the
        rep's band reads the same whatever it is (withheld, "needs manager approval", no floor clamp, no
        below-policy flag, no anchors); other anchors never sit within a few hundred of the floor.
        """
        data = self.model_dump(mode="json", exclude={"visibility"})
        sees_floor = self.may_see(role, "floor_price")
        if not sees_floor:
            data["request_below_floor"] = None
        for strategy_data, strategy in zip(data["strategies"], self.strategies, strict=True):
            for field_name, figure in _COST_FIELDS.items():
                if not self.may_see(role, figure):
                    strategy_data.pop(field_name, None)
            if not self.may_see(role, "unit_cost"):
                for concession in strategy_data.get("concessions", []):
                    concession.pop("cost_ratio", None)
            if sees_floor:
                continue
            strategy_data["clamped_to_floor"] = None
            strategy_data["anchors"] = [anchor.model_dump(mode="json") for anchor in strategy.rep_anchors]
            if strategy.beyond_rep_authority:
                strategy_data.update(self._beyond_authority_view())
            elif strategy.clamped_to_floor:  # no requested price: say who sets it, not that it hit the floor
                strategy_data.update({key: value for key, value in self._beyond_authority_view().items()
                                      if key.startswith("rationale_")})
            if strategy.beyond_rep_authority or strategy.unit_price <= strategy.floor_price:
                strategy_data["unit_price"] = None
                strategy_data["total"] = None
                strategy_data["discount"] = None
                strategy_data["price_withheld"] = True
        return data

    def _beyond_authority_view(self) -> dict[str, Any]:
        """The one answer every price below the rep's band gets (the approver sets the price)."""
        band = self.escalation
        return {
            "approver": band.approver if band else "manager",
            "approval_label_en": band.label_en if band else "needs manager approval",
            "approval_label_zh": band.label_zh if band else "需销售经理审批",
            "anchors": [],
            "rationale_en": "The requested price is below your own authority; your approver sets the price "
                            "within policy.",
            "rationale_zh": "目标价低于代表权限，由审批人按政策确定价格。",
        }
