"""Pricing engine: three strategies, floor clamping, anchors from past deals, role-aware rendering."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from tools.sales.pricing import (
    PricingError,
    load_pricing_policy,
    propose_pricing,
    render_pricing,
    resolve_product,
)
from tools.sales.seed import seed_sample_company


@pytest.fixture
def seeded() -> None:
    seed_sample_company()


def _contains_figure(text: str, amount: Decimal) -> bool:
    """True when the amount appears as a whole number (68000 or 68,000), not as part of a larger one."""
    whole = f"{int(amount)}"
    grouped = f"{int(amount):,}"
    pattern = rf"(?<!\d)(?<!\d[,.])(?:{re.escape(whole)}|{re.escape(grouped)})(?![,.]?\d)"
    return re.search(pattern, text) is not None


def test_three_distinct_strategies_with_exact_arithmetic(seeded: None) -> None:
    proposal = propose_pricing("X3", 20, customer="华东人民医院")
    assert [strategy.key for strategy in proposal.strategies] == ["within_authority", "value_bundle", "competitive"]
    within, bundle, competitive = proposal.strategies
    assert within.approver == "rep"
    assert bundle.concessions and bundle.discount < within.discount
    assert competitive.approver in ("manager", "vp")
    for strategy in proposal.strategies:
        assert strategy.total == strategy.unit_price * 20
        assert strategy.gross_margin == strategy.total - (strategy.unit_cost + strategy.concession_cost_per_unit) * 20
        assert 2 <= len(strategy.anchors) <= 3
        assert all(anchor.outcome in ("won", "lost") for anchor in strategy.anchors)
        assert strategy.rationale_en and strategy.rationale_zh


def test_anchors_prefer_the_same_customer_and_product(seeded: None) -> None:
    proposal = propose_pricing("QM-X3", 20, customer="Huadong People's Hospital")
    anchors = proposal.strategies[0].anchors
    assert any(anchor.same_customer for anchor in anchors)
    from sqlmodel import select

    from tools.db.tables import Deal, sales_session

    with sales_session() as session:
        skus = {session.exec(select(Deal.product_sku).where(Deal.ref == anchor.deal_ref)).one() for anchor in anchors}
    assert skus == {"QM-X3"}


def test_request_below_floor_is_clamped_and_says_so(seeded: None) -> None:
    product = resolve_product("X3")
    proposal = propose_pricing("X3", 10, competitor_price=product.floor_price - 5000)
    competitive = proposal.strategies[-1]
    assert proposal.request_below_floor
    assert competitive.clamped_to_floor
    assert competitive.unit_price == product.floor_price
    assert competitive.approver == "vp"  # 20% off list: the policy's VP band
    assert "below" in competitive.rationale_en and "低于" in competitive.rationale_zh


def test_customer_ask_within_authority_is_matched_without_approval(seeded: None) -> None:
    product = resolve_product("G5")
    ask = product.list_price * Decimal("0.94")  # 6% off: inside the rep's 8%
    proposal = propose_pricing("G5", 30, customer_ask=ask)
    within = proposal.strategies[0]
    assert within.approver == "rep"
    assert within.unit_price == ask.quantize(Decimal(1))


def test_rep_view_and_text_never_show_floor_cost_or_margin(seeded: None) -> None:
    product = resolve_product("X3")
    proposal = propose_pricing("X3", 20, customer="华东人民医院", competitor_price=Decimal(50000))
    for language in ("zh", "en"):
        rep_text = render_pricing(proposal, "rep", language)
        assert not _contains_figure(rep_text, product.floor_price)
        assert not _contains_figure(rep_text, product.unit_cost)
        assert "毛利" not in rep_text and "margin" not in rep_text.lower()
        manager_text = render_pricing(proposal, "manager", language)
        assert _contains_figure(manager_text, product.floor_price)
        assert _contains_figure(manager_text, product.unit_cost)
    rep_view = proposal.view_for_role("rep")
    for strategy in rep_view["strategies"]:
        assert not {"unit_cost", "floor_price", "gross_margin", "gross_margin_rate"} & set(strategy)
    # The clamped strategy sits exactly on the floor, so its price is withheld from the rep.
    assert rep_view["strategies"][-1]["unit_price"] is None
    manager_view = proposal.view_for_role("manager")
    assert Decimal(manager_view["strategies"][-1]["floor_price"]) == product.floor_price
    # Below the rep's band every price reads the same for a rep; the manager sees the real approver.
    assert "needs manager approval" in render_pricing(proposal, "rep", "en")
    assert "VP" not in render_pricing(proposal, "rep", "en")
    assert "needs VP approval" in render_pricing(proposal, "manager", "en")


def test_product_resolution_by_sku_alias_and_name() -> None:
    assert resolve_product("qm-x3p").sku == "QM-X3P"
    assert resolve_product("X3 Pro").sku == "QM-X3P"
    assert resolve_product("清泉X3").sku == "QM-X3"
    assert resolve_product("Qingquan G5 Lite Edge Gateway").sku == "QI-G5L"
    with pytest.raises(PricingError, match="unknown product"):
        resolve_product("Z9")


def test_bad_requests_get_readable_errors() -> None:
    with pytest.raises(PricingError, match="quantity"):
        propose_pricing("X3", 0, record=False)
    with pytest.raises(PricingError, match="positive"):
        propose_pricing("X3", 1, competitor_price=Decimal(-5), record=False)


def test_proposal_is_recorded_as_a_suggestion(seeded: None) -> None:
    from tools.db.tables import Suggestion, sales_session

    proposal = propose_pricing("V8", 12, customer="成都西部医疗中心", user="chen.jie")
    assert proposal.suggestion_id
    with sales_session() as session:
        stored = session.get(Suggestion, proposal.suggestion_id)
    assert stored is not None and stored.kind == "pricing"
    assert stored.payload["sku"] == "QM-V8"
    assert any(source.get("table") == "deals" and source["refs"] for source in stored.sources)


def test_policy_file_setting_is_honoured(tmp_path, monkeypatch) -> None:
    from salesbot.settings import SAMPLES_DIR, reset_runtime

    text = (SAMPLES_DIR / "policy" / "pricing_policy.yaml").read_text(encoding="utf-8")
    custom = tmp_path / "policy.yaml"
    custom.write_text(text.replace("max_discount: 0.08", "max_discount: 0.02"), encoding="utf-8")
    monkeypatch.setenv("SALESBOT_PRICING_POLICY_FILE", str(custom))
    reset_runtime()
    assert load_pricing_policy().approval_levels[0].max_discount == Decimal("0.02")
    proposal = propose_pricing("X3", 50, record=False)
    assert proposal.strategies[0].discount <= Decimal("0.02")


@pytest.mark.parametrize("offset", [-2, -1, 0, 1, 2])
def test_band_edges_are_decided_exactly_not_by_the_rounded_rate(offset: int) -> None:
    # X3 at 62,560 is exactly 8% off (rep); 62,559 is 8.0015% off, which rounds to 8.00% but needs a manager.
    list_price = resolve_product("X3").list_price
    for band_limit, below_or_at, above in ((Decimal("0.08"), "rep", "manager"), (Decimal("0.15"), "manager", "vp")):
        price = list_price * (1 - band_limit) + offset
        competitive = propose_pricing("X3", 5, customer_ask=price, record=False).strategies[-1]
        assert competitive.unit_price == price
        assert competitive.approver == (below_or_at if offset >= 0 else above)


def test_products_resolve_through_the_registry_longest_alias_first() -> None:
    from tools.sales.pricing import find_product_in_text

    assert find_product_in_text("X3 Pro 20台怎么报价").sku == "QM-X3P"  # type: ignore[union-attr]
    assert find_product_in_text("quote 20 X3 monitors").sku == "QM-X3"  # type: ignore[union-attr]
    assert find_product_in_text("G5 Lite 和 G5 哪个好").sku == "QI-G5L"  # type: ignore[union-attr]
    product = resolve_product("清泉 G5 Lite")
    assert (product.sku, product.name_zh, product.name_en) == ("QI-G5L", "清泉 G5 Lite 边缘网关",
                                                               "Qingquan G5 Lite Edge Gateway")


def test_without_a_configured_policy_the_error_says_what_to_set(monkeypatch) -> None:
    from salesbot.errors import UserFacingError
    from salesbot.settings import reset_runtime
    from tools.sales.pricing import PricingError

    monkeypatch.delenv("SALESBOT_PRICING_POLICY_FILE")
    reset_runtime()
    with pytest.raises(PricingError) as error:
        load_pricing_policy()
    assert "no pricing policy configured" in str(error.value) and "SALESBOT_PRICING_POLICY_FILE" in str(error.value)
    assert isinstance(error.value, UserFacingError) and isinstance(error.value, ValueError)
