"""The pricing tool is no floor-price oracle: below the rep's band every price reads the same for a rep;
probing is rate-limited and audited; quantities and prices are bounded (issue 19, items 1 and 13)."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from typer.testing import CliRunner

from connectors.cli import app
from tools.sales.pricing import (
    MAX_QUANTITY,
    PricingError,
    load_pricing_policy,
    price_at_discount,
    propose_pricing,
    render_pricing,
    resolve_product,
)
from tools.sales.seed import seed_sample_company

runner = CliRunner()


@pytest.fixture
def seeded() -> None:
    seed_sample_company()


def _rep_limit(sku: str) -> Decimal:
    product = resolve_product(sku)
    rep_band = next(band for band in load_pricing_policy().approval_levels if band.approver == "rep")
    return max(product.floor_price, price_at_discount(product.list_price, rep_band.max_discount))


def _probe_prices(sku: str) -> list[Decimal]:
    """Prices below the rep's band: far below, just under and just over the floor, up to the band edge."""
    floor, limit = resolve_product(sku).floor_price, _rep_limit(sku)
    return sorted({Decimal(1000), floor - 500, floor - 1, floor, floor + 1, floor + 500, limit - 1,
                   (floor + limit) // 2})


_SUGGESTION = re.compile(r"S[0-9A-Z]{4,}")


def _normalised_text(text: str) -> str:
    return _SUGGESTION.sub("S…", text)


def _normalised_view(view: dict[str, Any]) -> dict[str, Any]:
    """The rep view minus what differs by construction: the suggestion id and the echo of the rep's own input."""
    data = json.loads(json.dumps(view))
    data.pop("suggestion_id", None)
    data.pop("competitor_price", None)
    data.pop("customer_ask", None)
    data.pop("text", None)
    return data


@pytest.mark.parametrize("sku", ["QM-X3", "QI-G5"])
def test_bisecting_the_competitor_price_tells_a_rep_nothing_below_the_band(seeded: None, sku: str) -> None:
    texts, views = set(), []
    for price in _probe_prices(sku):
        proposal = propose_pricing(sku, 20, competitor_price=price, record=False)
        for language in ("zh", "en"):
            texts.add((language, _normalised_text(render_pricing(proposal, "rep", language))))
        views.append(_normalised_view(proposal.view_for_role("rep")))
    assert len(texts) == 2, texts  # one text per language, whatever the price
    assert all(view == views[0] for view in views)
    rep_text = " ".join(text for _language, text in texts)
    assert "低于政策" not in rep_text and "below what policy allows" not in rep_text
    competitive = views[0]["strategies"][-1]
    assert competitive["unit_price"] is None and competitive["approver"] == "manager"
    assert competitive["clamped_to_floor"] is None and views[0]["request_below_floor"] is None
    # The manager still sees the clamp and the warning.
    below = propose_pricing(sku, 20, competitor_price=resolve_product(sku).floor_price - 1, record=False)
    assert "below what policy allows" in render_pricing(below, "manager", "en")
    assert below.view_for_role("manager")["strategies"][-1]["clamped_to_floor"] is True


def test_the_same_holds_for_the_cli_and_the_chat_answer(seeded: None) -> None:
    from agent.models import TurnRequest
    from agent.service import answer_turn

    floor = resolve_product("X3").floor_price
    cli_texts, cli_views, chat_texts, chat_pricing = set(), [], set(), []
    for price in (floor - 1, floor + 1):
        text = runner.invoke(app, ["price", "X3", "--qty", "20", "--competitor-price", str(price), "--role", "rep",
                                   "--as", "probe.rep"])
        assert text.exit_code == 0, text.output
        cli_texts.add(_normalised_text(text.stdout))
        data = runner.invoke(app, ["price", "X3", "--qty", "20", "--competitor-price", str(price), "--role", "rep",
                                   "--as", "probe.rep", "--json"])
        assert data.exit_code == 0, data.output
        parsed = json.loads(data.stdout)
        cli_texts.add(_normalised_text(parsed["text"]))
        cli_views.append(_normalised_view(parsed))
        result = answer_turn(TurnRequest(text=f"X3 20台怎么报价，竞品报价{price}元", user_id="probe.chat", role="rep",
                                         thread_id=f"t-probe-{price}"))
        assert result.route == "pricing", result.answer
        chat_texts.add(_normalised_text(result.answer))
        assert result.pricing is not None
        chat_pricing.append(_normalised_view(result.pricing))
    assert len(cli_texts) == 2  # the plain text and the JSON's text field, each the same for both prices
    assert cli_views[0] == cli_views[1]
    assert len(chat_texts) == 1 and chat_pricing[0] == chat_pricing[1]
    assert "低于政策" not in next(iter(chat_texts))


def test_rep_anchors_never_sit_near_the_floor(seeded: None) -> None:
    from tools.sales.pricing import FLOOR_ANCHOR_MARGIN

    for product in load_pricing_policy().products:
        proposal = propose_pricing(product.sku, 20, record=False)
        for strategy in proposal.view_for_role("rep")["strategies"]:
            for anchor in strategy["anchors"]:
                assert abs(Decimal(anchor["unit_price"]) - product.floor_price) > FLOOR_ANCHOR_MARGIN


def test_anchor_filter_drops_a_deal_just_above_the_floor(seeded: None) -> None:
    from sqlmodel import select

    from salesbot import clock
    from tools.db.tables import Deal, sales_session

    product = resolve_product("X3")
    within_discount = propose_pricing("X3", 20, record=False).strategies[0].discount
    with sales_session() as session:
        deal = session.exec(select(Deal).where(Deal.product_sku == "QM-X3")).first()
        assert deal is not None
        # A deal that ranks first for strategy A (same quantity and discount, closed today) at floor + 100.
        deal.unit_price = product.floor_price + 100
        deal.discount = within_discount
        deal.quantity = 20
        deal.closed_on = clock.today()
        session.add(deal)
        session.commit()
        ref = deal.ref
    proposal = propose_pricing("X3", 20, record=False)
    manager_refs = {anchor["deal_ref"] for strategy in proposal.view_for_role("manager")["strategies"]
                    for anchor in strategy["anchors"]}
    rep_refs = {anchor["deal_ref"] for strategy in proposal.view_for_role("rep")["strategies"]
                for anchor in strategy["anchors"]}
    assert ref in manager_refs and ref not in rep_refs
    assert ref not in render_pricing(proposal, "rep", "zh") and ref in render_pricing(proposal, "manager", "zh")


def test_probing_is_rate_limited_per_user_and_audited(seeded: None, monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlmodel import select

    from salesbot import clock
    from tools.db.tables import AuditEvent, sales_session

    limit = load_pricing_policy().probe_limit
    start = clock.now()
    monkeypatch.setattr(clock, "now", lambda: start)
    for step in range(limit.requests):
        propose_pricing("X3", 5, competitor_price=Decimal(60000 - step), user="mallory", role="rep")
    with pytest.raises(PricingError, match="too many pricing requests"):
        propose_pricing("X3", 5, competitor_price=Decimal(50000), user="mallory", role="rep")
    # Another user, a manager, and a request without a price are not limited.
    propose_pricing("X3", 5, competitor_price=Decimal(50000), user="alice", role="rep")
    propose_pricing("X3", 5, competitor_price=Decimal(50000), user="mallory", role="manager")
    propose_pricing("X3", 5, user="mallory", role="rep")
    with sales_session() as session:
        events = session.exec(select(AuditEvent).where(AuditEvent.actor == "mallory")).all()
    assert sum(event.event == "pricing_probe" for event in events) == limit.requests
    refused = [event for event in events if event.event == "pricing_probe_refused"]
    assert len(refused) == 1 and refused[0].detail["competitor_price"] == "50000"
    # The window passes: allowed again.
    monkeypatch.setattr(clock, "now", lambda: start + timedelta(minutes=limit.window_minutes + 1))
    propose_pricing("X3", 5, competitor_price=Decimal(50000), user="mallory", role="rep")


def test_cli_probe_limit_is_a_clear_error(seeded: None) -> None:
    limit = load_pricing_policy().probe_limit
    for step in range(limit.requests):
        ok = runner.invoke(app, ["price", "X3", "--qty", "1", "--competitor-price", str(60000 - step),
                                 "--role", "rep", "--as", "eve"])
        assert ok.exit_code == 0, ok.output
    refused = runner.invoke(app, ["price", "X3", "--qty", "1", "--competitor-price", "50000", "--role", "rep",
                                  "--as", "eve"])
    assert refused.exit_code != 0 and "too many pricing requests" in refused.output
    assert "Traceback" not in refused.output


# ---------------------------------------------------------------- item 13: bounded input


@pytest.mark.parametrize("quantity", [0, -3, MAX_QUANTITY + 1, 10 ** 12, True])
def test_quantities_are_bounded(quantity: Any) -> None:
    with pytest.raises(PricingError, match="quantity must be a whole number"):
        propose_pricing("X3", quantity, record=False)


@pytest.mark.parametrize("price", ["1e400", "NaN", "nan", "inf", "-Infinity", "-5", "0", "1e10", "abc", "9" * 500])
def test_prices_are_finite_positive_and_bounded(price: str) -> None:
    with pytest.raises(PricingError, match="price must be a positive amount"):
        propose_pricing("X3", 1, competitor_price=price, record=False)  # type: ignore[arg-type]
    with pytest.raises(PricingError, match="price must be a positive amount"):
        propose_pricing("X3", 1, customer_ask=price, record=False)  # type: ignore[arg-type]


@pytest.mark.parametrize("arguments", [
    ["--qty", "1000000000000"],
    ["--qty", "1", "--competitor-price", "1e400"],
    ["--qty", "1", "--competitor-price", "nan"],
    ["--qty", "1", "--ask", "inf"],
    ["--qty", "1", "--ask", "-1"],
])
def test_cli_refuses_absurd_quantities_and_prices_without_a_traceback(seeded: None, arguments: list[str]) -> None:
    result = runner.invoke(app, ["price", "X3", *arguments, "--role", "manager"])
    assert result.exit_code != 0
    assert ("quantity must be" in result.output) or ("price must be" in result.output)
    assert "Traceback" not in result.output and not isinstance(result.exception, (ValueError, ArithmeticError))


def test_chat_with_an_absurd_quantity_answers_clearly(seeded: None) -> None:
    from agent.models import TurnRequest
    from agent.service import answer_turn

    result = answer_turn(TurnRequest(text="X3 " + "9" * 60 + "台怎么报价", role="rep", thread_id="t-huge"))
    assert "quantity must be" in result.answer
