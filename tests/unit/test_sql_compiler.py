"""The rule-based compiler on a small shop schema: each generic rule, checked by running the SQL it writes."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

import pytest
import sqlglot
from sqlalchemy import create_engine

from tools.text2sql.compiler import CannotCompileError, RuleCompiler
from tools.text2sql.layer import load_layer
from tools.text2sql.values import build_value_index

DATA = Path(__file__).resolve().parents[1] / "data" / "sql"


@pytest.fixture(scope="module")
def shop() -> tuple[RuleCompiler, sqlite3.Connection]:
    connection = sqlite3.connect(":memory:", check_same_thread=False)
    connection.executescript((DATA / "shop.sql").read_text(encoding="utf-8"))
    engine = create_engine("sqlite://", creator=lambda: connection)
    layer = load_layer(DATA / "shop_layer.yaml")
    compiler = RuleCompiler(layer, build_value_index(engine, layer), today=date(2025, 5, 20))
    return compiler, connection


def ask(shop: tuple[RuleCompiler, sqlite3.Connection], question: str) -> tuple[str, list[tuple]]:
    compiler, connection = shop
    sql = compiler.compile(question).sql
    return sql, connection.execute(sql).fetchall()


def test_count_with_a_value_filter(shop) -> None:
    sql, rows = ask(shop, "How many clients are in the East region?")
    assert rows == [(2,)]
    assert "'East'" in sql


def test_chinese_value_synonym_resolves_to_the_stored_value(shop) -> None:
    _, rows = ask(shop, "华东区域有多少客户")
    assert rows == [(2,)]


def test_measure_by_dimension(shop) -> None:
    _, rows = ask(shop, "revenue by channel")
    assert sorted(rows) == [("online", 2430), ("partner", 405)]


def test_top_n_entities_by_measure_keep_the_numbers(shop) -> None:
    _, rows = ask(shop, "top 2 clients by revenue")
    assert rows == [("Globex", 1530), ("Acme Corp", 1140)]


def test_which_entity_has_the_most_related_rows(shop) -> None:
    _, rows = ask(shop, "Which client has the most orders?")
    assert rows in ([("Acme Corp",)], [("Globex",)])  # both have three orders


def test_average_of_a_column_per_group(shop) -> None:
    _, rows = ask(shop, "average order value by channel")
    assert dict(rows) == {"online": 486.0, "partner": 135.0}


def test_entity_lookup(shop) -> None:
    _, rows = ask(shop, "What is the email of Globex?")
    assert rows == [("ops@globex.example",)]


def test_lookup_of_a_number_on_the_named_row_is_not_aggregated(shop) -> None:
    sql, rows = ask(shop, "What is the price of Gateway?")
    assert rows == [(120,)]
    assert "SUM" not in sql.upper()


def test_total_for_a_named_entity_sums_its_related_rows(shop) -> None:
    _, rows = ask(shop, "total amount bought by Acme Corp")
    assert rows == [(1140,)]


def test_anti_join_never(shop) -> None:
    sql, rows = ask(shop, "clients who never ordered")
    assert rows == [("Umbrella Labs",)]
    assert "NOT" in sql.upper()


def test_year_filter_and_monthly_grain(shop) -> None:
    sql, rows = ask(shop, "monthly revenue in 2024")
    assert rows == [("2024-01", 600), ("2024-02", 1140), ("2024-04", 150)]
    assert "2024-01-01" in sql


def test_relative_period_uses_today(shop) -> None:
    _, rows = ask(shop, "上季度成交额")  # today is 2025-05-20, so last quarter is 2025 Q1
    assert rows == [(420,)]


def test_year_comparison_pivots_years_into_columns(shop) -> None:
    _, rows = ask(shop, "quarterly revenue 2025 vs 2024")
    assert rows[0] == ("Q1", 1740, 420)


def test_row_level_superlative_from_the_layer(shop) -> None:
    _, rows = ask(shop, "Who is the newest client?")
    assert rows == [("Umbrella Labs",)]


def test_having_on_a_count(shop) -> None:
    _, rows = ask(shop, "clients with more than 2 orders")
    assert sorted(rows) == [("Acme Corp",), ("Globex",)]


def test_prefix_like_and_alphabetical_order(shop) -> None:
    sql, rows = ask(shop, "List clients whose name starts with 'G' in alphabetical order")
    assert rows == [("Globex",)]
    assert "LIKE 'G%'" in sql


def test_two_values_of_one_column_with_or(shop) -> None:
    _, rows = ask(shop, "How many clients are in East or West?")
    assert rows == [(3,)]


def test_fuzzy_name_match_tolerates_a_typo(shop) -> None:
    _, rows = ask(shop, "What is the email of Umbrela Labs?")
    assert rows == [("lab@umbrella.example",)]


def test_user_words_only_become_literals(shop) -> None:
    sql, _ = ask(shop, "How many clients have a name containing \"x' OR 1=1; DROP TABLE clients; --\"?")
    statements = [s for s in sqlglot.parse(sql, read="sqlite") if s is not None]
    assert len(statements) == 1
    assert isinstance(statements[0], sqlglot.exp.Select)


def test_unreadable_question_says_so(shop) -> None:
    compiler, _ = shop
    with pytest.raises(CannotCompileError):
        compiler.compile("what is the meaning of life")
    with pytest.raises(CannotCompileError):
        compiler.compile("clients that never did anything")  # a dropped "never" would invert the answer
