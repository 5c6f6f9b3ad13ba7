"""The SQL guard: one read-only SELECT over known names, allowlisted functions, LIMIT enforced."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlglot

from tools.text2sql.guard import LIMIT_CAP, guard_sql
from tools.text2sql.layer import load_layer

LAYER = load_layer(Path(__file__).resolve().parents[1] / "data" / "sql" / "shop_layer.yaml")


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT name FROM clients",
        "select c.name, sum(o.amount) from clients c join orders o on o.client_id = c.id group by c.id",
        "WITH big AS (SELECT client_id, SUM(amount) AS total FROM orders GROUP BY client_id) SELECT * FROM big",
        "SELECT strftime('%Y', ordered_on) AS y, COUNT(*) FROM orders GROUP BY y",
        "SELECT title FROM items WHERE price > 10 ORDER BY price DESC LIMIT 3",
        "SELECT name FROM clients WHERE id NOT IN (SELECT client_id FROM orders)",
        "SELECT name FROM clients -- a trailing comment is dropped\n",
    ],
)
def test_read_queries_pass_with_a_limit(sql: str) -> None:
    verdict = guard_sql(sql, LAYER)
    assert verdict.allowed, verdict.reason
    tree = sqlglot.parse_one(verdict.sql, read="sqlite")
    assert tree.args.get("limit") is not None
    assert "--" not in verdict.sql


@pytest.mark.parametrize(
    ("sql", "reason_word"),
    [
        ("DELETE FROM clients", "DELETE"),
        ("UPDATE clients SET name = 'x'", "UPDATE"),
        ("INSERT INTO clients(name) VALUES ('x')", "INSERT"),
        ("DROP TABLE clients", "DROP"),
        ("SELECT 1; DROP TABLE clients", "one statement"),
        ("SELECT name FROM clients; SELECT 1", "one statement"),
        ("PRAGMA writable_schema = 1", "PRAGMA"),
        ("ATTACH DATABASE '/tmp/x.db' AS x", "ATTACH"),
        ("SELECT load_extension('/tmp/evil.so')", "load_extension"),
        ("SELECT randomblob(1000000000)", "randomblob"),
        ("SELECT * FROM sqlite_master", "sqlite_master"),
        ("SELECT password FROM clients", "password"),
        ("SELECT name FROM main.clients", "schema-qualified"),
        ("ＳＥＬＥＣＴ name FROM clients", "look-alike"),
        ("SELECT name FROM clients WHERE name = 'а'; DELETE FROM clients", "one statement"),
        ("", "empty"),
    ],
)
def test_unsafe_or_unknown_sql_is_refused(sql: str, reason_word: str) -> None:
    verdict = guard_sql(sql, LAYER)
    assert not verdict.allowed
    assert reason_word.lower() in verdict.reason.lower()


def test_huge_limit_is_cut_to_the_cap() -> None:
    verdict = guard_sql("SELECT name FROM clients LIMIT 99999999", LAYER)
    assert verdict.allowed and verdict.truncated_limit
    assert sqlglot.parse_one(verdict.sql).args["limit"].expression.this == str(LIMIT_CAP)


def test_small_limit_is_kept() -> None:
    verdict = guard_sql("SELECT name FROM clients LIMIT 2", LAYER)
    assert verdict.allowed and not verdict.truncated_limit
    assert verdict.sql.endswith("LIMIT 2")


def test_unknown_column_is_a_mistake_not_a_safety_refusal() -> None:
    verdict = guard_sql("SELECT nickname FROM clients", LAYER)
    assert not verdict.allowed and not verdict.unsafe
    assert guard_sql("DELETE FROM clients", LAYER).unsafe
