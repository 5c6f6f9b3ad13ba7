"""Issue 19 item 8: every entry point caps input length; the rule compiler is linear; SQL cannot allocate a gigabyte."""

from __future__ import annotations

import logging
import signal
import sqlite3
import subprocess
import sys
import textwrap
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from typer.testing import CliRunner

from salesbot.settings import reset_runtime
from tools.text2sql.compiler import CannotCompileError, RuleCompiler
from tools.text2sql.guard import guard_sql
from tools.text2sql.layer import load_layer
from tools.text2sql.values import build_value_index

DATA = Path(__file__).resolve().parent.parent / "data" / "sql"
LONG = "哪个区域上季度成交额最高？" * 1000  # 13,000 characters, over the default 4,000


@pytest.fixture(scope="module")
def shop_layer():
    return load_layer(DATA / "shop_layer.yaml")


@pytest.mark.parametrize("sql", [
    "SELECT printf('%.*c', 999999999, 'x')",
    "SELECT printf('%999999999d', 1)",
    "SELECT printf('%.999999999f', 1.0)",
    "SELECT format('%5000000d', 1)",
    "SELECT zeroblob(1000000000)",
    "SELECT randomblob(1000000000)",
    "SELECT replicate('x', 1000000000)",
    "SELECT repeat('x', 1000000000)",
    "SELECT lpad('x', 1000000000, 'y')",
    "SELECT printf(name, 1) FROM customers",
])
def test_guard_refuses_functions_that_build_huge_values(sql: str, shop_layer) -> None:
    verdict = guard_sql(sql, shop_layer, dialect="sqlite")
    assert not verdict.allowed and verdict.unsafe, verdict


def test_guard_still_allows_small_printf(shop_layer) -> None:
    assert guard_sql("SELECT printf('%.2f', 3.14159), printf('%5d%%', 7)", shop_layer, dialect="sqlite").allowed


def test_read_only_connection_fails_cleanly_instead_of_allocating_a_gigabyte(tmp_path: Path) -> None:
    database = tmp_path / "tiny.db"
    sqlite3.connect(database).execute("CREATE TABLE t (x INTEGER)").connection.commit()
    # Run under an address-space limit of what the interpreter already uses plus 300 MB: a 1 GB allocation
    # would end in "out of memory"; the length limit refuses (or yields NULL) without allocating it.
    script = textwrap.dedent(f"""
        import resource, sqlite3
        from pathlib import Path
        from tools.text2sql.executor import MAX_VALUE_BYTES, open_sqlite_read_only
        connection = open_sqlite_read_only(Path({str(database)!r}))
        assert connection.getlimit(sqlite3.SQLITE_LIMIT_LENGTH) == MAX_VALUE_BYTES <= 10_000_000
        pages = int(open('/proc/self/statm').read().split()[0])
        size = pages * resource.getpagesize() + 300 * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (size, size))
        for sql in ("SELECT printf('%.*c', 999999999, 'x')", "SELECT zeroblob(999999999)",
                    "SELECT length(printf('%.*c', 999999999, 'x'))"):
            try:
                value = connection.execute(sql).fetchone()[0]
                print("value", None if value is None else len(str(value)))
            except sqlite3.Error as error:
                print("error", error)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 3
    for line in lines:
        assert "out of memory" not in line
        assert line in ("value None",) or "too big" in line or "not authorized" in line, line


def test_rule_compiler_cost_is_not_quadratic_in_question_length(shop_layer) -> None:
    connection = sqlite3.connect(":memory:", check_same_thread=False)
    connection.executescript((DATA / "shop.sql").read_text(encoding="utf-8"))
    engine = create_engine("sqlite://", creator=lambda: connection)
    compiler = RuleCompiler(shop_layer, build_value_index(engine, layer=shop_layer), today=date(2025, 5, 20))
    unit = "各区域2025年订单数量 1 2 3 orders 客户Acme的订单 never 2024 vs 2025 which products did Acme buy "
    question = unit * (64_000 // len(unit))  # the quadratic compiler took minutes on this; linear: about a second

    def too_slow(*_):
        raise TimeoutError("the compiler ran past 60 s on a 64,000-character question")

    previous = signal.signal(signal.SIGALRM, too_slow)
    signal.alarm(60)
    try:
        try:
            compiler.compile(question)
        except CannotCompileError:
            pass
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_data_question_over_the_cap_is_refused_in_both_languages_and_logged_as_a_prefix(caplog) -> None:
    from tools.text2sql.service import answer_data_question

    with caplog.at_level(logging.DEBUG):
        answer = answer_data_question(LONG, "manager", db_url="sqlite:////nonexistent/never-opened.db")
    assert answer.refused and not answer.sql
    assert "4000" in answer.message and "过长" in answer.message and "too long" in answer.message
    assert all(len(record.getMessage()) < 1000 for record in caplog.records)


def test_max_input_chars_is_a_setting(monkeypatch) -> None:
    from tools.text2sql.service import answer_data_question

    monkeypatch.setenv("SALESBOT_MAX_INPUT_CHARS", "10")
    reset_runtime()
    try:
        answer = answer_data_question("how many orders per region", "manager", db_url="sqlite:////nonexistent/x.db")
        assert answer.refused and "10" in answer.message and "too long" in answer.message
    finally:
        monkeypatch.delenv("SALESBOT_MAX_INPUT_CHARS")
        reset_runtime()


def test_chat_turn_over_the_cap_is_refused_before_the_graph_runs(monkeypatch, caplog) -> None:
    from agent import service
    from agent.models import TurnRequest

    def no_graph():
        raise AssertionError("the graph must not run for an over-long input")

    monkeypatch.setattr(service, "compiled_graph", no_graph)
    with caplog.at_level(logging.DEBUG):
        result = service.answer_turn(TurnRequest(text=LONG, user_id="u1", thread_id="t-long"))
    assert result.refused and "过长" in result.answer and "too long" in result.answer
    assert all(len(record.getMessage()) < 1000 for record in caplog.records)
    # A decision command can't smuggle a long text in either.
    from salesbot.input_limits import InputTooLongError

    with pytest.raises(InputTooLongError):
        service.decide_action("A7K2Q", "approve" + "x" * 5000, "u1", "rep")
    with pytest.raises(InputTooLongError):
        service.decide_action("A7K2Q", "edit", "u1", "rep", {"description": "x" * 5000})


def test_cli_commands_refuse_over_long_input() -> None:
    from connectors.cli import app

    runner = CliRunner()
    search = runner.invoke(app, ["search", LONG])
    assert search.exit_code == 2 and "too long" in search.output
    sql = runner.invoke(app, ["sql", LONG, "--json"])
    assert sql.exit_code == 2 and "too long" in sql.output
    ask = runner.invoke(app, ["ask", LONG, "--json"])
    assert '"refused": true' in ask.output and "too long" in ask.output


def test_log_prefix_is_bounded() -> None:
    from salesbot.input_limits import log_prefix

    assert log_prefix("short") == "short"
    bounded = log_prefix("x" * 100_000)
    assert len(bounded) < 300 and "100000 chars" in bounded
