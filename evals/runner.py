"""Run the evaluation suites on the golden split and the corpora: retrieve and answer each question once, score,
gate, report."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from evals import rag, retrieval, safety, sql
from evals.corpora import EvalCorpus, corpus_environment, corpus_home, discover_corpora, resolve_corpora
from evals.loading import DEFAULT_SPLIT, SQL_WRITE_PROBES, load_dataset, load_golden_split
from evals.models import (
    SUITES,
    EvalDataset,
    EvalQuestion,
    EvalReport,
    QuestionOutcome,
    RetrievedSummary,
    SqlOutcome,
)
from evals.thresholds import compare_with_baseline, failed_metrics, load_thresholds

logger = logging.getLogger(__name__)

# Same depth as benchmarks/retrieval.py, so MRR agrees; hit@1/hit@3 do not depend on it.
DEFAULT_K = 10
DEFAULT_JUDGE_LIMIT = 10
# Which per-question work each suite needs: rag and safety read answers; every golden suite reads retrieval.
_NEEDS_ANSWERS = {"rag", "safety"}
_NEEDS_QUESTIONS = {"retrieval", "rag", "safety"}


@dataclass
class EvalOptions:
    """One `salesbot eval` run. Which question sets run:

    - the golden set's `split` (default test), or the `dataset_path` file instead; left out when `corpora` is
      given and neither of these is;
    - `corpora` (names, folder paths or "all"); None means every corpus present for suite "all" (unless
      `dataset_path` is given: that run is about the file), none otherwise.
    """

    suite: str = "all"
    dataset_path: Path | None = None
    split: str | None = None
    corpora: list[str] | None = None
    k: int = DEFAULT_K
    judge: str | None = None
    judge_limit: int = DEFAULT_JUDGE_LIMIT
    thresholds_path: Path | None = None
    baseline_path: Path | None = None
    sql_limit: int | None = None
    # Prepare the knowledge bases: the bundled samples into SALESBOT_HOME, each corpus into its own home.
    ingest_samples: bool = True
    # The systems under test; None means the real ones (knowledge.retriever, agent.service, tools.model_tools).
    # Tests pass fakes here; the real modules are looked up at call time, so monkeypatching them works too.
    retrieve: Callable[[str, str, int], list[Any]] | None = None
    answer: Callable[[Any], Any] | None = None
    answer_data_question: Callable[..., Any] | None = None
    coach: Callable[[Path, str], dict[str, Any]] | None = None
    progress: Callable[[str], None] = field(default=lambda message: None)


def suites_for(suite: str) -> list[str]:
    if suite == "all":
        return [*SUITES, "coach"]
    if suite == "coach":
        return ["coach"]
    if suite not in SUITES:
        raise ValueError(f"unknown suite {suite!r}; choose one of {', '.join(SUITES)} or all")
    return [suite]


def ensure_sample_knowledge() -> str:
    """Ingest the bundled samples into SALESBOT_HOME (incremental by content hash, so cheap when done)."""
    from knowledge import ingest
    from salesbot.settings import SAMPLES_DIR
    from tools.sales.seed import install_demo_pricing_policy

    # The evals price with the sample company's policy unless another one is configured.
    install_demo_pricing_policy()
    started = time.monotonic()
    report = ingest.ingest_paths([SAMPLES_DIR])
    return _ingest_note("bundled samples ingested into SALESBOT_HOME", report, time.monotonic() - started)


def ensure_corpus_knowledge(corpus: EvalCorpus) -> str:
    """Ingest a corpus's documents into the current (the corpus's own) SALESBOT_HOME, incrementally."""
    from knowledge import ingest

    started = time.monotonic()
    report = ingest.ingest_paths([corpus.documents_dir])
    return _ingest_note(f"corpus {corpus.name} ingested into its own home", report, time.monotonic() - started)


def _ingest_note(what: str, report: Any, seconds: float) -> str:
    from collections import Counter

    statuses = Counter(result.status for result in report.results)
    counts = ", ".join(f"{count} {status}" for status, count in sorted(statuses.items())) + f"; {seconds:.1f} s"
    failed = "; ".join(f"{result.source}: {result.reason}" for result in report.failed)
    return f"knowledge base: {what} ({counts})" + (f" — failed: {failed}" if failed else "")


def ensure_sample_sales_data() -> str:
    """Seed the sample company's sales database under SALESBOT_HOME (idempotent: only what is missing)."""
    from tools.sales.seed import seed_sample_company

    added = seed_sample_company()
    return f"sales database: sample company seeded ({added})"


def table_row_counts() -> dict[str, int]:
    """Rows per table of the configured sales database: compared before and after the write probes."""
    from sqlalchemy import inspect, text

    from salesbot.database import sales_engine

    engine = sales_engine()
    with engine.connect() as connection:
        return {table: int(connection.execute(text(f'SELECT COUNT(*) FROM "{table}"')).scalar() or 0)
                for table in inspect(engine).get_table_names()}


def _summarize_chunk(chunk: object) -> RetrievedSummary:
    return RetrievedSummary(
        source=str(getattr(chunk, "source", "")),
        section=str(getattr(chunk, "section", "") or ""),
        score=float(getattr(chunk, "score", 0.0) or 0.0),
        access=list(getattr(chunk, "access", []) or []),
        text=str(getattr(chunk, "text", "") or ""),
    )


def real_retrieve(query: str, role: str, k: int) -> list[Any]:
    # Looked up on the module at call time so a test (or a degraded build) can replace the retriever.
    from knowledge import retriever

    return retriever.retrieve_with_role_filter(query, role, k=k)


def real_answer(request: Any) -> Any:
    from agent import service

    return service.answer_turn(request)


def real_answer_data_question(question: str, role: str, db_url: str | None = None) -> Any:
    from tools import model_tools as sql_tool

    return sql_tool.answer_data_question(question, role, db_url=db_url)


def real_spider_answer(question: str, role: str, db_url: str | None = None) -> Any:
    """The product's text-to-SQL answer with the row cap lifted and no chart: what Spider scoring needs."""
    from evals.sql import SPIDER_ROW_CAP
    from tools.text2sql.service import answer_data_question

    return answer_data_question(question, role, db_url=db_url, row_cap=SPIDER_ROW_CAP, make_chart=False)


def retrieve_for_questions(questions: list[EvalQuestion], outcomes: dict[str, QuestionOutcome], k: int,
                           retrieve: Callable[[str, str, int], list[Any]]) -> None:
    for question in questions:
        outcome = outcomes[question.id]
        try:
            chunks = retrieve(question.question, question.role, k)
        except Exception as error:  # recorded per question: the report shows it and the metrics drop
            logger.debug("retrieval failed for %s", question.id, exc_info=True)
            outcome.errors.append(f"retrieval: {type(error).__name__}: {error}")
            chunks = []
        retrieval.record_retrieval(outcome, question, [_summarize_chunk(chunk) for chunk in chunks], k)


def answer_questions(questions: list[EvalQuestion], outcomes: dict[str, QuestionOutcome], run_id: str,
                     answer: Callable[[Any], Any], progress: Callable[[str], None]) -> dict[str, str]:
    """Answer every question in its own thread; returns the text each user was shown (answer + quotes)."""
    from agent.models import TurnRequest

    shown: dict[str, str] = {}
    for index, question in enumerate(questions, start=1):
        outcome = outcomes[question.id]
        request = TurnRequest(text=question.question, role=question.role, user_id="eval",
                              thread_id=f"eval-{run_id}-{question.id}", channel="eval")
        try:
            result = answer(request)
        except Exception as error:
            logger.debug("answer failed for %s", question.id, exc_info=True)
            outcome.errors.append(f"answer: {type(error).__name__}: {error}")
            continue
        outcome.answer = result.answer
        outcome.refused = result.refused
        outcome.route = str(getattr(result, "route", "") or "")
        outcome.grounded = bool(result.citations or getattr(result, "table", None)
                                or getattr(result, "pricing", None) or getattr(result, "pending_actions", None))
        outcome.cited_sources = [citation.source for citation in result.citations]
        outcome.executed_actions = len(result.executed_actions)
        shown[question.id] = "\n".join([result.answer, *(citation.quote for citation in result.citations)])
        if index % 10 == 0:
            progress(f"answered {index}/{len(questions)}")
    return shown


def new_outcome(question: EvalQuestion, corpus: str = "") -> QuestionOutcome:
    return QuestionOutcome(
        id=question.id, question=question.question, role=question.role, language=question.language,
        corpus=corpus, cross_language=question.cross_language, category=question.category,
        flags=list(question.flags), expected_sources=list(question.expected_sources),
    )


@dataclass
class QuestionSet:
    """Questions scored together: the golden split (or a --dataset file) unprefixed, a corpus as `NAME.`."""

    dataset: EvalDataset
    corpus: EvalCorpus | None = None
    split: str | None = None  # the golden split, when this set is one

    @property
    def prefix(self) -> str:
        return f"{self.corpus.name}." if self.corpus else ""

    @property
    def name(self) -> str:
        return self.corpus.name if self.corpus else self.dataset.name


@dataclass
class _RunState:
    """What the stages of one run accumulate."""

    notes: list[str] = field(default_factory=list)
    metrics: dict[str, float | None] = field(default_factory=dict)
    outcomes: dict[str, QuestionOutcome] = field(default_factory=dict)
    sql_items: list[SqlOutcome] = field(default_factory=list)
    datasets: dict[str, str] = field(default_factory=dict)


def question_sets(options: EvalOptions, notes: list[str]) -> list[QuestionSet]:
    """The golden split and/or corpora this run scores (see EvalOptions); unusable input raises DatasetError."""
    if options.corpora is not None:
        corpora = resolve_corpora(options.corpora)
    elif options.suite == "all" and options.dataset_path is None:
        corpora, skipped = discover_corpora()
        notes.extend(skipped)
    else:
        corpora = []
    sets: list[QuestionSet] = []
    if options.dataset_path is not None:
        sets.append(QuestionSet(load_dataset(options.dataset_path)))
    elif options.split is not None or options.corpora is None:
        split = options.split or DEFAULT_SPLIT
        sets.append(QuestionSet(load_golden_split(split), split=split))
    sets.extend(QuestionSet(load_dataset(corpus.questions_path), corpus) for corpus in corpora)
    return sets


def run_evaluation(options: EvalOptions) -> EvalReport:
    """Run the chosen suites and return the report (files are written by evals.report)."""
    started = time.monotonic()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    suites = suites_for(options.suite)
    coach_skipped = options.suite == "all" and (options.dataset_path is not None or options.corpora is not None)
    if coach_skipped:
        # A run narrowed to a file or to named corpora is about those questions, as for the corpora above.
        suites.remove("coach")
    thresholds = load_thresholds(options.thresholds_path)
    judge = None
    if options.judge and "rag" in suites:
        from evals.judge import build_judge

        judge = build_judge(options.judge)  # before any work: a bad --judge fails in a second, not minutes
    state = _RunState()
    if coach_skipped:
        state.notes.append("coach: not run (the run is narrowed by --dataset or --corpus; `salesbot eval coach`)")
    sets: list[QuestionSet] = []
    if _NEEDS_QUESTIONS & set(suites):
        sets = question_sets(options, state.notes)  # every file checked before the first slow step
        run_home = _run_home()
        for question_set in sets:
            _run_question_set(options, suites, judge, question_set, state, run_home)
    if "safety" in suites:
        _run_sql_write_probes(options, state)
    if "sql" in suites:
        _run_spider(options, state)
    if "coach" in suites:
        _run_coach(options, state)

    report = EvalReport(
        suite=options.suite, suites_run=suites,
        dataset=next(iter(state.datasets.values()), ""), datasets=state.datasets, started_at=started_at,
        duration_s=round(time.monotonic() - started, 2),
        config=_run_config(options, next((question_set.split for question_set in sets if question_set.split), None)),
        metrics=state.metrics, thresholds={name: rule for name, rule in thresholds.items() if name in state.metrics},
        failed=failed_metrics(state.metrics, thresholds), notes=state.notes,
        questions=list(state.outcomes.values()), sql_items=state.sql_items,
    )
    if options.baseline_path:
        baseline = EvalReport.model_validate_json(Path(options.baseline_path).read_text(encoding="utf-8"))
        report.baseline = str(options.baseline_path)
        compare_with_baseline(report, baseline)
    return report


def _run_home() -> Path:
    from salesbot.settings import get_settings

    return get_settings().home_dir


def _run_question_set(options: EvalOptions, suites: list[str], judge: Any, question_set: QuestionSet,
                      state: _RunState, run_home: Path) -> None:
    """One question set; a corpus runs in its own data directory, under its own settings."""
    corpus = question_set.corpus
    state.datasets[question_set.name] = question_set.dataset.path
    if corpus is None:
        if options.ingest_samples:
            _note_setup(state.notes, "knowledge base", ensure_sample_knowledge)
        _score_question_set(options, suites, judge, question_set, state)
        return
    with corpus_environment(corpus, corpus_home(run_home, corpus)):
        if options.ingest_samples:
            _note_setup(state.notes, f"knowledge base of corpus {corpus.name}",
                        lambda: ensure_corpus_knowledge(corpus))
        _score_question_set(options, suites, judge, question_set, state)


def _score_question_set(options: EvalOptions, suites: list[str], judge: Any, question_set: QuestionSet,
                        state: _RunState) -> None:
    """retrieval / rag / safety on one set: each question is retrieved and answered once, scored by all."""
    dataset, prefix, label = question_set.dataset, question_set.prefix, question_set.name
    started = time.monotonic()
    questions = dataset.questions
    by_id = {question.id: question for question in questions}
    corpus_name = question_set.corpus.name if question_set.corpus else ""
    outcomes_by_id = {question.id: new_outcome(question, corpus_name) for question in questions}
    outcomes = list(outcomes_by_id.values())
    notes: list[str] = []
    metrics: dict[str, float | None] = {}
    options.progress(f"{len(questions)} questions from {label} ({dataset.kind})")
    if dataset.skipped:
        notes.append(f"dataset: {len(dataset.skipped)} line(s) left out ({'; '.join(dataset.skipped[:5])})")
    options.progress(f"{label}: retrieving")
    retrieve_for_questions(questions, outcomes_by_id, options.k, options.retrieve or real_retrieve)
    if "retrieval" in suites:
        metrics.update(retrieval.aggregate_retrieval(outcomes, options.k))
    if _NEEDS_ANSWERS & set(suites):
        options.progress(f"{label}: answering")
        run_id = uuid.uuid4().hex[:8]
        shown = answer_questions(questions, outcomes_by_id, run_id, options.answer or real_answer,
                                 options.progress)
        if "rag" in suites:
            notes.extend(_score_answers(options, judge, outcomes, by_id))
            metrics.update(rag.aggregate_rag(outcomes))
        if "safety" in suites:
            for question in questions:
                safety.record_safety_checks(outcomes_by_id[question.id], question, shown.get(question.id, ""))
            metrics.update(safety.aggregate_safety(outcomes, by_id))
            metrics["safety.errors"] = _answer_errors(outcomes)
    notes.append(f"{len(questions)} questions scored in {time.monotonic() - started:.0f} s")
    state.metrics.update({prefix + name: value for name, value in metrics.items()})
    state.notes.extend(f"{label}: {note}" for note in notes)
    state.outcomes.update({outcome.label: outcome for outcome in outcomes})


def _score_answers(options: EvalOptions, judge: Any, outcomes: list[QuestionOutcome],
                   by_id: dict[str, EvalQuestion]) -> list[str]:
    """Our answer checks, ragas's non-LLM metrics and (with --judge) the LLM judge; returns notes."""
    for outcome in outcomes:
        rag.record_answer_scores(outcome, by_id[outcome.id])
    options.progress("scoring answers with ragas")
    notes = rag.run_ragas_non_llm(outcomes, by_id)
    if judge is not None:
        options.progress(f"judging with {options.judge}")
        notes.extend(rag.run_ragas_judge(outcomes, by_id, judge, options.judge_limit))
    else:
        notes.append("judge metrics (faithfulness, answer relevancy, factual correctness) not run: "
                     "pass --judge MODEL")
    return notes


def _run_sql_write_probes(options: EvalOptions, state: _RunState) -> None:
    options.progress("SQL write probes")
    if options.ingest_samples:
        # Against the real sales database: a tool that says "no data" has not refused anything.
        _note_setup(state.notes, "sales database", ensure_sample_sales_data)
    rows_before = _row_counts_or_none()
    data_question = options.answer_data_question or real_answer_data_question
    probe_outcomes = _guarded(state.notes, "SQL write probes", lambda: safety.run_sql_write_probes(
        safety.load_write_probes(SQL_WRITE_PROBES), data_question))
    state.sql_items.extend(probe_outcomes)
    state.metrics.update(safety.aggregate_write_probes(probe_outcomes))
    if not probe_outcomes:  # the SQL tool could not be asked at all: that is not a pass
        state.metrics["safety.sql_write_refusal_rate"] = 0.0
    rows_after = _row_counts_or_none()
    if rows_before is not None and rows_after is not None:
        changed = sorted(table for table in rows_before.keys() | rows_after.keys()
                         if rows_before.get(table) != rows_after.get(table))
        state.metrics["safety.sql_tables_changed"] = float(len(changed))
        if changed:
            state.notes.append(f"SQL write probes changed row counts of: {', '.join(changed)}")


def _run_spider(options: EvalOptions, state: _RunState) -> None:
    options.progress("text-to-SQL execution accuracy")
    items = sql.load_spider_items()[: options.sql_limit]
    accuracy_outcomes = _guarded(state.notes, "text-to-SQL", lambda: sql.run_spider(
        items, options.answer_data_question or real_spider_answer))
    state.sql_items.extend(accuracy_outcomes)
    state.metrics.update(sql.aggregate_sql(accuracy_outcomes))
    if not accuracy_outcomes:  # the tool could not be asked at all: that is not a pass
        state.metrics["sql.execution_accuracy"] = 0.0


def coach_split(options: EvalOptions) -> str:
    """`eval coach --split` chooses the conversations; every other run (CI's `eval all`) scores the test split."""
    return (options.split or "test") if options.suite == "coach" else "test"


def _run_coach(options: EvalOptions, state: _RunState) -> None:
    from evals.coach import LABELS_FILE, load_conversations, run_coach_eval

    split = coach_split(options)
    options.progress(f"coach mode on the {split} conversations")
    if options.ingest_samples:
        # Cards resolve customers and products through the registry and the sales database of the sample company.
        _note_setup(state.notes, "sales database", ensure_sample_sales_data)
        _note_setup(state.notes, "pricing policy", _install_demo_pricing_policy)
        _note_setup(state.notes, "entity registry", _use_demo_entities)
    if options.coach is None:
        try:
            from tools.coach import coach_path  # noqa: F401 - checked once, not once per conversation
        except ImportError as error:
            # A missing coach is a failed gate with one clear note, not 36 identical errors or a crashed run.
            state.notes.append(f"coach: not run, the coach module is unavailable ({error})")
            state.metrics["coach.errors"] = float(len(load_conversations(split)))
            return
    metrics, notes, _scores = run_coach_eval(split, coach=options.coach, progress=options.progress)
    state.metrics.update(metrics)
    state.notes.extend(notes)
    state.datasets["coach"] = f"{LABELS_FILE} ({split})"


def _use_demo_entities() -> str:
    """The sample company's entities.yaml for the registry, as `salesbot demo` does, unless one is configured:
    the conversations name the sample company's customers, products and competitors."""
    import os

    from salesbot.settings import SAMPLES_DIR, get_settings, reset_runtime

    if get_settings().entities_file is not None:
        return f"entity registry: {get_settings().entities_file}"
    os.environ["SALESBOT_ENTITIES_FILE"] = str(SAMPLES_DIR / "entities.yaml")
    reset_runtime()
    return "entity registry: the sample company's entities.yaml"


def _install_demo_pricing_policy() -> str:
    from tools.sales.seed import install_demo_pricing_policy

    # Pricing proposals price with the sample company's policy unless another one is configured.
    install_demo_pricing_policy()
    return "pricing policy: the sample company's policy unless one is configured"


def _answer_errors(outcomes: Any) -> float:
    """Questions whose answer crashed: a safety check cannot pass on an answer that never came."""
    return float(sum(1 for outcome in outcomes if any(error.startswith("answer:") for error in outcome.errors)))


def _note_setup(notes: list[str], what: str, setup: Callable[[], str]) -> None:
    """Prepare sample data; a failure is a note (an already-filled store still lets the suites run)."""
    try:
        notes.append(setup())
    except Exception as error:
        logger.debug("%s setup failed", what, exc_info=True)
        notes.append(f"{what}: preparing the bundled sample data failed ({type(error).__name__}: {error})")


def _row_counts_or_none() -> dict[str, int] | None:
    try:
        return table_row_counts()
    except Exception:
        logger.debug("could not count sales database rows", exc_info=True)
        return None


def _guarded(notes: list[str], what: str, work: Callable[[], list[SqlOutcome]]) -> list[SqlOutcome]:
    """A whole suite that cannot start (tool missing) becomes a note and an empty result, not a crash."""
    try:
        return work()
    except Exception as error:
        logger.debug("%s could not run", what, exc_info=True)
        notes.append(f"{what} could not run: {type(error).__name__}: {error}")
        return []


def _run_config(options: EvalOptions, split: str | None) -> dict[str, object]:
    from salesbot.settings import get_settings

    settings = get_settings()
    return {"k": options.k, "judge": options.judge, "judge_limit": options.judge_limit if options.judge else None,
            "llm": settings.llm, "embedding": settings.embedding, "split": split}
