"""The seed is generic: any company's seed.yaml, entities.yaml and pricing policy give a deterministic database."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select

from knowledge.registry import read_registry_file
from tests.conftest import TESTDATA_DIR
from tools.db.tables import Customer, Deal, Opportunity, sales_session
from tools.sales.pricing import load_pricing_policy
from tools.sales.seed import SeedDataError, seed_sales_database

COMPANY_B = TESTDATA_DIR / "company_b"
SEED_FILE = COMPANY_B / "seed.yaml"
ENTITIES_FILE = COMPANY_B / "knowledge" / "entities.yaml"
POLICY_FILE = COMPANY_B / "knowledge" / "policy" / "pricing_policy.yaml"


def test_a_second_company_seeds_from_its_own_files_only() -> None:
    report = seed_sales_database(SEED_FILE, ENTITIES_FILE, load_pricing_policy(POLICY_FILE))
    assert (report.customers, report.products, report.deals, report.opportunities) == (6, 5, 100, 6)
    with sales_session() as session:
        customers = {row.key: row for row in session.exec(select(Customer)).all()}
        deals = session.exec(select(Deal)).all()
        opportunities = session.exec(select(Opportunity)).all()
    assert customers["saigon-freshmart"].region == "海外" and customers["kangyuan-pharma"].industry == "pharma"
    reps = {"zhou.lin", "he.jun", "liang.wei", "ma.yue", "han.zhenyu"}
    assert {deal.rep for deal in deals} <= reps and {deal.customer_key for deal in deals} <= set(customers)
    competitor_names = {str(entry.attributes["name_en"]) for entry in read_registry_file(ENTITIES_FILE)
                        if entry.type == "competitor"}
    assert {deal.competitor for deal in deals} - {None} == competitor_names
    assert all(deal.unit_price > 0 and deal.closed_on.isoformat() >= "2024-03-01" for deal in deals)
    assert len(opportunities) == 6
    again = seed_sales_database(SEED_FILE, ENTITIES_FILE, load_pricing_policy(POLICY_FILE))
    assert again.total() == 0  # idempotent


def test_a_seed_file_naming_an_unpriced_sku_is_refused(tmp_path: Path) -> None:
    text = SEED_FILE.read_text(encoding="utf-8").replace("TM-9G: 3, CR-80S: 1}", "TM-9G: 3, ZZ-1: 1}")
    text = text.replace("quantity_ranges: {", "quantity_ranges: {ZZ-1: [1, 2], ")
    seed_file = tmp_path / "seed.yaml"
    seed_file.write_text(text, encoding="utf-8")
    with pytest.raises(SeedDataError, match="ZZ-1"):
        seed_sales_database(seed_file, ENTITIES_FILE, load_pricing_policy(POLICY_FILE))
