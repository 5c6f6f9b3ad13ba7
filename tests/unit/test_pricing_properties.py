"""Property test: over random products, quantities, competitor prices and asks, the policy always holds."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import SAMPLE_POLICY_FILE
from tools.sales.pricing import load_pricing_policy, propose_pricing
from tools.sales.seed import seed_sample_company

POLICY = load_pricing_policy(SAMPLE_POLICY_FILE)
SKUS = [product.sku for product in POLICY.products]


def expected_approver(unit_price: Decimal, list_price: Decimal) -> str:
    """Written independently of the engine: exact rational discount, first band that covers it."""
    discount = Fraction(list_price - unit_price) / Fraction(list_price)
    for band in POLICY.approval_levels:
        if discount <= Fraction(str(band.max_discount)):
            return band.approver
    return POLICY.approval_levels[-1].approver


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    sku=st.sampled_from(SKUS),
    quantity=st.integers(min_value=1, max_value=1000),
    competitor_ratio=st.one_of(st.none(), st.fractions(min_value=Fraction(3, 10), max_value=Fraction(13, 10))),
    ask_ratio=st.one_of(st.none(), st.fractions(min_value=Fraction(1, 2), max_value=Fraction(11, 10))),
)
def test_no_floor_breach_bands_match_and_margin_is_exact(sku, quantity, competitor_ratio, ask_ratio) -> None:
    seed_sample_company()  # idempotent: the first example fills the database, the rest insert nothing
    product = next(item for item in POLICY.products if item.sku == sku)

    def price_from(ratio: Fraction | None) -> Decimal | None:
        if ratio is None:
            return None
        return (product.list_price * Decimal(ratio.numerator) / Decimal(ratio.denominator)).quantize(Decimal("0.01"))

    competitor_price, customer_ask = price_from(competitor_ratio), price_from(ask_ratio)
    proposal = propose_pricing(sku, quantity, competitor_price=competitor_price, customer_ask=customer_ask,
                               record=False)
    assert len(proposal.strategies) == 3
    targets = [price for price in (competitor_price, customer_ask) if price is not None]
    for strategy in proposal.strategies:
        assert strategy.unit_price >= product.floor_price
        assert strategy.approver == expected_approver(strategy.unit_price, product.list_price)
        concession_cost = sum((product.list_price * bundle.cost_ratio for bundle in strategy.concessions), Decimal(0))
        assert strategy.concession_cost_per_unit == concession_cost
        assert Fraction(strategy.total) == Fraction(strategy.unit_price) * quantity
        expected_margin = (Fraction(strategy.unit_price) - Fraction(product.unit_cost)
                           - Fraction(concession_cost)) * quantity
        assert Fraction(strategy.gross_margin) == expected_margin
    competitive = proposal.strategies[-1]
    assert competitive.clamped_to_floor == (bool(targets) and min(targets) < product.floor_price)
    assert proposal.request_below_floor == competitive.clamped_to_floor
    assert proposal.strategies[0].approver == "rep"
