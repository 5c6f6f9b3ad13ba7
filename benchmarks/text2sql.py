"""Text-to-SQL execution accuracy: Spider store_1 subset (no-LLM rules, optional LLM) and the sample sales questions.

Usage:
    python benchmarks/text2sql.py                 # rules on Spider store_1 (+ sales set when the sales DB has data)
    python benchmarks/text2sql.py --llm SPEC      # also the LLM path (SPEC as SALESBOT_LLM, e.g. llamacpp:/m.gguf)
    python benchmarks/text2sql.py --seed          # seed a temporary sales DB first, then run the sales set
    python benchmarks/text2sql.py --limit 20      # first N questions only (quick checks)
    python benchmarks/text2sql.py --drafted-layer # also score an auto-drafted layer (no hand-written synonyms)

Scoring follows Spider's execution accuracy: gold and predicted SQL run on the database and the result
sets are compared as multisets (as lists when the gold SQL has ORDER BY), allowing a permutation of the
columns (as the test-suite evaluation does) and rounding floats to 6 decimals (sums in another join order
differ in the last bits).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from evals.sql import results_match  # noqa: E402  (one Spider scorer for the benchmark and the eval suite)

DATA = ROOT / "benchmarks" / "data" / "text2sql"
SPIDER_QUESTIONS = DATA / "spider_store_1.jsonl"
SPIDER_DB = DATA / "store_1.sqlite"
SALES_QUESTIONS = DATA / "sales_questions.jsonl"
# The product caps answers at 1,000 rows; the benchmark lifts the cap so results compare with full gold sets.
BENCHMARK_ROW_CAP = 100_000


def category_of(gold_sql: str) -> str:
    lowered = gold_sql.lower()
    if " except " in lowered or " intersect " in lowered or " union " in lowered:
        return "set operation"
    if " having " in lowered:
        return "having"
    if "group by" in lowered:
        return "group by"
    if "order by" in lowered:
        return "order/limit"
    if " join " in lowered:
        return "join + filter"
    if " where " in lowered:
        return "filter"
    return "list"


def drafted_layer_answerer(db_url: str) -> Any:
    """Answers from the rules over an auto-drafted layer (no hand-written synonyms): the layer's share of the score."""
    from tools.text2sql.compiler import RuleCompiler
    from tools.text2sql.executor import execute_read_only, read_only_engine
    from tools.text2sql.guard import guard_sql
    from tools.text2sql.layer import draft_layer
    from tools.text2sql.models import SqlAnswer
    from tools.text2sql.values import build_value_index

    engine = read_only_engine(db_url)
    layer = draft_layer(engine, name="draft")
    compiler = RuleCompiler(layer, build_value_index(engine, layer))
    engine.dispose()

    def answer(question: str, *_args: Any, **_kwargs: Any) -> Any:
        try:
            verdict = guard_sql(compiler.compile(question).sql, layer, limit_cap=BENCHMARK_ROW_CAP)
            result = execute_read_only(db_url, verdict.sql, row_cap=BENCHMARK_ROW_CAP)
        except Exception as error:  # counted as a miss
            return SqlAnswer(message=str(error))
        return SqlAnswer(sql=verdict.sql, columns=result.columns, rows=result.rows)

    return answer


def run_question_set(name: str, questions: list[dict], db_path: Path, db_url: str, llm: Any, method: str,
                     answerer: Any = None) -> float:
    from tools.text2sql.service import answer_data_question

    answer_data_question = answerer or answer_data_question
    connection = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    per_category: dict[str, list[bool]] = defaultdict(list)
    failures = []
    started = time.perf_counter()
    for item in questions:
        gold = connection.execute(item["gold_sql"]).fetchall()
        answer = answer_data_question(item["question"], "admin", db_url=db_url, llm=llm, row_cap=BENCHMARK_ROW_CAP,
                                      make_chart=False, today=_today_for(item))
        correct = bool(answer.sql) and not answer.refused and results_match(
            gold, answer.rows, "order by" in item["gold_sql"].lower())
        per_category[item.get("category") or category_of(item["gold_sql"])].append(correct)
        if not correct:
            failures.append((item, answer))
    elapsed = time.perf_counter() - started
    total = sum(len(v) for v in per_category.values())
    right = sum(sum(v) for v in per_category.values())
    accuracy = right / total if total else 0.0
    print(f"\n== {name} · {method}: execution accuracy {accuracy:.3f} ({right}/{total}), "
          f"{elapsed / max(total, 1) * 1000:.0f} ms/question")
    for category, results in sorted(per_category.items()):
        print(f"   {category:<18} {sum(results):>3}/{len(results):<3} {sum(results) / len(results):.2f}")
    if failures:
        print(f"   failures ({len(failures)}):")
        for item, answer in failures:
            print(f"   - [{item['id']}] {item['question']}")
            print(f"       predicted: {answer.sql or '(none) ' + answer.message[:120]}")
            print(f"       gold:      {item['gold_sql']}")
    return accuracy


def _today_for(item: dict) -> Any:
    from datetime import date

    return date.fromisoformat(item["today"]) if item.get("today") else None


def load_jsonl(path: Path, limit: int | None) -> list[dict]:
    items = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return items[:limit] if limit else items


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--llm", default=None, help="Model spec for the LLM path (default: SALESBOT_LLM; 'none' skips).")
    parser.add_argument("--limit", type=int, default=None, help="Only the first N questions of each set.")
    parser.add_argument("--seed", action="store_true", help="Seed a temporary sales database for the sales set.")
    parser.add_argument("--drafted-layer", action="store_true",
                        help="Also score the rules over an auto-drafted layer (no hand-edited synonyms).")
    args = parser.parse_args()
    if args.seed:
        os.environ["SALESBOT_HOME"] = tempfile.mkdtemp(prefix="salesbot-bench-")
    from salesbot.settings import get_settings, reset_runtime

    reset_runtime()
    spider_url = f"sqlite:///{SPIDER_DB}"
    spider = load_jsonl(SPIDER_QUESTIONS, args.limit)
    run_question_set("Spider store_1", spider, SPIDER_DB, spider_url, None, "no LLM (rules, bundled layer)")
    if args.drafted_layer:
        run_question_set("Spider store_1", spider, SPIDER_DB, spider_url, None, "no LLM (rules, auto-drafted layer)",
                         answerer=drafted_layer_answerer(spider_url))

    llm_spec = args.llm or get_settings().llm
    llm = None
    if llm_spec and llm_spec != "none":
        from salesbot.llm import load_chat_model

        llm = load_chat_model(llm_spec)
        run_question_set("Spider store_1", spider, SPIDER_DB, spider_url, llm, f"LLM ({llm_spec})")
    else:
        print("\n(LLM path skipped: no model configured; pass --llm SPEC)")

    if args.seed:
        from tools.sales.seed import seed_sample_company

        seed_sample_company()
    sales_url = get_settings().sales_database_url
    sales_path = Path(sales_url.removeprefix("sqlite:///"))
    if SALES_QUESTIONS.exists() and sales_path.exists():
        sales = load_jsonl(SALES_QUESTIONS, args.limit)
        run_question_set("sample sales", sales, sales_path, sales_url, None, "no LLM (rules)")
        if llm is not None:
            run_question_set("sample sales", sales, sales_path, sales_url, llm, f"LLM ({llm_spec})")
    else:
        print("\n(sample sales set skipped: run `salesbot seed` first or pass --seed)")
    if args.seed:
        shutil.rmtree(os.environ["SALESBOT_HOME"], ignore_errors=True)


if __name__ == "__main__":
    main()
