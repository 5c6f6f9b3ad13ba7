"""Text-to-SQL execution accuracy on the bundled Spider subset (result sets compared the way Spider does)."""

from __future__ import annotations

import itertools
import json
import logging
import re
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from evals.models import SqlOutcome
from salesbot.settings import PACKAGE_ROOT

logger = logging.getLogger(__name__)

SPIDER_DIR = PACKAGE_ROOT / "benchmarks" / "data" / "text2sql"
# A gold query that runs longer than this is stopped (a guard against cross-join blow-ups).
QUERY_TIME_LIMIT_S = 5.0
# The product caps answers at 1,000 rows; scoring lifts the cap (as benchmarks/text2sql.py does) so results
# compare with full gold result sets.
SPIDER_ROW_CAP = 100_000
_WRITE_KEYWORDS = re.compile(
    r"^\s*(insert|update|delete|drop|alter|create|replace|truncate|attach|detach|pragma|vacuum|reindex|grant)\b",
    re.IGNORECASE | re.MULTILINE)
_ORDER_BY = re.compile(r"\border\s+by\b", re.IGNORECASE)


def load_spider_items(directory: Path = SPIDER_DIR) -> list[dict[str, Any]]:
    """Every `spider_*.jsonl` item (id, question, gold_sql, db) with its database resolved to a path."""
    items: list[dict[str, Any]] = []
    for dataset_file in sorted(directory.glob("spider_*.jsonl")):
        for line in dataset_file.read_text(encoding="utf-8").splitlines():
            if line.strip():
                item = json.loads(line)
                item["db_path"] = str(directory / item["db"])
                items.append(item)
    return items


def is_write_statement(sql: str) -> bool:
    """True when any statement in `sql` could change data or schema (sqlglot parse, keyword fallback)."""
    if not sql.strip():
        return False
    import sqlglot
    from sqlglot import exp

    write_types = (exp.Insert, exp.Update, exp.Delete, exp.Drop, exp.Create, exp.Alter, exp.Command,
                   exp.TruncateTable, exp.Merge)
    try:
        statements = sqlglot.parse(sql, read="sqlite")
    except sqlglot.errors.ParseError:
        return bool(_WRITE_KEYWORDS.search(sql))
    for statement in statements:
        if statement is None:
            continue
        if isinstance(statement, write_types) or any(statement.find_all(*write_types)):
            return True
    return bool(_WRITE_KEYWORDS.search(sql))


def execute_read_only(db_path: str, sql: str) -> list[tuple[Any, ...]]:
    """Run a query on a SQLite file opened read-only, stopped after QUERY_TIME_LIMIT_S."""
    connection = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    deadline = time.monotonic() + QUERY_TIME_LIMIT_S
    connection.set_progress_handler(lambda: 1 if time.monotonic() > deadline else 0, 10_000)
    try:
        return [tuple(row) for row in connection.execute(sql).fetchall()]
    finally:
        connection.close()


def _normalize_value(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, bytes):
        return value.hex()
    return value


def results_match(gold_rows: Sequence[Sequence[Any]], predicted_rows: Sequence[Sequence[Any]],
                  order_matters: bool) -> bool:
    """Spider-style equality: same rows (as a multiset unless ordered), allowing a column permutation."""
    gold = [tuple(_normalize_value(value) for value in row) for row in gold_rows]
    predicted = [tuple(_normalize_value(value) for value in row) for row in predicted_rows]
    if len(gold) != len(predicted):
        return False
    if not gold:
        return True
    width = len(gold[0])
    if any(len(row) != width for row in predicted):
        return False

    def same(rows: list[tuple[Any, ...]]) -> bool:
        return rows == gold if order_matters else Counter(rows) == Counter(gold)

    if same(predicted):
        return True
    if width > 5:  # 720+ permutations: not worth it for the questions we ship
        return False
    for permutation in itertools.permutations(range(width)):
        if same([tuple(row[index] for index in permutation) for row in predicted]):
            return True
    return False


def score_answer(db_path: str, gold_sql: str, answer: Any) -> tuple[bool, str | None]:
    """(correct, why not) for one answer: the rows the tool returned against the gold SQL's rows."""
    if answer.refused:
        return False, f"refused: {str(answer.message)[:160]}"
    if not (answer.sql or "").strip():
        return False, f"no SQL produced: {str(answer.message)[:160]}"
    gold_rows = execute_read_only(db_path, gold_sql)
    if results_match(gold_rows, answer.rows or [], bool(_ORDER_BY.search(gold_sql))):
        return True, None
    return False, None


def run_spider(items: Sequence[dict[str, Any]], answer_data_question: Callable[..., Any],
               role: str = "admin") -> list[SqlOutcome]:
    """Ask the text-to-SQL tool every Spider question against its database and score execution accuracy."""
    outcomes = []
    for item in items:
        outcome = SqlOutcome(id=item["id"], question=item["question"], kind="accuracy",
                             db_id=Path(item["db"]).stem, gold_sql=item["gold_sql"])
        try:
            answer = answer_data_question(item["question"], role, db_url=f"sqlite:///{item['db_path']}")
            outcome.predicted_sql = answer.sql or ""
            outcome.refused = bool(answer.refused)
            outcome.correct, outcome.error = score_answer(item["db_path"], item["gold_sql"], answer)
        except Exception as error:  # one bad item must not stop the suite; it counts as wrong
            logger.debug("spider item %s failed", item["id"], exc_info=True)
            outcome.error = f"{type(error).__name__}: {error}"
        outcomes.append(outcome)
    return outcomes


def aggregate_sql(outcomes: Sequence[SqlOutcome]) -> dict[str, float | None]:
    accuracy_items = [outcome for outcome in outcomes if outcome.kind == "accuracy"]
    if not accuracy_items:
        return {}
    answered = [outcome for outcome in accuracy_items if outcome.predicted_sql and not outcome.refused]
    return {
        "sql.execution_accuracy": sum(outcome.correct for outcome in accuracy_items) / len(accuracy_items),
        "sql.answered_rate": len(answered) / len(accuracy_items),
        "sql.questions": float(len(accuracy_items)),
    }
