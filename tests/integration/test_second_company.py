"""Every capability on a second, independent company (tests/data/company_b: cold-chain equipment, written without
looking at the demo company): its own documents, registry, pricing policy and sales database, and nothing of the
demo company configured. If any of these needed a name from code, they would fail here."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.conftest import TESTDATA_DIR, building_template, restore_template

COMPANY_B = TESTDATA_DIR / "company_b"
KNOWLEDGE = COMPANY_B / "knowledge"
POLICY_FILE = KNOWLEDGE / "policy" / "pricing_policy.yaml"
ENTITIES_FILE = KNOWLEDGE / "entities.yaml"
SEED_FILE = COMPANY_B / "seed.yaml"
CONVERSATIONS = COMPANY_B / "conversations"

pytestmark = pytest.mark.slow


def _company_b_environment() -> dict[str, str]:
    # Only company B's files: no demo registry file, the company's own policy and seed parameters.
    return {"SALESBOT_PRICING_POLICY_FILE": str(POLICY_FILE), "SALESBOT_SEED_FILE": str(SEED_FILE),
            "SALESBOT_ENTITIES_FILE": ""}


@pytest.fixture(scope="module")
def company_b_template(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[Path]:
    """Company B's documents ingested and its sales database seeded, once for the module."""
    from knowledge.ingest import ingest_paths
    from tools.sales.pricing import load_pricing_policy
    from tools.sales.seed import seed_sales_database

    template = tmp_path_factory.mktemp("company-b-home")
    with building_template(request, template, "template_company_b",
                           {**_company_b_environment(), "SALESBOT_ENTITIES_FILE": None}):
        report = ingest_paths([KNOWLEDGE])
        assert report.ok, [failure.model_dump() for failure in report.failed]
        seed_sales_database(SEED_FILE, ENTITIES_FILE, load_pricing_policy(POLICY_FILE))
    yield template


@pytest.fixture()
def company_b(company_b_template: Path, salesbot_home: Path, monkeypatch: pytest.MonkeyPatch,
              request: pytest.FixtureRequest) -> Path:
    from salesbot.settings import reset_runtime

    restore_template(request, company_b_template, "template_company_b", salesbot_home)
    for name, value in _company_b_environment().items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("SALESBOT_ENTITIES_FILE", raising=False)
    reset_runtime()
    return salesbot_home


def _ask(question: str, role: str = "rep", user: str = "zhou.lin", thread: str = "b-1"):  # type: ignore[no-untyped-def]
    from agent.models import TurnRequest
    from agent.service import answer_turn

    return answer_turn(TurnRequest(text=question, role=role, user_id=user, thread_id=thread))


def test_a_task_for_a_customer_known_only_from_a_contract_party_line(company_b: Path) -> None:
    # 上海申冷医药物流有限公司 is in no registry file and no front matter: only "甲方（买方）：…" in its contract.
    result = _ask("给上海申冷医药物流有限公司下周三安排一次回访")
    assert result.route == "task" and result.pending_actions, result.answer
    action = result.pending_actions[0]
    assert action.customer == "上海申冷医药物流有限公司" and action.status == "pending"
    # Without its legal form, as people say it.
    assert _ask("提醒我明天给上海申冷医药物流打电话", thread="b-2").pending_actions[0].customer == "上海申冷医药物流有限公司"


def test_a_task_for_an_english_customer_known_only_from_front_matter(company_b: Path) -> None:
    result = _ask("Schedule a follow-up call with Al Maha Pharmaceutical Distribution next Friday", thread="b-3")
    assert result.pending_actions, result.answer
    assert result.pending_actions[0].customer == "Al Maha Pharmaceutical Distribution LLC"


def test_pricing_follows_the_second_companys_own_policy(company_b: Path) -> None:
    from tools.sales.pricing import propose_pricing

    proposal = propose_pricing("MD-3600", 72, customer="汇鲜超市", competitor_price=Decimal("20000"), record=False)
    assert proposal.list_price == Decimal("26800") and proposal.customer is not None
    assert proposal.customer.key == "huixian-markets"
    within, _bundle, competitive = proposal.strategies
    # Company B's rep band is 3 %; the competitor's 20,000 is under its 22,000 floor: clamped, VP band.
    assert within.discount <= Decimal("0.03") and within.approver == "rep"
    assert competitive.unit_price == Decimal("22000") and competitive.clamped_to_floor
    assert competitive.approver == "vp"
    assert all(strategy.unit_price >= Decimal("22000") for strategy in proposal.strategies)


def test_pricing_in_chat_by_product_name_and_short_customer_name(company_b: Path) -> None:
    result = _ask("给汇鲜报价：节能立式风幕展示柜 72台，竞品报价2.2万", thread="b-4")
    assert result.route == "pricing", result.answer
    assert result.pricing is not None and result.pricing["sku"] == "MD-3600"
    assert "22,000" not in result.answer and "底价" not in result.answer  # no floor figure for a rep


def test_an_opportunity_card_recognises_a_competitor_known_only_from_documents(company_b: Path) -> None:
    from tools.sales.opportunity import extract_opportunity_card

    card = extract_opportunity_card((CONVERSATIONS / "call_transcript_zh.txt").read_text(encoding="utf-8"))
    assert card.customer == "苏州汇鲜超市连锁有限公司"
    assert card.competitor is not None and "雪麒" in card.competitor
    assert card.budget == 1_650_000 and card.product == "MD-3600"
    assert card.next_step and "勘测" in card.next_step


def test_an_english_email_gives_an_opportunity_card_for_an_overseas_customer(company_b: Path) -> None:
    from tools.sales.opportunity import extract_opportunity_card

    card = extract_opportunity_card((CONVERSATIONS / "email_en.txt").read_text(encoding="utf-8"))
    assert card.customer == "Saigon FreshMart Joint Stock Company"
    assert card.competitor is not None and "Frigonord" in card.competitor


def test_a_data_question_over_the_second_companys_sales_database(company_b: Path) -> None:
    from salesbot.database import sales_engine

    result = _ask("哪个区域成交额最高？", role="manager", user="chen.lixin", thread="b-5")
    assert result.route == "data" and result.table is not None, result.answer
    with sales_engine().connect() as connection:
        expected = connection.execute(text(
            "SELECT region, SUM(amount) FROM deals WHERE outcome = 'won' GROUP BY region ORDER BY 2 DESC")).all()
    assert result.table.rows[0][0] == expected[0][0]
    assert float(result.table.rows[0][-1]) == pytest.approx(float(expected[0][1]))


def test_a_data_question_naming_a_customer_by_its_short_form(company_b: Path) -> None:
    result = _ask("汇鲜超市的成交额是多少", role="manager", user="chen.lixin", thread="b-7")
    assert result.route == "data" and result.table is not None, result.answer
    assert "'苏州汇鲜超市连锁有限公司'" in result.table.sql


def test_a_cited_answer_from_the_second_companys_contract(company_b: Path) -> None:
    result = _ask("上海申冷医药物流的冷库质保期是多久？", thread="b-6")
    assert not result.refused, result.answer
    assert "24" in result.answer
    assert any(citation.source == "shenleng_coldroom_purchase_zh.md" for citation in result.citations)


def test_the_manager_only_policy_of_the_second_company_stays_with_managers(company_b: Path) -> None:
    from knowledge.retriever import retrieve_with_role_filter

    rep_sources = {chunk.source for chunk in retrieve_with_role_filter("折扣 审批 底价 floor price", "rep", k=50)}
    manager_sources = {chunk.source for chunk in retrieve_with_role_filter("折扣 审批 底价 floor price", "manager", k=50)}
    assert "pricing_policy.yaml" not in rep_sources
    assert "pricing_policy.yaml" in manager_sources
