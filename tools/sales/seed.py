"""Deterministic demo sales data for a company: customers, products, historical deals and open opportunities.

Everything comes from data files: customers (and competitors) from an entities.yaml, products and prices from
the pricing policy, reps and the seed's parameters from a seed.yaml. The same file and seed always yield the
same rows; every row has a stable key (customer key, SKU, deal ref, opportunity ref), so seeding twice inserts
nothing the second time.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta
from decimal import ROUND_CEILING, Decimal
from pathlib import Path

from sqlmodel import select

from knowledge.registry import RegistryEntry, read_registry_file
from salesbot.settings import SAMPLES_DIR, get_settings
from salesbot.yaml_files import load_yaml_model
from tools.db.tables import Customer, Deal, Opportunity, Product, sales_session
from tools.sales.catalog import load_pricing_policy
from tools.sales.models import CustomerRef, PricingPolicy, SeedParameters

_STAGES_OPEN = ["prospecting", "qualification", "proposal", "negotiation"]


@dataclass
class SeedReport:
    customers: int
    products: int
    deals: int
    opportunities: int

    def total(self) -> int:
        return self.customers + self.products + self.deals + self.opportunities


@dataclass
class _SeedWorld:
    """What the generators draw from, read from the three files."""

    parameters: SeedParameters
    customers: list[CustomerRef]
    competitors_by_line: dict[str, list[str]]
    competitors_any_line: list[str]
    reps_by_region: dict[str, str]
    fallback_rep: str
    product_names: dict[str, tuple[str, str]]

    def competitors_for(self, line: str) -> list[str]:
        return self.competitors_by_line.get(line, []) + self.competitors_any_line

    def rep_for(self, region: str) -> str:
        return self.reps_by_region.get(region, self.fallback_rep)

    def mix_for(self, industry: str) -> dict[str, int]:
        return dict(self.parameters.product_mix.get(industry) or self.parameters.product_mix["default"])


def _latin_name(entry: RegistryEntry) -> str:
    name_en = str(entry.attributes.get("name_en") or "").strip()
    return name_en or next((alias for alias in entry.aliases if alias.isascii()), entry.name)


def _world(parameters: SeedParameters, entries: list[RegistryEntry]) -> _SeedWorld:
    customers = [CustomerRef(key=entry.key, name_zh=entry.name, name_en=_latin_name(entry),
                             region=str(entry.attributes.get("region") or ""),
                             industry=str(entry.attributes.get("industry") or ""),
                             city=str(entry.attributes.get("city") or ""))
                 for entry in entries if entry.type == "customer"]
    by_line: dict[str, list[str]] = {}
    any_line: list[str] = []
    for entry in entries:
        if entry.type == "competitor":
            line = str(entry.attributes.get("line") or "")
            (by_line.setdefault(line, []) if line else any_line).append(_latin_name(entry))
    reps = {rep.region: rep.user for rep in parameters.reps if rep.role == "rep"}
    # A customer in a region no rep covers belongs to the most senior person listed.
    seniority = {"vp": 0, "manager": 1, "rep": 2}
    fallback = min(parameters.reps, key=lambda rep: seniority.get(rep.role, 3)).user
    names = {entry.key: (entry.name, _latin_name(entry)) for entry in entries if entry.type == "product"}
    return _SeedWorld(parameters, customers, by_line, any_line, reps, fallback, names)


def _build_deals(world: _SeedWorld, products: dict[str, Product]) -> list[Deal]:
    """Realistic history: discounts mostly 0–20 %, never at or below the floor, wins likelier with
    a deeper discount and rarer against a competitor."""
    parameters = world.parameters
    generator = random.Random(parameters.seed)
    customers = world.customers
    first_day, last_day = parameters.first_deal_day, parameters.last_deal_day
    span_days = (last_day - first_day).days
    deals: list[Deal] = []
    for number in range(1, parameters.deal_count + 1):
        customer = generator.choice(customers)
        closed_on = first_day + timedelta(days=generator.randint(0, span_days))
        mix = world.mix_for(customer.industry)
        if closed_on.year >= last_day.year:  # previous generations fade out in the last year
            for sku in parameters.previous_generation:
                if sku in mix:
                    mix[sku] = max(1, mix[sku] // 2)
        sku = generator.choices(list(mix), weights=list(mix.values()))[0]
        product = products[sku]
        low, high = parameters.quantity_ranges[sku]
        quantity = int(round(low + (high - low) * generator.random() ** 2))
        has_competitor = generator.random() < 0.55
        competitor = generator.choice(world.competitors_for(product.line) or [None]) if has_competitor else None
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
            outcome=outcome, closed_on=closed_on, rep=world.rep_for(customer.region),
            competitor=competitor if competitor else None, region=customer.region,
        ))
    return deals


def _build_opportunities(world: _SeedWorld, products: dict[str, Product]) -> list[Opportunity]:
    parameters = world.parameters
    generator = random.Random(parameters.seed + 1)
    opportunities = []
    for number, customer in enumerate(world.customers, start=1):
        line_skus = list(world.mix_for(customer.industry))
        sku = generator.choice(line_skus)
        product = products[sku]
        low, high = parameters.quantity_ranges[sku]
        quantity = generator.randint(low, high)
        amount = product.list_price * quantity
        pool = world.competitors_for(product.line)
        competitor = generator.choice(pool) if generator.random() < 0.6 and pool else None
        opportunities.append(Opportunity(
            ref=f"OPP-{number:04d}", customer_key=customer.key, customer_name=customer.name_zh, product_sku=sku,
            stage=generator.choice(_STAGES_OPEN), amount=amount,
            budget=(amount * Decimal(str(generator.choice([0.8, 0.85, 0.9, 1.0])))).quantize(Decimal(1)),
            next_step=generator.choice(parameters.next_steps), competitor=competitor,
            objections="; ".join(generator.sample(parameters.objections, k=generator.randint(0, 2))) or None,
            owner=world.rep_for(customer.region),
        ))
    return opportunities


class SeedDataError(ValueError):
    """Seed parameters that do not fit the policy or the registry (a SKU without a price, no customers)."""


def seed_sales_database(seed_file: Path, entities_file: Path, policy: PricingPolicy) -> SeedReport:
    """Insert whatever part of the company's demo sales data is missing; returns how many rows were added."""
    parameters = load_yaml_model(Path(seed_file), SeedParameters)
    world = _world(parameters, read_registry_file(Path(entities_file)))
    if not world.customers:
        raise SeedDataError(f"{entities_file}: no customers to seed (entities of type customer)")
    priced = {product.sku for product in policy.products}
    unpriced = sorted({sku for mix in parameters.product_mix.values() for sku in mix} - priced)
    if unpriced:
        raise SeedDataError(f"{seed_file}: product_mix names SKUs the pricing policy lacks: {', '.join(unpriced)}")
    added = SeedReport(0, 0, 0, 0)
    with sales_session() as session:
        existing_customers = set(session.exec(select(Customer.key)).all())
        for customer in world.customers:
            if customer.key not in existing_customers:
                session.add(Customer(**customer.model_dump()))
                added.customers += 1
        existing_products = {product.sku: product for product in session.exec(select(Product)).all()}
        for product_policy in policy.products:
            if product_policy.sku not in existing_products:
                name_zh, name_en = world.product_names.get(product_policy.sku, (product_policy.sku, product_policy.sku))
                product = Product(sku=product_policy.sku, name_zh=name_zh, name_en=name_en, line=product_policy.line,
                                  list_price=product_policy.list_price, unit_cost=product_policy.unit_cost,
                                  floor_price=product_policy.floor_price)
                session.add(product)
                existing_products[product.sku] = product
                added.products += 1
        session.flush()
        existing_deals = set(session.exec(select(Deal.ref)).all())
        for deal in _build_deals(world, existing_products):
            if deal.ref not in existing_deals:
                session.add(deal)
                added.deals += 1
        existing_opportunities = set(session.exec(select(Opportunity.ref)).all())
        for opportunity in _build_opportunities(world, existing_products):
            if opportunity.ref not in existing_opportunities:
                session.add(opportunity)
                added.opportunities += 1
        session.commit()
    return added


DEMO_SEED_FILE = SAMPLES_DIR / "seed.yaml"
DEMO_ENTITIES_FILE = SAMPLES_DIR / "entities.yaml"
DEMO_POLICY_FILE = SAMPLES_DIR / "policy" / "pricing_policy.yaml"


def install_demo_pricing_policy() -> None:
    """Unless SALESBOT_PRICING_POLICY_FILE names another policy, install the demo company's policy as this home's
    policy (SALESBOT_HOME/pricing_policy.yaml), so pricing works after the demo too. Called by `salesbot demo`
    and the evaluation suite; the product itself has no default policy."""
    import shutil

    from salesbot.settings import reset_runtime

    settings = get_settings()
    home_policy = settings.home_dir / "pricing_policy.yaml"
    if settings.pricing_policy_file is None and not home_policy.exists():
        home_policy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(DEMO_POLICY_FILE, home_policy)
        reset_runtime()


def seed_sample_company() -> SeedReport:
    """`salesbot seed`: the configured company (SALESBOT_SEED_FILE, SALESBOT_ENTITIES_FILE,
    SALESBOT_PRICING_POLICY_FILE), the demo company's sample files for whatever is not configured."""
    settings = get_settings()
    policy = load_pricing_policy(settings.pricing_policy_file or DEMO_POLICY_FILE)
    return seed_sales_database(settings.seed_file or DEMO_SEED_FILE, settings.entities_file or DEMO_ENTITIES_FILE,
                               policy)
