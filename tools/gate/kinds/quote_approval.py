"""submit_quote_for_approval: a quote at a unit price, approved by whoever the pricing policy's band names.

The approval level is not written here or in the responsibility list: the pricing policy's approval_levels
are the one source, and this kind hands the band's approver to the rules as the `policy_approver` fact.
A strategy whose price the proposer may not see (a price at the floor) is submitted by strategy key and
pricing suggestion id; the price is taken from the stored suggestion and never shown in the action's view.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator
from sqlmodel import Session

from tools.db.tables import PendingAction, Quote, Suggestion, sales_session
from tools.gate.errors import ActionInvalid
from tools.gate.kinds.base import (
    ActionKind,
    AppliedWrite,
    CustomerArguments,
    OptionalText,
    customer_fields,
    product_sku,
    require_text,
    text_or_none,
)
from tools.sales.pricing import (
    PricingError,
    approval_band_for,
    discount_rate,
    load_pricing_policy,
    parse_money,
    resolve_product,
    validate_quantity,
)

_WITHHELD_EN = "price set by the approver at the policy limit"
_WITHHELD_ZH = "单价由审批人按政策下限确定"


class QuoteApprovalArguments(CustomerArguments):
    product: OptionalText = None
    quantity: Annotated[int | None, BeforeValidator(text_or_none)] = None
    unit_price: OptionalText = None
    strategy: Literal["within_authority", "value_bundle", "competitive"] | None = None
    suggestion_id: OptionalText = None
    note: OptionalText = None


def _pricing_suggestion(suggestion_id: str) -> dict[str, Any]:
    with sales_session() as session:
        suggestion = session.get(Suggestion, suggestion_id)
        if suggestion is None or suggestion.kind != "pricing":
            raise ActionInvalid(f"no pricing proposal with id {suggestion_id!r}; run `salesbot price` first")
        return dict(suggestion.payload or {})


def _from_suggestion(parsed: QuoteApprovalArguments) -> QuoteApprovalArguments:
    """Fill product, quantity, customer and (by strategy) the unit price from the stored pricing proposal."""
    assert parsed.suggestion_id is not None
    proposal = _pricing_suggestion(parsed.suggestion_id)
    sku, quantity = str(proposal.get("sku")), int(proposal.get("quantity") or 0)
    if parsed.product and product_sku(parsed.product, required=True) != sku:
        raise ActionInvalid(f"pricing proposal {parsed.suggestion_id} is for {sku}, not {parsed.product}")
    if parsed.quantity is not None and parsed.quantity != quantity:
        raise ActionInvalid(f"pricing proposal {parsed.suggestion_id} is for {quantity} units, not {parsed.quantity}")
    customer = proposal.get("customer") or {}
    updates: dict[str, Any] = {"product": sku, "quantity": quantity,
                               "customer": parsed.customer or customer.get("name_zh"),
                               "customer_key": parsed.customer_key or (None if parsed.customer else customer.get("key"))}
    if parsed.unit_price is None:
        if parsed.strategy is None:
            raise ActionInvalid("name the strategy (within_authority, value_bundle or competitive) of pricing "
                                f"proposal {parsed.suggestion_id}, or give a unit_price")
        strategies = {item.get("key"): item for item in proposal.get("strategies", [])}
        if parsed.strategy not in strategies:
            raise ActionInvalid(f"pricing proposal {parsed.suggestion_id} has no strategy {parsed.strategy!r}")
        updates["unit_price"] = str(strategies[parsed.strategy]["unit_price"])
    return parsed.model_copy(update=updates)


def _policy_facts(sku: str, unit_price: Decimal) -> dict[str, Any]:
    """The discount and the pricing policy band's approver (rep | manager | vp) for this price."""
    try:
        product = resolve_product(sku)
    except PricingError as error:
        raise ActionInvalid(str(error)) from error
    band = approval_band_for(load_pricing_policy(), unit_price, product.list_price)
    return {"discount": str(discount_rate(unit_price, product.list_price)), "policy_approver": band.approver}


class QuoteApproval(ActionKind):
    name = "submit_quote_for_approval"
    arguments = QuoteApprovalArguments
    derived_facts = ("discount", "policy_approver")

    def normalise(self, args: dict[str, Any], *, now: datetime | None = None,
                  proposer_user: str | None = None) -> dict[str, Any]:
        parsed = self.parse(args, QuoteApprovalArguments)
        if parsed.suggestion_id:
            parsed = _from_suggestion(parsed)
        sku = str(product_sku(require_text(parsed.product, "product", self.name), required=True))
        product = resolve_product(sku)
        if parsed.quantity is None or parsed.quantity < 1:
            raise ActionInvalid("a quote needs a quantity of at least 1")
        try:  # the pricing engine's own bounds: finite, positive, not absurd
            quantity = validate_quantity(parsed.quantity)
            unit_price = parse_money(require_text(parsed.unit_price, "unit_price", self.name)) or Decimal(0)
        except PricingError as error:
            raise ActionInvalid(str(error)) from error
        if unit_price < product.floor_price:
            # Say what to do without revealing the floor figure (the proposer may be a rep).
            raise ActionInvalid("that unit price is below what the pricing policy allows for any approver; "
                                "ask for the competitive option from `salesbot price` instead")
        return {**customer_fields(parsed.customer, parsed.customer_key, self.name), "product": sku,
                "quantity": quantity, "unit_price": str(unit_price), **_policy_facts(sku, unit_price),
                "strategy": parsed.strategy, "suggestion_id": parsed.suggestion_id, "note": parsed.note,
                # A price at the floor would reveal the floor to anyone reading the action (reps included).
                "price_withheld": unit_price <= product.floor_price}

    def facts(self, args: dict[str, Any]) -> dict[str, Any]:
        # Asked of the policy each time, so a change to its bands applies to every new decision.
        return _policy_facts(str(args["product"]), Decimal(str(args["unit_price"])))

    def view_args(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("price_withheld"):
            return dict(args)
        return {**args, "unit_price": None, "discount": None}

    def summary(self, args: dict[str, Any]) -> tuple[str, str]:
        customer = args.get("customer") or "?"
        product, quantity = args.get("product"), args.get("quantity")
        if args.get("price_withheld"):
            return (f"Quote {quantity} × {product} to {customer}, {_WITHHELD_EN}, for approval",
                    f"提交{customer}报价审批：{product} × {quantity}，{_WITHHELD_ZH}")
        discount = Decimal(str(args.get("discount") or "0")) * 100
        return (f"Quote {quantity} × {product} to {customer} at {args.get('unit_price')} "
                f"({discount:.1f}% off) for approval",
                f"提交{customer}报价审批：{product} × {quantity}，单价 {args.get('unit_price')}"
                f"(折扣{discount:.1f}%)")

    def apply(self, session: Session, action: PendingAction, actor: str) -> AppliedWrite:
        args = action.args
        quantity, unit_price = int(args["quantity"]), Decimal(args["unit_price"])
        quote = Quote(action_id=action.id, customer_key=args.get("customer_key"), customer_name=args["customer"],
                      product_sku=args["product"], quantity=quantity, unit_price=unit_price,
                      discount=Decimal(args["discount"]), amount=unit_price * quantity,
                      submitted_by=action.proposer_user, approved_by=actor)
        session.add(quote)
        session.flush()
        return AppliedWrite(f"quotes:{quote.id}", [{"source": "pricing_policy.yaml", "section": "approval_levels",
                                                    "policy_approver": args.get("policy_approver")}])
