"""Reading intent before any SQL: write requests are refused; LLM replies are unwrapped; examples retrieved."""

from __future__ import annotations

import pytest

from tools.text2sql.examples import similar_examples
from tools.text2sql.layer import bundled_layers
from tools.text2sql.llm_path import compact_schema, extract_sql
from tools.text2sql.service import is_write_request


@pytest.mark.parametrize(
    "question",
    [
        "删除所有客户", "把华东人民医院的区域改成华南", "将订单D-2024-0001的金额修改为0", "清空订单表",
        "新增一个客户", "delete all customers", "Update the price of QM-X3 to 1", "drop the deals table",
        "insert a new deal for Acme", "please remove every lost deal", "change the region of Acme to West",
        "ｄｅｌｅｔｅ all deals",  # full-width letters are normalised first
        "Set the stage of all Northwind opportunities to closed won; then show total revenue",
        "mark every open task as done", "把所有商机设为赢单",
    ],
)
def test_write_requests_are_recognised(question: str) -> None:
    assert is_write_request(question)


@pytest.mark.parametrize(
    "question",
    ["哪个区域上季度成交额最高?", "monthly revenue in 2025 vs 2024", "top 5 customers by revenue", "每个销售的赢单率",
     "商机的更新时间", "opportunities by last update date", "今年新增客户数"],
)
def test_read_questions_are_not_write_requests(question: str) -> None:
    assert not is_write_request(question)


def test_sql_is_taken_from_a_fenced_reply() -> None:
    assert extract_sql("Sure!\n```sql\nSELECT 1;\n```\nDone.") == "SELECT 1"
    assert extract_sql("SELECT name FROM customers;") == "SELECT name FROM customers"


def test_compact_schema_lists_measures_and_joins() -> None:
    sales = next(layer for layer in bundled_layers() if layer.name == "sales")
    schema = compact_schema(sales)
    assert "measure revenue" in schema and "deals.customer_key = customers.key" in schema
    assert "pending_actions" not in schema  # internal tables stay out of the layer


def test_similar_examples_share_words_with_the_question() -> None:
    examples = similar_examples("每个区域的成交额", "sales")
    assert examples[0].question == "每个区域的成交额"
