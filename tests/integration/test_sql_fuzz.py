"""Fuzz: hundreds of hostile inputs (SQL and natural language, zh/en) execute zero writes on the database.

Every input goes through answer_data_question (rules path, typed-SQL path and the LLM path with a model that
returns the hostile text), and every SQL-looking input also goes straight to the read-only executor with
the guard bypassed. Afterwards the database file is byte-identical and no new file appeared next to it.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

import pytest
import sqlglot
from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
from langchain_core.messages import AIMessage

from tools.text2sql.executor import execute_read_only
from tools.text2sql.service import SQL_START, answer_data_question

ROOT = Path(__file__).resolve().parents[2]
STORE_1 = ROOT / "benchmarks" / "data" / "text2sql" / "store_1.sqlite"
HOSTILE_FILE = ROOT / "tests" / "data" / "sql" / "hostile_inputs.txt"


def hostile_inputs(directory: Path) -> list[str]:
    """The handwritten list plus mechanical variants (case, spacing, comments, trailing semicolons)."""
    base = []
    for line in HOSTILE_FILE.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        text = line.replace("{DIR}", str(directory)).replace("\\n", "\n")
        text = re.sub(r"\\u([0-9a-fA-F]{4})", lambda match: chr(int(match.group(1), 16)), text)
        base.append(text)
    variants = []
    for text in base:
        variants += [text, text.lower(), f"  {text};", f"/* x */ {text}", f"{text} -- trailing", f"\n\t{text}\n"]
    return list(dict.fromkeys(variants))


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_hostile_inputs_write_nothing(tmp_path: Path) -> None:
    database_dir = tmp_path / "db"
    database_dir.mkdir()
    database = database_dir / "store_1.sqlite"
    shutil.copy(STORE_1, database)
    url = f"sqlite:///{database}"
    before_digest, before_files = file_digest(database), sorted(p.name for p in database_dir.iterdir())
    inputs = hostile_inputs(database_dir)
    assert len(inputs) >= 200

    executed_selects = 0
    for text in inputs:
        answer = answer_data_question(text, "admin", db_url=url, make_chart=False)
        if not answer.refused and answer.sql:
            # Anything that ran must have been a single plain SELECT.
            statements = [s for s in sqlglot.parse(answer.sql, read="sqlite") if s is not None]
            assert len(statements) == 1 and isinstance(statements[0], sqlglot.exp.Query), (text, answer.sql)
            assert int(statements[0].args["limit"].expression.this) <= 1000, answer.sql
            executed_selects += 1
        hostile_model = FakeMessagesListChatModel(responses=[AIMessage(content=f"```sql\n{text}\n```")])
        llm_answer = answer_data_question("how many customers are there?", "admin", db_url=url, llm=hostile_model,
                                          make_chart=False)
        if llm_answer.method == "llm" and not llm_answer.refused:
            assert sqlglot.parse_one(llm_answer.sql, read="sqlite").key in ("select", "union", "except", "intersect")
        if SQL_START.match(text) and "randomblob" not in text.lower() and "zeroblob" not in text.lower():
            try:  # the guard is bypassed here: the connection itself must refuse to write
                execute_read_only(url, text, timeout_s=2)
            except Exception:  # refused by mode=ro, the authorizer or "one statement at a time"
                pass
    assert file_digest(database) == before_digest
    assert sorted(p.name for p in database_dir.iterdir()) == before_files
    assert executed_selects < len(inputs)  # most inputs are refused outright


@pytest.mark.parametrize(
    "statement",
    ["DELETE FROM genres", "UPDATE genres SET name = 'x'", "PRAGMA user_version = 7", "CREATE TEMP TABLE t(x)",
     "SELECT 1; DELETE FROM genres", "ATTACH DATABASE ':memory:' AS other"],
)
def test_executor_alone_refuses_writes(tmp_path: Path, statement: str) -> None:
    database = tmp_path / "store_1.sqlite"
    shutil.copy(STORE_1, database)
    with pytest.raises(Exception) as raised:
        execute_read_only(f"sqlite:///{database}", statement)
    assert any(word in str(raised.value).lower() for word in ("authoriz", "one statement", "readonly", "read-only"))
    assert file_digest(database) == file_digest(STORE_1)


def test_slow_query_is_interrupted(tmp_path: Path) -> None:
    from tools.text2sql.executor import QueryTimeoutError

    database = tmp_path / "store_1.sqlite"
    shutil.copy(STORE_1, database)
    with pytest.raises(QueryTimeoutError):
        execute_read_only(f"sqlite:///{database}", "SELECT COUNT(*) FROM tracks a, tracks b, tracks c", timeout_s=0.2)
