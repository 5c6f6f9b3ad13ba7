"""Pricing engine: three quote strategies that respect the discount policy, anchored on similar past deals.

All money is Decimal and every figure is exact: unit prices are whole currency units rounded *up* from the
target discount (so rounding never deepens a discount across an approval band or below the floor); the
approval level is decided by exact comparison `list - price <= max_discount * list`, not by a rounded rate.
"""

from __future__ import annotations

import logging
import math
from datetime import UTC, timedelta
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Literal

from sqlmodel import col, select

from salesbot import clock
from tools.db.tables import AuditEvent, Customer, Deal, sales_session
from tools.sales.catalog import (
    PricingError,
    find_product_in_text,
    load_pricing_policy,
    pricing_policy_path,
    resolve_product,
)
from tools.sales.customers import resolve_customer
from tools.sales.models import (
    ApprovalBand,
    CustomerRef,
    DealAnchor,
    PricingPolicy,
    PricingProposal,
    PricingStrategy,
    ProductPolicy,
    ValueBundle,
)

logger = logging.getLogger(__name__)

__all__ = ["MAX_QUANTITY", "MAX_UNIT_PRICE", "PricingError", "approval_band_for", "discount_rate",
           "find_product_in_text", "load_pricing_policy", "parse_money", "pricing_policy_path", "propose_pricing",
           "render_pricing", "resolve_product", "validate_quantity"]

ANCHORS_PER_STRATEGY = 3
# The value bundle gives up this much of option A's discount in exchange for the concessions.
VALUE_BUNDLE_DISCOUNT_TRADE = Decimal("0.02")
_RATE_PLACES = Decimal("0.0001")
_WHOLE_UNIT = Decimal(1)
# Bounds on what a request may ask for (clumsy or hostile input gets a readable error, never a crash).
MAX_QUANTITY = 100_000
MAX_UNIT_PRICE = Decimal(10) ** 9
_MAX_MONEY_TEXT = 40
# Past deals this close to the floor are never shown to roles that may not see the floor.
FLOOR_ANCHOR_MARGIN = Decimal(500)
FLOOR_ANCHOR_MARGIN_RATE = Decimal("0.01")
PROBE_EVENT = "pricing_probe"
PROBE_REFUSED_EVENT = "pricing_probe_refused"


def approval_band_for(policy: PricingPolicy, unit_price: Decimal, list_price: Decimal) -> ApprovalBand:
    """The first band whose max_discount covers the discount, compared exactly (no rounding)."""
    concession = list_price - unit_price
    for band in policy.approval_levels:
        if concession <= band.max_discount * list_price:
            return band
    return policy.approval_levels[-1]  # beyond every band: the top approver decides (floor still holds)


def discount_rate(unit_price: Decimal, list_price: Decimal) -> Decimal:
    """1 - unit_price / list_price, rounded half-up to 4 places (for display; bands use exact arithmetic)."""
    return ((list_price - unit_price) / list_price).quantize(_RATE_PLACES, rounding=ROUND_HALF_UP)


def price_at_discount(list_price: Decimal, discount: Decimal) -> Decimal:
    """The whole-unit price for a target discount, rounded up so the real discount never exceeds it."""
    return (list_price * (1 - discount)).quantize(_WHOLE_UNIT, rounding=ROUND_CEILING)


def _volume_discount(policy: PricingPolicy, quantity: int) -> Decimal:
    suggested = Decimal(0)
    for volume_break in sorted(policy.volume_breaks, key=lambda item: item.min_quantity):
        if quantity >= volume_break.min_quantity:
            suggested = volume_break.suggested_discount
    return suggested


def _max_discount_for(policy: PricingPolicy, approver: str) -> Decimal:
    for band in policy.approval_levels:
        if band.approver == approver:
            return band.max_discount
    return Decimal(0)


def _escalation_band(policy: PricingPolicy) -> ApprovalBand | None:
    """The first band above the rep's own authority."""
    return next((band for band in policy.approval_levels if band.approver != "rep"), None)


def _next_band_max(policy: PricingPolicy) -> Decimal:
    """Top of the first band above the rep's own authority (the competitive option's default depth)."""
    for band in policy.approval_levels:
        if band.approver != "rep":
            return band.max_discount
    return policy.approval_levels[-1].max_discount


def validate_quantity(quantity: object) -> int:
    """A whole number of units from 1 to MAX_QUANTITY; PricingError otherwise."""
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= MAX_QUANTITY:
        shown = repr(quantity)[:_MAX_MONEY_TEXT]
        raise PricingError(f"quantity must be a whole number from 1 to {MAX_QUANTITY:,}, got {shown}")
    return quantity


def parse_money(value: Decimal | float | int | str | None) -> Decimal | None:
    """A unit price: Decimal from its text, finite, positive, at most MAX_UNIT_PRICE; PricingError otherwise."""
    if value is None:
        return None
    text = str(value).strip().replace(",", "")
    shown = str(value)[:_MAX_MONEY_TEXT]
    if len(text) > _MAX_MONEY_TEXT:
        raise PricingError(f"price must be a positive amount of at most {MAX_UNIT_PRICE:,}, got {shown}…")
    try:
        amount = Decimal(text)
    except (InvalidOperation, ValueError):
        raise PricingError(f"price must be a positive amount, got {shown!r}") from None
    if not amount.is_finite() or amount <= 0:
        raise PricingError(f"price must be a positive amount, got {shown!r}")
    if amount > MAX_UNIT_PRICE:
        raise PricingError(f"price must be a positive amount of at most {MAX_UNIT_PRICE:,}, got {shown!r}")
    return amount


_money = parse_money


def _may_see_floor(policy: PricingPolicy, role: str | None) -> bool:
    from salesbot.roles import role_at_least

    if role is None:
        return False
    allowed = policy.visibility.get("floor_price", ["manager", "vp", "admin"])
    return any(role_at_least(role, allowed_role) for allowed_role in allowed)


def _check_probe_limit(policy: PricingPolicy, user: str | None, role: str | None, sku: str,
                       competitor_price: Decimal | None, customer_ask: Decimal | None) -> None:
    """Count this request (audit trail) and refuse it when the user asked too often in the window.

    Only requests that name a price are counted, and only for roles that may not see the floor; the count
    lives in the sales database, so it holds across processes and connectors.
    """
    if _may_see_floor(policy, role):
        return
    actor = user or "anonymous"
    now = clock.now().astimezone(UTC)
    since = now - timedelta(minutes=policy.probe_limit.window_minutes)
    detail = {"sku": sku, "competitor_price": None if competitor_price is None else str(competitor_price),
              "customer_ask": None if customer_ask is None else str(customer_ask)}
    with sales_session() as session:
        recent = session.exec(select(AuditEvent.id).where(
            AuditEvent.event == PROBE_EVENT, AuditEvent.actor == actor,
            col(AuditEvent.created_at) >= since)).all()
        refused = len(recent) >= policy.probe_limit.requests
        session.add(AuditEvent(created_at=now, actor=actor, actor_role=role, kind="pricing",
                               event=PROBE_REFUSED_EVENT if refused else PROBE_EVENT, detail=detail))
        session.commit()
    if refused:
        logger.warning("pricing probe limit reached for %s (%d requests in %d minutes)", actor, len(recent),
                       policy.probe_limit.window_minutes)
        raise PricingError(
            f"too many pricing requests with a competitor price or customer ask "
            f"({policy.probe_limit.requests} per {policy.probe_limit.window_minutes} minutes); "
            f"try again later or ask your manager")


def propose_pricing(
    product: str,
    quantity: int,
    customer: str | None = None,
    competitor_price: Decimal | None = None,
    customer_ask: Decimal | None = None,
    *,
    record: bool = True,
    user: str | None = None,
    role: str | None = None,
) -> PricingProposal:
    """Three quote strategies for `quantity` units of `product` (SKU or alias) for an optional customer.

    A. within the rep's own authority (volume discount, or the customer's target if the rep may give it);
    B. a value bundle: less discount, plus warranty / training / payment-term concessions from the policy;
    C. competitive: matches the competitor's price or the customer's ask (the lower), else the top of the
       manager band — clamped to the floor, with the approval level the policy requires.
    With record=True the proposal is stored as a Suggestion (its id is in `suggestion_id`), and a request
    naming a price counts against the asking user's probe limit (`role` None counts as a rep); record=False
    is the offline computation tests and benchmarks use.
    """
    validate_quantity(quantity)
    competitor_amount, ask_amount = parse_money(competitor_price), parse_money(customer_ask)
    policy = load_pricing_policy()
    product_policy = resolve_product(product, policy)
    customer_ref = resolve_customer(customer) if customer else None
    if record and (competitor_amount is not None or ask_amount is not None):
        _check_probe_limit(policy, user, role, product_policy.sku, competitor_amount, ask_amount)
    targets = [amount for amount in (competitor_amount, ask_amount) if amount is not None]
    target_price = min(targets) if targets else None

    list_price, floor_price = product_policy.list_price, product_policy.floor_price
    rep_limit_price = max(floor_price, price_at_discount(list_price, _max_discount_for(policy, "rep")))
    suggested_price = max(rep_limit_price, price_at_discount(list_price, _volume_discount(policy, quantity)))

    if target_price is None:
        within_price = suggested_price
    else:
        within_price = min(suggested_price, max(rep_limit_price, target_price.quantize(_WHOLE_UNIT, ROUND_CEILING)))
    bundle_discount = max(Decimal(0), discount_rate(within_price, list_price) - VALUE_BUNDLE_DISCOUNT_TRADE)
    bundle_price = max(floor_price, price_at_discount(list_price, bundle_discount))
    if target_price is None:
        competitive_wanted = price_at_discount(list_price, _next_band_max(policy))
    else:
        competitive_wanted = target_price.quantize(_WHOLE_UNIT, rounding=ROUND_CEILING)
    request_below_floor = target_price is not None and target_price < floor_price
    competitive_price = max(floor_price, competitive_wanted)
    beyond_rep_authority = target_price is not None and target_price < rep_limit_price

    deals = _deals_for_product(product_policy.sku)
    build = _StrategyBuilder(policy, product_policy, quantity, customer_ref, deals)
    strategies = [
        build.strategy("within_authority", within_price, [], target_price=target_price),
        build.strategy("value_bundle", bundle_price, policy.value_bundles, target_price=target_price),
        build.strategy("competitive", competitive_price, [], target_price=target_price,
                       clamped=request_below_floor or competitive_wanted < floor_price,
                       competitor_price=competitor_amount,
                       customer_ask=ask_amount, beyond_rep_authority=beyond_rep_authority),
    ]
    proposal = PricingProposal(
        sku=product_policy.sku, product_name_zh=product_policy.name_zh, product_name_en=product_policy.name_en,
        currency=policy.currency, quantity=quantity, list_price=list_price, customer=customer_ref,
        competitor_price=competitor_amount, customer_ask=ask_amount, request_below_floor=request_below_floor,
        strategies=strategies, visibility=policy.visibility, escalation=_escalation_band(policy),
    )
    if record:
        proposal.suggestion_id = _record_pricing_suggestion(proposal, product, user)
    return proposal


class _StrategyBuilder:
    """Turns a price into a fully costed strategy with anchors and a rationale."""

    def __init__(self, policy: PricingPolicy, product: ProductPolicy, quantity: int,
                 customer: CustomerRef | None, deals: list[tuple[Deal, Customer | None]]) -> None:
        self.policy, self.product, self.quantity, self.customer, self.deals = policy, product, quantity, customer, deals

    def strategy(self, key: Literal["within_authority", "value_bundle", "competitive"], unit_price: Decimal, concessions: list[ValueBundle], *,
                 target_price: Decimal | None, clamped: bool = False, competitor_price: Decimal | None = None,
                 customer_ask: Decimal | None = None, beyond_rep_authority: bool = False) -> PricingStrategy:
        product = self.product
        concession_cost = sum((product.list_price * bundle.cost_ratio for bundle in concessions), Decimal(0))
        total = unit_price * self.quantity
        gross_margin = total - (product.unit_cost + concession_cost) * self.quantity
        band = approval_band_for(self.policy, unit_price, product.list_price)
        discount = discount_rate(unit_price, product.list_price)
        rationale_en, rationale_zh = _rationale(key, band, discount, concessions, target_price, clamped,
                                                competitor_price, customer_ask)
        return PricingStrategy(
            key=key, title_en=_TITLES[key][0], title_zh=_TITLES[key][1], unit_price=unit_price,
            quantity=self.quantity, total=total, discount=discount, concessions=concessions,
            concession_cost_per_unit=concession_cost, unit_cost=product.unit_cost, floor_price=product.floor_price,
            gross_margin=gross_margin, gross_margin_rate=(gross_margin / total).quantize(_RATE_PLACES, ROUND_HALF_UP),
            approver=band.approver, approval_label_en=band.label_en, approval_label_zh=band.label_zh,
            clamped_to_floor=clamped, anchors=self.anchors(discount), rationale_en=rationale_en,
            rationale_zh=rationale_zh, beyond_rep_authority=beyond_rep_authority,
            rep_anchors=[] if beyond_rep_authority else self.anchors(discount, away_from_floor=True),
        )

    def anchors(self, discount: Decimal, *, away_from_floor: bool = False) -> list[DealAnchor]:
        """The most similar past deals: similar quantity and discount, same customer or industry, recent.

        away_from_floor: only deals more than a few hundred from the floor (what roles that may not see the
        floor are shown), so an anchor never pins the floor down.
        """
        today = clock.today()
        deals = self.deals
        if away_from_floor:
            margin = max(FLOOR_ANCHOR_MARGIN, self.product.list_price * FLOOR_ANCHOR_MARGIN_RATE)
            deals = [pair for pair in deals if abs(pair[0].unit_price - self.product.floor_price) > margin]

        def distance(pair: tuple[Deal, Customer | None]) -> float:
            deal, deal_customer = pair
            score = abs(math.log(self.quantity / max(deal.quantity, 1)))
            score += 8 * abs(float(deal.discount) - float(discount))
            if self.customer is not None:
                if deal.customer_key != self.customer.key:
                    score += 0.6
                    if deal_customer is None or deal_customer.industry != self.customer.industry:
                        score += 0.4
            score += 0.1 * max(0, (today - deal.closed_on).days) / 365
            return score

        ranked = sorted(deals, key=lambda pair: (distance(pair), pair[0].ref))
        return [
            DealAnchor(
                deal_ref=deal.ref, customer=deal_customer.name_zh if deal_customer else deal.customer_key,
                quantity=deal.quantity, unit_price=deal.unit_price, discount=deal.discount, outcome=deal.outcome,
                closed_on=deal.closed_on, competitor=deal.competitor,
                same_customer=self.customer is not None and deal.customer_key == self.customer.key,
            )
            for deal, deal_customer in ranked[:ANCHORS_PER_STRATEGY]
        ]


_TITLES = {
    "within_authority": ("Within your authority", "权限内报价"),
    "value_bundle": ("Value bundle", "价值捆绑"),
    "competitive": ("Competitive price", "竞争性报价"),
}


def _percent(rate: Decimal) -> str:
    return f"{rate * 100:.1f}%"


def _rationale(key: str, band: ApprovalBand, discount: Decimal, concessions: list[ValueBundle],
               target_price: Decimal | None, clamped: bool, competitor_price: Decimal | None,
               customer_ask: Decimal | None) -> tuple[str, str]:
    """One line each in English and Chinese; never a cost or floor figure (reps read these)."""
    if key == "within_authority":
        if target_price is not None and band.approver == "rep":
            return (f"{_percent(discount)} off, as close to the customer's target as your own authority allows.",
                    f"折扣{_percent(discount)}，在代表权限内尽量贴近客户目标价。")
        return (f"Volume discount of {_percent(discount)}; no approval needed, quote today.",
                f"按采购量给{_percent(discount)}折扣，无需审批，可当天报价。")
    if key == "value_bundle":
        labels_en = "; ".join(bundle.label_en for bundle in concessions)
        labels_zh = "、".join(bundle.label_zh for bundle in concessions)
        return (f"Keep the discount at {_percent(discount)} and add: {labels_en} — rather than a deeper cut.",
                f"折扣保持{_percent(discount)}，以{labels_zh}代替更大折扣。")
    against = "competitor's price" if competitor_price is not None and competitor_price == target_price else (
        "customer's ask" if customer_ask is not None else None)
    against_zh = {"competitor's price": "竞品价格", "customer's ask": "客户期望价"}.get(against or "", "")
    if clamped:
        return (f"The {against} is below what policy allows; this is the lowest allowed price and "
                f"{band.label_en}.",
                f"{against_zh}低于政策允许的最低价，已按政策下限报价，{band.label_zh}。")
    if against:
        return (f"Matches the {against} ({_percent(discount)} off); {band.label_en}.",
                f"匹配{against_zh}(折扣{_percent(discount)})，{band.label_zh}。")
    return (f"{_percent(discount)} off to win against competition; {band.label_en}.",
            f"折扣{_percent(discount)}以应对竞争，{band.label_zh}。")


def _deals_for_product(sku: str) -> list[tuple[Deal, Customer | None]]:
    with sales_session() as session:
        statement = select(Deal, Customer).join(Customer, col(Customer.key) == col(Deal.customer_key), isouter=True)
        return list(session.exec(statement.where(Deal.product_sku == sku)).all())


def _record_pricing_suggestion(proposal: PricingProposal, product_mention: str, user: str | None) -> str:
    from tools.feedback import record_suggestion

    customer = proposal.customer.name_zh if proposal.customer else None
    question = f"price {product_mention} x{proposal.quantity}" + (f" for {customer}" if customer else "")
    anchor_refs = sorted({anchor.deal_ref for strategy in proposal.strategies for anchor in strategy.anchors})
    sources: list[dict[str, Any]] = [
        {"source": pricing_policy_path().name, "section": "approval_levels / products / value_bundles"},
        {"table": "deals", "refs": anchor_refs},
    ]
    return record_suggestion("pricing", proposal.model_dump(mode="json"), sources, question=question, user=user)


# ---------------------------------------------------------------- rendering


def _format_money(amount: Decimal) -> str:
    return f"{amount:,.0f}" if amount == amount.to_integral_value() else f"{amount:,.2f}"


def render_pricing(proposal: PricingProposal, role: str, language: str = "zh") -> str:
    """Plain text for chat; cost, floor and margin appear only for roles the policy lets see them."""
    view = proposal.view_for_role(role)
    chinese = language == "zh"
    symbol = "¥" if proposal.currency == "CNY" else f"{proposal.currency} "
    name = proposal.product_name_zh if chinese else proposal.product_name_en
    customer = proposal.customer.display_name(language) if proposal.customer else None
    header = (f"{name} ({proposal.sku}) × {proposal.quantity}，目录价 {symbol}{_format_money(proposal.list_price)}/台"
              if chinese else
              f"{name} ({proposal.sku}) × {proposal.quantity}, list price {symbol}{_format_money(proposal.list_price)} each")
    if customer:
        header += f"，客户：{customer}" if chinese else f", customer: {customer}"
    lines = [header]
    if proposal.request_below_floor and proposal.may_see(role, "floor_price"):
        lines.append("⚠ 客户期望/竞品价格低于政策允许的最低价，无法直接匹配，已按政策下限处理。" if chinese else
                     "⚠ The requested/competitor price is below what policy allows; it was clamped, not matched.")
    for letter, strategy, strategy_view in zip("ABC", proposal.strategies, view["strategies"], strict=True):
        title = strategy.title_zh if chinese else strategy.title_en
        approval = strategy_view["approval_label_zh"] if chinese else strategy_view["approval_label_en"]
        if strategy_view.get("price_withheld"):
            price_text = ("单价由审批人按政策确定" if chinese else "price to be set by the approver within policy")
        else:
            price_text = (f"单价 {symbol}{_format_money(strategy.unit_price)}，总价 {symbol}{_format_money(strategy.total)}，"
                          f"折扣 {_percent(strategy.discount)}" if chinese else
                          f"unit {symbol}{_format_money(strategy.unit_price)}, total {symbol}{_format_money(strategy.total)}, "
                          f"discount {_percent(strategy.discount)}")
        lines.append(f"{letter}. {title}：{price_text} — {approval}" if chinese else
                     f"{letter}. {title}: {price_text} — {approval}")
        lines.append(("   理由：" if chinese else "   Why: ")
                     + (strategy_view["rationale_zh"] if chinese else strategy_view["rationale_en"]))
        if "gross_margin" in strategy_view:
            lines.append(
                f"   毛利 {symbol}{_format_money(strategy.gross_margin)} ({_percent(strategy.gross_margin_rate)})，"
                f"单位成本 {symbol}{_format_money(strategy.unit_cost + strategy.concession_cost_per_unit)}，"
                f"底价 {symbol}{_format_money(strategy.floor_price)}" if chinese else
                f"   Gross margin {symbol}{_format_money(strategy.gross_margin)} ({_percent(strategy.gross_margin_rate)}), "
                f"unit cost {symbol}{_format_money(strategy.unit_cost + strategy.concession_cost_per_unit)}, "
                f"floor {symbol}{_format_money(strategy.floor_price)}"
            )
        anchors = [DealAnchor.model_validate(anchor) for anchor in strategy_view.get("anchors", [])]
        if anchors:
            anchor_texts = []
            for anchor in anchors:
                outcome = ({"won": "赢单", "lost": "丢单"}.get(anchor.outcome, anchor.outcome) if chinese
                           else anchor.outcome)
                anchor_texts.append(
                    f"{anchor.deal_ref} {anchor.customer} {anchor.quantity}台 折扣{_percent(anchor.discount)} {outcome}"
                    if chinese else
                    f"{anchor.deal_ref} {anchor.customer} qty {anchor.quantity} at {_percent(anchor.discount)} off, {outcome}"
                )
            lines.append(("   参考成交：" if chinese else "   Similar deals: ") + "；".join(anchor_texts)
                         if chinese else "   Similar deals: " + "; ".join(anchor_texts))
    if proposal.suggestion_id:
        lines.append(f"(建议编号 {proposal.suggestion_id})" if chinese else f"(suggestion {proposal.suggestion_id})")
    return "\n".join(lines)
