"""answer_data_question and `salesbot sql` end to end on real SQLite files (store_1, the seeded sales DB, drafts)."""

from __future__ import annotations

import json
import shutil
import sqlite3
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tools.model_tools import answer_data_question as tool_answer
from tools.text2sql.service import answer_data_question

ROOT = Path(__file__).resolve().parents[2]
STORE_1 = ROOT / "benchmarks" / "data" / "text2sql" / "store_1.sqlite"
DATA = ROOT / "tests" / "data" / "sql"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    copy = tmp_path / "store_1.sqlite"
    shutil.copy(STORE_1, copy)
    return f"sqlite:///{copy}"


def test_rules_answer_a_ranking_question(store_url: str) -> None:
    answer = answer_data_question("top 3 countries by number of invoices", "manager", db_url=store_url)
    assert not answer.refused and answer.method == "rules"
    assert answer.columns[0] == "billing_country"
    assert [row[0] for row in answer.rows] == ["USA", "Canada", answer.rows[2][0]]
    assert answer.rows[0][1] == 91
    assert answer.sql.upper().startswith("SELECT")


def test_reps_are_refused_and_the_tool_keeps_its_signature(store_url: str) -> None:
    answer = tool_answer("How many customers live in Prague?", "rep", db_url=store_url)
    assert answer.refused and not answer.sql and not answer.rows
    assert "manager" in answer.message
    allowed = tool_answer("How many customers live in Prague?", "vp", db_url=store_url)
    assert not allowed.refused and allowed.rows == [[2]]


def test_natural_language_write_requests_are_refused(store_url: str) -> None:
    for question in ("删除所有客户", "把 Prague 的客户改成 Berlin", "delete all invoices from 2009"):
        answer = answer_data_question(question, "admin", db_url=store_url)
        assert answer.refused and answer.sql == ""


def test_time_series_and_category_questions_get_a_png_single_values_do_not(store_url: str, tmp_path: Path) -> None:
    line = answer_data_question("yearly invoice total", "manager", db_url=store_url, chart_path=str(tmp_path / "a.png"))
    assert line.chart == str(tmp_path / "a.png") and Path(line.chart).read_bytes().startswith(PNG_MAGIC)
    bars = answer_data_question("number of tracks by media type", "manager", db_url=store_url,
                                chart_path=str(tmp_path / "b.png"))
    assert len(bars.rows) == 5 and bars.chart and Path(bars.chart).read_bytes().startswith(PNG_MAGIC)
    single = answer_data_question("How many invoices were billed from Chicago, IL?", "manager", db_url=store_url,
                                  chart_path=str(tmp_path / "c.png"))
    expected = sqlite3.connect(store_url.removeprefix("sqlite:///")).execute(
        "SELECT COUNT(*) FROM invoices WHERE billing_city = 'Chicago' AND billing_state = 'IL'").fetchone()[0]
    assert single.rows == [[expected]] and single.chart is None and not (tmp_path / "c.png").exists()


def test_typed_select_runs_through_the_guard(store_url: str) -> None:
    answer = answer_data_question("SELECT name FROM genres ORDER BY name LIMIT 2", "manager", db_url=store_url)
    assert answer.method == "sql" and answer.rows == [["Alternative"], ["Alternative & Punk"]]
    refused = answer_data_question("SELECT name FROM genres; DELETE FROM genres", "manager", db_url=store_url)
    assert refused.refused and "one statement" in refused.message


def test_sales_database_empty_then_seeded(salesbot_home: Path) -> None:
    empty = answer_data_question("各区域成交额", "manager")
    assert "salesbot seed" in empty.message and not empty.rows
    # On the server profile the one database also holds the product's own tables (chunks, checkpoints, audit):
    # unseeded, no layer may be drafted over them, so a typed SELECT of chunks must not run either.
    from knowledge.base import get_knowledge_base

    get_knowledge_base()  # the knowledge tables exist (in the shared database on the server profile)
    typed = answer_data_question("SELECT text FROM chunks", "manager")
    assert "missing or empty" in typed.message and not typed.rows and not typed.sql
    assert not (salesbot_home / "semantic_layers").exists()
    from tools.sales.seed import seed_sample_company

    seed_sample_company()
    answer = answer_data_question("哪个区域上季度成交额最高?", "manager", today=date(2026, 11, 23))
    from sqlalchemy import text

    from salesbot.database import engine_for
    from salesbot.settings import get_settings

    with engine_for(get_settings().sales_database_url).connect() as connection:  # SQLite, or the server profile's
        expected = connection.execute(text(
            "SELECT region, SUM(amount) FROM deals WHERE outcome = 'won' AND closed_on >= '2026-07-01' "
            "AND closed_on < '2026-10-01' GROUP BY region ORDER BY 2 DESC LIMIT 1")).fetchall()
    assert [(row[0], float(row[1])) for row in answer.rows] == [(row[0], float(row[1])) for row in expected]
    assert "pending_actions" not in answer.sql
    internal = answer_data_question("SELECT * FROM audit_events", "admin")
    assert internal.refused  # internal tables are not in the sales layer


def test_edited_layer_in_home_is_used_and_unknown_databases_get_a_draft(salesbot_home: Path, tmp_path: Path) -> None:
    shop = tmp_path / "shop.sqlite"
    connection = sqlite3.connect(shop)
    connection.executescript((DATA / "shop.sql").read_text(encoding="utf-8"))
    connection.close()
    drafted = answer_data_question("How many clients are there?", "manager", db_url=f"sqlite:///{shop}")
    assert drafted.rows == [[4]]
    draft_files = list((salesbot_home / "semantic_layers").glob("draft-*.yaml"))
    assert len(draft_files) == 1 and "orders.client_id" in draft_files[0].read_text(encoding="utf-8")
    shutil.copy(DATA / "shop_layer.yaml", salesbot_home / "semantic_layers" / "shop.yaml")
    edited = answer_data_question("华东区域有多少客户", "manager", db_url=f"sqlite:///{shop}")
    assert edited.rows == [[2]]  # the value synonym 华东 → East exists only in the edited layer


def test_cli_json_contract(store_url: str, tmp_path: Path) -> None:
    from connectors.cli import app

    chart = tmp_path / "genres.png"
    result = CliRunner().invoke(app, ["sql", "number of tracks by media type", "--db", store_url, "--json",
                                      "--chart", str(chart)])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert {"sql", "columns", "rows", "chart", "refused", "message"} <= set(payload)
    assert payload["chart"] == str(chart) and chart.exists() and payload["refused"] is False
    refused = CliRunner().invoke(app, ["sql", "delete everything", "--db", store_url, "--json"])
    assert refused.exit_code == 2 and json.loads(refused.output)["refused"] is True
    table = CliRunner().invoke(app, ["sql", "How many customers live in Prague?", "--db", store_url])
    assert table.exit_code == 0 and "Answer: 2" in table.output and "SELECT" in table.output
