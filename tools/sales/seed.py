"""Deterministic sample data: the company's customers, products, 330 historical deals and open opportunities.

The same random seed always yields the same rows; every row has a stable key (customer key, SKU, deal ref,
opportunity ref), so running the seed twice inserts nothing the second time.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_CEILING, Decimal

from sqlmodel import select

from tools.db.tables import Customer, Deal, Opportunity, Product, sales_session
from tools.sales.customers import company_customers, load_company
from tools.sales.pricing import load_pricing_policy

SEED = 20260101
DEAL_COUNT = 330
FIRST_DEAL_DAY = date(2024, 1, 1)
LAST_DEAL_DAY = date(2026, 10, 31)

# Which products each industry buys, with relative weights (previous generations fade out over time).
_PRODUCT_MIX = {
    "hospital": {"QM-X3": 5, "QM-X3P": 2, "QM-X2": 2, "QM-V8": 3},
    "default": {"QI-G5": 5, "QI-G5L": 3, "QI-G3": 2, "QI-S2": 4},
}
_QUANTITY_RANGES = {"QM-X3": (2, 40), "QM-X3P": (1, 20), "QM-X2": (2, 30), "QM-V8": (5, 80),
                    "QI-G5": (5, 120), "QI-G5L": (10, 150), "QI-G3": (5, 80), "QI-S2": (50, 600)}
_PREVIOUS_GENERATION = {"QM-X2", "QI-G3"}
_STAGES_OPEN = ["prospecting", "qualification", "proposal", "negotiation"]
_OBJECTIONS = ["价格偏高 / price above budget", "担心交付周期 / worried about delivery time",
               "需要与现有HIS系统集成 / needs HIS integration", "售后响应速度 / after-sales response time",
               "竞品报价更低 / competitor quoted lower"]
_NEXT_STEPS = ["安排现场演示 / on-site demo", "发送正式报价 / send formal quote", "约采购科长面谈 / meet procurement",
               "提交技术方案 / submit technical proposal", "安排试用 / arrange a trial"]


@dataclass
class SeedReport:
    customers: int
    products: int
    deals: int
    opportunities: int

    def total(self) -> int:
        return self.customers + self.products + self.deals + self.opportunities


def _reps_by_region() -> dict[str, str]:
    reps = load_company().get("reps", [])
    return {rep["region"]: rep["user"] for rep in reps if rep.get("role") == "rep"}


def _competitors_by_line() -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for competitor in load_company().get("competitors", []):
        grouped.setdefault(competitor["line"], []).append(competitor["name_en"])
    return grouped


def _build_deals(products: dict[str, Product]) -> list[Deal]:
    """Realistic history: discounts mostly 0–20 %, never at or below the floor, wins likelier with
    a deeper discount and rarer against a competitor."""
    generator = random.Random(SEED)
    customers = company_customers()
    reps = _reps_by_region()
    competitors = _competitors_by_line()
    span_days = (LAST_DEAL_DAY - FIRST_DEAL_DAY).days
    deals: list[Deal] = []
    for number in range(1, DEAL_COUNT + 1):
        customer = generator.choice(customers)
        closed_on = FIRST_DEAL_DAY + timedelta(days=generator.randint(0, span_days))
        mix = dict(_PRODUCT_MIX["hospital" if customer.industry == "hospital" else "default"])
        if closed_on.year >= 2026:
            for sku in _PREVIOUS_GENERATION:
                if sku in mix:
                    mix[sku] = max(1, mix[sku] // 2)
        sku = generator.choices(list(mix), weights=list(mix.values()))[0]
        product = products[sku]
        low, high = _QUANTITY_RANGES[sku]
        quantity = int(round(low + (high - low) * generator.random() ** 2))
        has_competitor = generator.random() < 0.55
        competitor = generator.choice(competitors.get(product.line, [None])) if has_competitor else None
        discount_target = min(0.24, max(0.0, generator.gauss(0.07 + (0.04 if competitor else 0.0), 0.045)))
        raw_price = product.list_price * (1 - Decimal(str(round(discount_target, 4))))
        unit_price = (raw_price / 10).quantize(Decimal(1), rounding=ROUND_CEILING) * 10
        # Strictly above the floor: historical prices must never let anyone read the floor off an anchor.
        unit_price = min(product.list_price, max(unit_price, product.floor_price + 10 * generator.randint(1, 30)))
        discount = ((product.list_price - unit_price) / product.list_price).quantize(Decimal("0.0001"))
        win_probability = 0.45 + 1.6 * float(discount) - (0.15 if competitor else 0.0)
        outcome = "won" if generator.random() < min(0.9, max(0.1, win_probability)) else "lost"
        deals.append(Deal(
            ref=f"D-{closed_on.year}-{number:04d}", customer_key=customer.key, product_sku=sku, quantity=quantity,
            list_price=product.list_price, unit_price=unit_price, discount=discount, amount=unit_price * quantity,
            outcome=outcome, closed_on=closed_on, rep=reps.get(customer.region, "zhao.min"),
            competitor=competitor if competitor else None, region=customer.region,
        ))
    return deals


def _build_opportunities(products: dict[str, Product]) -> list[Opportunity]:
    generator = random.Random(SEED + 1)
    reps = _reps_by_region()
    competitors = _competitors_by_line()
    opportunities = []
    for number, customer in enumerate(company_customers(), start=1):
        line_skus = list(_PRODUCT_MIX["hospital" if customer.industry == "hospital" else "default"])
        sku = generator.choice(line_skus)
        product = products[sku]
        low, high = _QUANTITY_RANGES[sku]
        quantity = generator.randint(low, high)
        amount = product.list_price * quantity
        competitor = generator.choice(competitors[product.line]) if generator.random() < 0.6 else None
        opportunities.append(Opportunity(
            ref=f"OPP-{number:04d}", customer_key=customer.key, customer_name=customer.name_zh, product_sku=sku,
            stage=generator.choice(_STAGES_OPEN), amount=amount,
            budget=(amount * Decimal(str(generator.choice([0.8, 0.85, 0.9, 1.0])))).quantize(Decimal(1)),
            next_step=generator.choice(_NEXT_STEPS), competitor=competitor,
            objections="; ".join(generator.sample(_OBJECTIONS, k=generator.randint(0, 2))) or None,
            owner=reps.get(customer.region, "zhao.min"),
        ))
    return opportunities


def seed_sample_company() -> SeedReport:
    """Insert whatever part of the sample company is missing; returns how many rows were added."""
    policy = load_pricing_policy()
    added = SeedReport(0, 0, 0, 0)
    with sales_session() as session:
        existing_customers = set(session.exec(select(Customer.key)).all())
        for customer in company_customers():
            if customer.key not in existing_customers:
                session.add(Customer(**customer.model_dump()))
                added.customers += 1
        existing_products = {product.sku: product for product in session.exec(select(Product)).all()}
        for product_policy in policy.products:
            if product_policy.sku not in existing_products:
                product = Product(sku=product_policy.sku, name_zh=product_policy.name_zh,
                                  name_en=product_policy.name_en, line=product_policy.line,
                                  list_price=product_policy.list_price, unit_cost=product_policy.unit_cost,
                                  floor_price=product_policy.floor_price)
                session.add(product)
                existing_products[product.sku] = product
                added.products += 1
        session.flush()
        existing_deals = set(session.exec(select(Deal.ref)).all())
        for deal in _build_deals(existing_products):
            if deal.ref not in existing_deals:
                session.add(deal)
                added.deals += 1
        existing_opportunities = set(session.exec(select(Opportunity.ref)).all())
        for opportunity in _build_opportunities(existing_products):
            if opportunity.ref not in existing_opportunities:
                session.add(opportunity)
                added.opportunities += 1
        session.commit()
    return added
