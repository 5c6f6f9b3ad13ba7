"""The text-to-SQL benchmark's own parts: the lenient scorer, per-database limits, and its data sets
(Chinese versions tied to their English source, the held-out set runnable and separate from the others).

No figure is asserted here: accuracy belongs to the benchmark's output, not to unit tests.
"""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest
import yaml

from benchmarks.text2sql import (
    DATA,
    SPIDER_DEV,
    SPIDER_HELDOUT,
    QuestionSet,
    SetResult,
    lenient_match,
    load_jsonl,
    print_failures,
)
from evals.sql import results_match
from tools.text2sql.examples import EXAMPLES_DIR

CJK = re.compile(r"[\u4e00-\u9fff]")


def test_lenient_accepts_extra_columns_holding_the_gold_rows_in_any_order() -> None:
    gold = [("Ann",), ("Bo",)]
    predicted = [(2, "Bo"), (1, "Ann")]
    assert not results_match(gold, predicted, order_matters=False)
    assert lenient_match(gold, predicted)


def test_lenient_ignores_row_order_but_not_rows_or_their_counts() -> None:
    assert lenient_match([(1,), (2,)], [(2,), (1,)])
    assert not lenient_match([(1,), (2,)], [(1,), (3,)])
    assert not lenient_match([(1,), (1,), (2,)], [(1,), (2,), (2,)])
    assert not lenient_match([(1,), (2,)], [(1,)])
    assert not lenient_match([("a", 1)], [("a",)])  # fewer columns than the gold never matches


def test_lenient_keeps_the_gold_rows_together_across_columns() -> None:
    gold = [("Ann", 30), ("Bo", 40)]
    assert lenient_match(gold, [(7, 30, "Ann"), (8, 40, "Bo")])
    assert not lenient_match(gold, [(7, 40, "Ann"), (8, 30, "Bo")])  # same columns, rows paired wrongly


def test_a_limit_takes_the_first_questions_of_every_database(tmp_path: Path) -> None:
    lines = [{"id": f"{db}-{n}", "db": db} for db in ("a", "b") for n in range(3)]
    path = tmp_path / "q.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines), encoding="utf-8")
    assert [item["id"] for item in load_jsonl(path, 2)] == ["a-0", "a-1", "b-0", "b-1"]
    assert len(load_jsonl(path)) == 6


def test_chinese_versions_are_tied_to_their_english_source() -> None:
    english = {item["id"]: item for item in load_jsonl(SPIDER_DEV / "questions.jsonl")}
    chinese = load_jsonl(SPIDER_DEV / "questions_zh.jsonl")
    assert len(chinese) >= 80
    assert {item["db"] for item in chinese} == {item["db"] for item in english.values()}
    for item in chinese:
        source = english[item["source_id"]]
        assert item["id"] == source["id"] + "-zh"
        assert item["gold_sql"] == source["gold_sql"] and item["db"] == source["db"]
        assert CJK.search(item["question"])
    assert len({item["id"] for item in chinese}) == len(chinese)


def _databases(folder: Path) -> set[str]:
    return {path.name for path in folder.glob("*.sqlite")}


def test_the_held_out_databases_are_none_of_the_development_ones_and_every_gold_query_runs() -> None:
    held_out = load_jsonl(SPIDER_HELDOUT / "questions.jsonl")
    assert len(_databases(SPIDER_HELDOUT)) == 4
    assert not _databases(SPIDER_HELDOUT) & (_databases(SPIDER_DEV) | _databases(DATA))
    failing = 0
    for item in held_out:
        connection = sqlite3.connect(f"file:{SPIDER_HELDOUT / item['db']}?mode=ro", uri=True)
        try:
            connection.execute(item["gold_sql"]).fetchall()
        except sqlite3.Error:
            failing += 1
        finally:
            connection.close()
    assert failing == 0, f"{failing} held-out gold queries fail"  # counts only: the set stays unread


def _normalized(question: str) -> str:
    return re.sub(r"\W+", " ", question.lower()).strip()


def test_no_solved_example_is_a_benchmark_question() -> None:
    benchmark = {_normalized(item["question"]) for path in DATA.rglob("*.jsonl") for item in load_jsonl(path)}
    examples = [example["question"] for path in EXAMPLES_DIR.glob("*.yaml")
                for example in yaml.safe_load(path.read_text(encoding="utf-8"))]
    assert examples
    overlapping = sum(_normalized(question) in benchmark for question in examples)
    assert overlapping == 0, f"{overlapping} solved examples repeat benchmark questions"


@pytest.mark.parametrize(("split", "include_held_out", "shown"), [
    ("dev", False, True), ("held-out", False, False), ("held-out", True, True)])
def test_held_out_failures_are_printed_only_when_asked_for(capsys: pytest.CaptureFixture[str], split: str,
                                                           include_held_out: bool, shown: bool) -> None:
    question_set = QuestionSet("x", "x", Path("q.jsonl"), Path("."), "drafted", split, "en")
    result = SetResult(question_set, "x", "x", "drafted", split, "en", "rules")
    result.failures.append(({"id": "x-1", "question": "a question text", "gold_sql": "SELECT 1"},
                            type("Answer", (), {"sql": "SELECT 2", "message": ""})()))
    print_failures([result], include_held_out)
    assert ("a question text" in capsys.readouterr().out) is shown
