"""Text-to-SQL execution accuracy, strict and lenient, on the bundled layer, drafted layers and a held-out set.

Usage:
    python benchmarks/text2sql.py                  # every set, rules only (no LLM)
    python benchmarks/text2sql.py --llm SPEC       # also rules + LLM fallback (SPEC as SALESBOT_LLM, e.g. llamacpp:/m.gguf)
    python benchmarks/text2sql.py --seed           # seed a temporary sales database first, then run the sales set
    python benchmarks/text2sql.py --limit 20       # first N questions of each database (quick checks)
    python benchmarks/text2sql.py --sets spider_dev spider_dev_zh   # only these sets
    python benchmarks/text2sql.py --json out.json  # all figures, machine-readable
    python benchmarks/text2sql.py --show-failures  # per-question failures of the development sets

Sets (`--sets` keys):
    store_1          Spider store_1, the bundled layer hand-edited after reading its questions (development)
    store_1_drafted  Spider store_1, layer drafted by tools.text2sql.layer.draft_layer (no hand edits)
    spider_dev       four other Spider dev databases, drafted layers, English questions (development set)
    spider_dev_zh    the same databases, our Chinese versions of their questions (development set)
    spider_heldout   four more Spider dev databases, drafted layers, English (held out: aggregate figures only)
    sales            salesbot's own sample sales questions over the seeded database (needs data or --seed)

Drafted means: the database is copied to a temporary folder, `draft_layer` drafts a layer from the copy, the
draft is saved as YAML where the product looks for a manager's edited layer, and the questions go through the
product's `answer_data_question` exactly as a manager's would. The files under benchmarks/data are hashed
before and after the run; the run fails if any of them changed.

Scoring:
    strict   Spider's execution accuracy (evals.sql.results_match): gold and predicted SQL run on the database;
             the result sets must be equal as multisets (as lists when the gold SQL has ORDER BY), allowing a
             permutation of the columns, floats rounded to 6 decimals.
    lenient  strict, or: row order never matters, and the prediction may carry extra columns as long as some
             of its columns, one per gold column, hold exactly the gold rows (e.g. a name asked for and the
             prediction returns id and name). Same rows, same multiplicities; nothing else is forgiven.

`--show-failures` prints per-question failures of the development sets only; the held-out set's failures are
never printed unless `--include-heldout-failures` is also given (nobody tuning rules should read them).
`--drafted-layer` is kept for old command lines: drafted layers are always scored now.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import shutil
import sqlite3
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from evals.sql import results_match  # noqa: E402  (one Spider scorer for the benchmark and the eval suite)

DATA = ROOT / "benchmarks" / "data" / "text2sql"
SPIDER_QUESTIONS = DATA / "spider_store_1.jsonl"
SPIDER_DB = DATA / "store_1.sqlite"
SPIDER_DEV = DATA / "spider_dev"
SPIDER_HELDOUT = DATA / "spider_heldout"
SALES_QUESTIONS = DATA / "sales_questions.jsonl"
# The product caps answers at 1,000 rows; the benchmark lifts the cap so results compare with full gold sets.
BENCHMARK_ROW_CAP = 100_000
# Lenient matching tries at most this many column assignments (wide predictions stay cheap).
MAX_COLUMN_ASSIGNMENTS = 2_000


@dataclass(frozen=True)
class QuestionSet:
    """One benchmark row: which questions, over which databases, with which layer."""

    key: str
    title: str
    questions: Path
    database_dir: Path
    layer: str  # "hand-edited" (bundled), "drafted" or "bundled" (the sales layer)
    split: str  # "development", "dev" or "held-out"
    language: str

    @property
    def held_out(self) -> bool:
        return self.split == "held-out"


QUESTION_SETS = (
    QuestionSet("store_1", "Spider store_1", SPIDER_QUESTIONS, DATA, "hand-edited", "development", "en"),
    QuestionSet("store_1_drafted", "Spider store_1", SPIDER_QUESTIONS, DATA, "drafted", "development", "en"),
    QuestionSet("spider_dev", "Spider dev (4 dbs)", SPIDER_DEV / "questions.jsonl", SPIDER_DEV, "drafted", "dev", "en"),
    QuestionSet("spider_dev_zh", "Spider dev (4 dbs), Chinese", SPIDER_DEV / "questions_zh.jsonl", SPIDER_DEV,
                "drafted", "dev", "zh"),
    QuestionSet("spider_heldout", "Spider held-out (4 dbs)", SPIDER_HELDOUT / "questions.jsonl", SPIDER_HELDOUT,
                "drafted", "held-out", "en"),
)
SALES_KEY = "sales"


@dataclass
class Tally:
    """Strict and lenient hits over some questions."""

    questions: int = 0
    strict_correct: int = 0
    lenient_correct: int = 0

    def add(self, strict: bool, lenient: bool) -> None:
        self.questions += 1
        self.strict_correct += strict
        self.lenient_correct += lenient

    def figures(self) -> dict[str, Any]:
        return {**asdict(self), "strict": _ratio(self.strict_correct, self.questions),
                "lenient": _ratio(self.lenient_correct, self.questions)}


@dataclass
class SetResult:
    """Everything measured on one question set with one method."""

    question_set: QuestionSet | None
    key: str
    title: str
    layer: str
    split: str
    language: str
    method: str
    overall: Tally = field(default_factory=Tally)
    per_database: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    per_category: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    answered_by_llm: int = 0
    sent_to_llm: int = 0
    seconds: float = 0.0
    failures: list[tuple[dict, Any]] = field(default_factory=list)

    def figures(self) -> dict[str, Any]:
        return {
            "key": self.key, "title": self.title, "layer": self.layer, "split": self.split,
            "language": self.language, "method": self.method, **self.overall.figures(),
            "sent_to_llm": self.sent_to_llm, "answered_by_llm": self.answered_by_llm, "seconds": round(self.seconds, 2),
            "ms_per_question": round(self.seconds / max(self.overall.questions, 1) * 1000, 1),
            "per_database": {name: tally.figures() for name, tally in sorted(self.per_database.items())},
            "per_category": {name: tally.figures() for name, tally in sorted(self.per_category.items())},
        }


def _ratio(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


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


def _normalized(rows: Sequence[Sequence[Any]]) -> list[tuple[Any, ...]]:
    return [tuple(round(value, 6) if isinstance(value, float) else value for value in row) for row in rows]


def lenient_match(gold_rows: Sequence[Sequence[Any]], predicted_rows: Sequence[Sequence[Any]]) -> bool:
    """Row order ignored; extra predicted columns allowed when one predicted column per gold column holds the
    gold rows (see the module docstring)."""
    gold, predicted = _normalized(gold_rows), _normalized(predicted_rows)
    if len(gold) != len(predicted):
        return False
    if not gold:
        return True
    gold_width, predicted_width = len(gold[0]), len(predicted[0])
    if predicted_width < gold_width or any(len(row) != predicted_width for row in predicted):
        return False
    gold_rows_counted = Counter(gold)
    # A predicted column can stand for a gold column only if it holds the same values (as a multiset).
    candidates = []
    for gold_column in range(gold_width):
        wanted = Counter(row[gold_column] for row in gold)
        candidates.append([column for column in range(predicted_width)
                           if Counter(row[column] for row in predicted) == wanted])
    for assignment in itertools.islice(itertools.product(*candidates), MAX_COLUMN_ASSIGNMENTS):
        if len(set(assignment)) == gold_width and Counter(
                tuple(row[column] for column in assignment) for row in predicted) == gold_rows_counted:
            return True
    return False


def load_jsonl(path: Path, limit_per_database: int | None = None) -> list[dict]:
    """Questions in file order; with a limit, the first N of each database (so every database is measured)."""
    items = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not limit_per_database:
        return items
    seen: Counter[str] = Counter()
    kept = []
    for item in items:
        seen[item.get("db", "")] += 1
        if seen[item.get("db", "")] <= limit_per_database:
            kept.append(item)
    return kept


def file_digests(folder: Path) -> dict[str, str]:
    """SHA-256 of every database file under the data folder (the read-only promise, checked end to end)."""
    return {str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(folder.rglob("*.sqlite"))}


@contextmanager
def temporary_home() -> Iterator[Path]:
    """A throwaway SALESBOT_HOME, so drafted layers and caches never touch a real home or another set."""
    from salesbot.settings import reset_runtime

    previous = os.environ.get("SALESBOT_HOME")
    home = Path(tempfile.mkdtemp(prefix="salesbot-bench-"))
    os.environ["SALESBOT_HOME"] = str(home)
    reset_runtime()
    try:
        yield home
    finally:
        if previous is None:
            os.environ.pop("SALESBOT_HOME", None)
        else:
            os.environ["SALESBOT_HOME"] = previous
        reset_runtime()
        shutil.rmtree(home, ignore_errors=True)


def install_drafted_layer(db_url: str, home: Path, name: str) -> str:
    """Draft a layer from the database and save it where the product keeps a manager's layers; returns its name.

    The saved YAML (not the in-memory draft) is what the product then loads, as after `sql layer draft -o`.
    """
    from tools.text2sql.executor import read_only_engine
    from tools.text2sql.layer import draft_layer, save_layer

    engine = read_only_engine(db_url)
    try:
        layer = draft_layer(engine, name=name)
    finally:
        engine.dispose()
    save_layer(layer, home / "semantic_layers" / f"{name}.yaml")
    return layer.name


def layer_in_use(db_url: str, home: Path) -> str:
    from tools.text2sql.context import database_context

    return database_context(db_url, layers_dir=home / "semantic_layers").layer.name


class RulesThenLlm:
    """The product's answer function with a model, counting the questions it sends to the model.

    The service itself asks the model only when the rules fail or are unsure (CompiledQuery.unsure); this wrapper
    reads the rules first without a model only to count `consulted`, then lets the service route.
    """

    def __init__(self, llm: Any) -> None:
        self.llm = llm
        self.consulted = 0

    def __call__(self, question: str, role: str, **kwargs: Any) -> Any:
        from tools.text2sql.service import answer_data_question

        rules_answer = answer_data_question(question, role, **{**kwargs, "llm": None})
        if rules_answer.method == "rules" and rules_answer.sql and not _rules_unsure(question, kwargs):
            return rules_answer
        self.consulted += 1
        return answer_data_question(question, role, **{**kwargs, "llm": self.llm})


def make_answerer(llm: Any) -> Callable[..., Any]:
    from tools.text2sql.service import answer_data_question

    return answer_data_question if llm is None else RulesThenLlm(llm)


def _rules_unsure(question: str, kwargs: dict[str, Any]) -> bool:
    """The compiler's own doubt about its reading (CompiledQuery.unsure), when it offers one."""
    from salesbot import clock
    from salesbot.settings import get_settings
    from tools.text2sql.context import database_context

    # The same cache key as the service's, so the context it has just built is reused.
    context = database_context(kwargs["db_url"], layers_dir=get_settings().home_dir / "semantic_layers",
                               today=kwargs.get("today") or clock.today())
    try:
        return bool(getattr(context.compiler.compile(question), "unsure", False))
    except Exception:  # the rules answered once already; a second reading failing means doubt
        return True


def score_questions(result: SetResult, questions: list[dict], db_path_of: Callable[[dict], Path], db_url_of:
                    Callable[[dict], str], answerer: Callable[..., Any]) -> SetResult:
    started = time.perf_counter()
    for item in questions:
        db_path = db_path_of(item)
        connection = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
        try:
            gold = connection.execute(item["gold_sql"]).fetchall()
        finally:
            connection.close()
        answer = answerer(item["question"], "admin", db_url=db_url_of(item), row_cap=BENCHMARK_ROW_CAP,
                          make_chart=False, today=_today_for(item))
        produced = bool(answer.sql) and not answer.refused
        strict = produced and results_match(gold, answer.rows, "order by" in item["gold_sql"].lower())
        lenient = strict or (produced and lenient_match(gold, answer.rows))
        result.overall.add(strict, lenient)
        result.per_database[Path(item.get("db") or db_path.name).stem].add(strict, lenient)
        result.per_category[item.get("category") or category_of(item["gold_sql"])].add(strict, lenient)
        result.answered_by_llm += answer.method == "llm"
        if not strict:
            result.failures.append((item, answer))
    result.seconds = time.perf_counter() - started
    result.sent_to_llm = getattr(answerer, "consulted", 0)
    print(f"  done: {result.key} · {result.method}: {result.overall.questions} questions in {result.seconds:.1f} s",
          file=sys.stderr, flush=True)
    return result


def _today_for(item: dict) -> date | None:
    return date.fromisoformat(item["today"]) if item.get("today") else None


def run_spider_set(question_set: QuestionSet, limit: int | None, llm: Any, method: str) -> SetResult:
    """Copy the set's databases to a temporary folder, install the layer, and score every question there."""
    questions = load_jsonl(question_set.questions, limit)
    result = SetResult(question_set, question_set.key, question_set.title, question_set.layer, question_set.split,
                       question_set.language, method)
    with temporary_home() as home:
        copies = home / "databases"
        copies.mkdir()
        for name in sorted({item["db"] for item in questions}):
            shutil.copy(question_set.database_dir / name, copies / name)
            url = f"sqlite:///{copies / name}"
            # A drafted set must be answered from its draft, the hand-edited one from the bundled layer.
            wanted = (install_drafted_layer(url, home, f"drafted-{Path(name).stem}")
                      if question_set.layer == "drafted" else Path(name).stem)
            in_use = layer_in_use(url, home)
            if in_use != wanted:
                raise SystemExit(f"{question_set.key}: the product picked layer {in_use!r}, not {wanted!r}")
        score_questions(result, questions, lambda item: copies / item["db"],
                        lambda item: f"sqlite:///{copies / item['db']}", make_answerer(llm))
    return result


def run_sales_set(limit: int | None, llm: Any, method: str) -> SetResult | None:
    from salesbot.settings import get_settings

    sales_url = get_settings().sales_database_url
    sales_path = Path(sales_url.removeprefix("sqlite:///"))
    if not (SALES_QUESTIONS.exists() and sales_path.exists()):
        return None
    result = SetResult(None, SALES_KEY, "sample sales", "bundled", "development", "zh+en", method)
    return score_questions(result, load_jsonl(SALES_QUESTIONS, limit), lambda item: sales_path,
                           lambda item: sales_url, make_answerer(llm))


def print_summary(results: list[SetResult]) -> None:
    print(f"\n{'set':<30} {'layer':<12} {'split':<12} {'method':<22} {'database':<30} "
          f"{'n':>4} {'strict':>7} {'lenient':>8}")
    for result in results:
        head = f"{result.title:<30} {result.layer:<12} {result.split:<12} {result.method[:22]:<22}"
        if len(result.per_database) > 1:
            for name, tally in sorted(result.per_database.items()):
                print(f"{head} {name:<30} {_row(tally)}")
                head = " " * len(head)
        extra = (f"   sent to the LLM {result.sent_to_llm}, answered by it {result.answered_by_llm}"
                 if result.method != "rules" else "")
        print(f"{head} {'overall':<30} {_row(result.overall)}   "
              f"{result.seconds / max(result.overall.questions, 1) * 1000:.0f} ms/q{extra}")


def _row(tally: Tally) -> str:
    figures = tally.figures()
    return f"{tally.questions:>4} {figures['strict']:>7.3f} {figures['lenient']:>8.3f}"


def print_categories(results: list[SetResult]) -> None:
    print("\nstrict accuracy by kind of gold SQL:")
    for result in results:
        cells = ", ".join(f"{name} {tally.strict_correct}/{tally.questions}"
                          for name, tally in sorted(result.per_category.items()))
        print(f"  {result.key} · {result.method}: {cells}")


def print_failures(results: list[SetResult], include_held_out: bool) -> None:
    for result in results:
        if result.split == "held-out" and not include_held_out:
            print(f"\n({result.key}: {len(result.failures)} failures not shown: held-out set; "
                  "pass --include-heldout-failures to see them)")
            continue
        print(f"\n== failures of {result.key} · {result.method} ({len(result.failures)}):")
        for item, answer in result.failures:
            print(f"- [{item['id']}] {item['question']}")
            predicted = " ".join((answer.sql or "(none) " + answer.message).split())  # model replies span lines
            print(f"    predicted: {predicted[:300]}")
            print(f"    gold:      {item['gold_sql']}")


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--llm", default=None, help="Model spec for the LLM path (default: SALESBOT_LLM; 'none' skips).")
    parser.add_argument("--limit", type=int, default=None, help="Only the first N questions of each database.")
    parser.add_argument("--seed", action="store_true", help="Seed a temporary sales database for the sales set.")
    parser.add_argument("--sets", nargs="+", choices=[item.key for item in QUESTION_SETS] + [SALES_KEY],
                        default=None, help="Only these sets (default: all).")
    parser.add_argument("--json", type=Path, default=None, help="Write every figure to this JSON file.")
    parser.add_argument("--show-failures", action="store_true", help="Print per-question failures (not held-out).")
    parser.add_argument("--include-heldout-failures", action="store_true",
                        help="With --show-failures, also print the held-out set's failures.")
    parser.add_argument("--drafted-layer", action="store_true", help="Accepted for old command lines; drafts are "
                        "always scored.")
    return parser.parse_args(argv)


def load_model(spec: str | None) -> tuple[Any, str | None]:
    from salesbot.settings import get_settings

    spec = spec or get_settings().llm
    if not spec or spec == "none":
        return None, None
    from salesbot.llm import load_chat_model

    return load_chat_model(spec), spec


def run_all(args: argparse.Namespace) -> list[SetResult]:
    llm, llm_spec = load_model(args.llm)
    label = f"rules+LLM {Path(llm_spec.split(':', 1)[-1]).name}" if llm_spec else ""
    methods: list[tuple[Any, str]] = [(None, "rules")] + ([(llm, label)] if llm else [])
    wanted = set(args.sets or [item.key for item in QUESTION_SETS] + [SALES_KEY])
    results = []
    for question_set in QUESTION_SETS:
        if question_set.key not in wanted:
            continue
        # The hand-edited store_1 layer is the development reference; the LLM is measured on drafted layers.
        for model, method in methods if question_set.layer == "drafted" else methods[:1]:
            results.append(run_spider_set(question_set, args.limit, model, method))
    if SALES_KEY in wanted:
        results.extend(run_sales(args, methods))
    if llm is None:
        print("\n(LLM path skipped: no model configured; pass --llm SPEC)")
    return results


def run_sales(args: argparse.Namespace, methods: list[tuple[Any, str]]) -> list[SetResult]:
    """The sample sales set, in the configured home or (--seed) in a temporary seeded one."""
    def scored() -> list[SetResult]:
        found = [run_sales_set(args.limit, model, method) for model, method in methods]
        if found[0] is None:
            print("\n(sample sales set skipped: run `salesbot seed` first or pass --seed)")
        return [item for item in found if item is not None]

    if not args.seed:
        return scored()
    with temporary_home():
        from tools.sales.seed import seed_sample_company

        seed_sample_company()
        return scored()


def main(argv: list[str] | None = None) -> None:
    args = parse_arguments(argv)
    started = time.perf_counter()
    before = file_digests(DATA)
    results = run_all(args)
    changed = [name for name, digest in file_digests(DATA).items() if before.get(name) != digest]
    runtime = time.perf_counter() - started
    print_summary(results)
    print_categories(results)
    if args.show_failures:
        print_failures(results, args.include_heldout_failures)
    print(f"\nruntime {runtime:.1f} s; databases under {DATA.relative_to(ROOT)} unchanged: {not changed}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({
            "runtime_s": round(runtime, 1), "limit_per_database": args.limit, "llm": args.llm,
            "databases_unchanged": not changed, "sets": [result.figures() for result in results],
        }, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"figures written to {args.json}")
    if changed:
        raise SystemExit(f"benchmark databases changed during the run: {', '.join(changed)}")


if __name__ == "__main__":
    main()
