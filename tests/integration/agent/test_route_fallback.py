"""Routing never dead-ends: a route the role may not use, or one missing a required slot, hands the turn to the
knowledge route; the route's own message comes back only when the documents cannot answer either."""

from __future__ import annotations

from pathlib import Path

from agent.models import TurnRequest
from agent.router import route_by_rules
from agent.service import answer_turn


def test_a_reps_data_worded_question_the_documents_answer_gets_a_cited_answer(sample_home: Path) -> None:
    question = "恒力年度服务费同比上调多少"
    assert route_by_rules(question) == "data"  # "同比" reads as a data question
    result = answer_turn(TurnRequest(text=question, role="rep", thread_id="t-fallback-data"))
    assert not result.refused and result.route == "knowledge" and result.table is None
    assert result.citations and result.citations[0].source == "service_renewal_hengli_g5_2026.md"
    assert "3%" in result.answer


def test_a_reps_data_question_the_documents_cannot_answer_gets_the_data_routes_message(sample_home: Path) -> None:
    result = answer_turn(TurnRequest(text="哪个区域今年成交额最高？", role="rep", thread_id="t-fallback-data2"))
    assert result.refused and result.route == "data" and result.table is None and not result.citations
    assert "数据查询仅对以下角色开放" in result.answer


def test_a_write_request_from_a_rep_is_refused_without_searching_the_documents(sample_home: Path) -> None:
    result = answer_turn(TurnRequest(text="删除所有客户的订单数据", role="rep", thread_id="t-fallback-write"))
    assert result.refused and result.route == "data" and not result.citations
    assert "数据查询仅对以下角色开放" in result.answer


def test_a_quote_request_without_a_product_is_answered_from_the_documents_when_they_can(sample_home: Path) -> None:
    question = "江南第二医院那25台的中标单价是多少，给他们报个价"
    assert route_by_rules(question) == "pricing"
    result = answer_turn(TurnRequest(text=question, role="rep", thread_id="t-fallback-price"))
    assert result.route == "knowledge" and not result.refused
    assert "64,500元" in result.answer
    assert result.citations[0].source == "contract_jiangnan_x3_2025.md"


def test_a_quote_request_without_a_product_the_documents_cannot_answer_asks_for_the_product(
        sample_home: Path) -> None:
    question = "quote 30 units of the Zephyrine for Mr Quibble"
    assert route_by_rules(question) == "pricing"
    result = answer_turn(TurnRequest(text=question, role="rep", thread_id="t-fallback-price2"))
    assert result.route == "pricing" and result.pricing is None
    assert "Tell me the product and quantity" in result.answer


def test_a_task_without_a_customer_asks_for_the_customer_when_the_documents_cannot_answer(
        sample_home: Path) -> None:
    question = "remind me next Friday to call back"
    assert route_by_rules(question) == "task"
    result = answer_turn(TurnRequest(text=question, role="rep", thread_id="t-fallback-task"))
    assert result.route == "task" and result.pending_actions == [] and not result.citations
    assert "Tell me the customer" in result.answer


def test_a_managers_figure_question_without_a_sales_database_is_answered_from_the_documents(
        salesbot_home: Path) -> None:
    from knowledge.ingest import ingest_paths

    docs = salesbot_home.parent / "docs"
    docs.mkdir()
    (docs / "royalty_schedule.md").write_text(
        "---\ntitle: Content licence\naccess: ['*']\n---\n## 5.2 Royalties\n"
        "Licensee pays a royalty of 12% of gross revenue per quarter for each subscriber tier above 5,000.\n",
        encoding="utf-8")
    assert ingest_paths([docs]).ok
    question = "What royalty percentage of gross revenue does the licensee pay per quarter?"
    assert route_by_rules(question) == "data"  # "gross revenue per quarter" reads as a data question
    result = answer_turn(TurnRequest(text=question, role="manager", thread_id="t-fallback-nodb"))
    assert result.route == "knowledge" and not result.refused and result.table is None
    assert "12%" in result.answer and result.citations[0].source == "royalty_schedule.md"


def test_a_managers_data_question_with_no_rows_and_no_documents_is_a_refusal_with_the_reason(
        salesbot_home: Path) -> None:
    question = "每个季度的总收入是多少？"
    assert route_by_rules(question) == "data"
    result = answer_turn(TurnRequest(text=question, role="manager", thread_id="t-fallback-nodb2"))
    assert result.refused and result.route == "data" and not result.citations and result.table is None
    assert "salesbot seed" in result.answer
