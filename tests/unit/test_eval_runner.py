"""Unit tests for the suite runner, the report writer and `salesbot eval`, against a scripted fake system."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from typer.testing import CliRunner

from agent.models import Citation, TurnRequest, TurnResult
from evals import runner
from evals.loading import load_dataset
from evals.report import write_report
from evals.runner import EvalOptions, run_evaluation
from evals.sql import execute_read_only, load_spider_items
from evals.thresholds import load_thresholds
from knowledge.models import RetrievedChunk
from tests.conftest import TESTDATA_DIR

MINI_GOLDEN = TESTDATA_DIR / "evals" / "mini_golden.jsonl"
QUESTIONS = {question.question: question for question in load_dataset(MINI_GOLDEN).questions}
SPIDER_ITEMS = {item["question"]: item for item in load_spider_items()}


def _chunk(source: str, text: str, rank: int, access: list[str] | None = None) -> RetrievedChunk:
    return RetrievedChunk(chunk_id=f"{source}#{rank}", doc_id=source, source=source, title=source,
                          section="1", text=text, score=1.0 / rank, doc_type="contract", access=access or ["*"])


def perfect_retrieve(query: str, role: str, k: int) -> list[RetrievedChunk]:
    """Expected sources first (with the reference passages), then two distractors."""
    question = QUESTIONS[query]
    chunks = [_chunk(source, " ".join(question.reference_contexts) + " Further clause text.", rank)
              for rank, source in enumerate(question.expected_sources, start=1)]
    chunks += [_chunk("distractor_a.md", "An unrelated clause about shipping.", 8),
               _chunk("distractor_b.md", "Another unrelated clause.", 9)]
    return chunks[:k]


def reversed_retrieve(query: str, role: str, k: int) -> list[RetrievedChunk]:
    return list(reversed(perfect_retrieve(query, role, k)))


def good_answer(request: TurnRequest) -> TurnResult:
    question = QUESTIONS[request.text]
    assert request.channel == "eval" and request.role == question.role
    if question.should_refuse:
        return TurnResult(answer="The knowledge base does not contain this; ask your manager.", refused=True)
    return TurnResult(answer=question.reference_answer, citations=[
        Citation(source=question.expected_sources[0], section="1", quote=question.reference_contexts[0])])


def leaky_answer(request: TurnRequest) -> TurnResult:
    question = QUESTIONS[request.text]
    if question.forbidden_facts:
        return TurnResult(answer=f"The floor price is {question.forbidden_facts[0]}.", refused=False)
    return good_answer(request)


def fake_data_question(question: str, role: str, db_url: str | None = None) -> Any:
    """A perfect text-to-SQL tool: the gold SQL and its rows; every write request refused."""
    item = SPIDER_ITEMS.get(question)
    if item is None:  # a write probe
        return SimpleNamespace(sql="", rows=[], refused=True, message="read-only")
    rows = [list(row) for row in execute_read_only(item["db_path"], item["gold_sql"])]
    return SimpleNamespace(sql=item["gold_sql"], rows=rows, refused=False, message="")


def refuse_outside_connections(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Fail any lookup or connection that leaves this machine, and record it.

    Without RAGAS_DO_NOT_TRACK, ragas.evaluate() looks up t.explodinggradients.com to send a usage event;
    tiktoken would download its encodings the same way.
    """
    attempts: list[str] = []
    local_hosts = ("127.0.0.1", "::1", "localhost")
    real_connect = socket.socket.connect
    real_getaddrinfo = socket.getaddrinfo

    def guarded_connect(self: socket.socket, address: Any) -> Any:
        if isinstance(address, tuple) and address[0] not in local_hosts:
            attempts.append(f"connect {address}")
            raise OSError(f"network disabled in this test: {address}")
        return real_connect(self, address)

    def guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in local_hosts and host is not None:
            attempts.append(f"lookup {host}")
            raise OSError(f"network disabled in this test: {host}")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket, "getaddrinfo", guarded_getaddrinfo)
    return attempts


def _options(**overrides: Any) -> EvalOptions:
    values: dict[str, Any] = dict(suite="all", dataset_path=MINI_GOLDEN, ingest_samples=False,
                                  retrieve=perfect_retrieve, answer=good_answer,
                                  answer_data_question=fake_data_question, sql_limit=4)
    values.update(overrides)
    return EvalOptions(**values)


def test_a_good_system_passes_every_gate(monkeypatch: pytest.MonkeyPatch) -> None:
    outside_connections = refuse_outside_connections(monkeypatch)
    report = run_evaluation(_options())
    assert outside_connections == []  # ragas ran fully offline
    assert report.failed == []
    metrics = report.metrics
    assert metrics["retrieval.hit@1"] == 1.0 and metrics["retrieval.mrr"] == 1.0
    assert metrics["retrieval.cross_language.hit@3"] == 1.0
    assert metrics["retrieval.questions"] == 6.0  # unanswerable and must-refuse lines have no target
    assert metrics["rag.key_fact_coverage"] == 1.0
    assert metrics["rag.citation_accuracy"] == 1.0
    assert metrics["rag.context_recall"] == 1.0
    assert metrics["rag.rouge_l"] == pytest.approx(1.0)
    assert metrics["safety.refusal_rate"] == 1.0 and metrics["safety.false_refusal_rate"] == 0.0
    assert metrics["safety.leaks"] == 0.0 and metrics["safety.injection_failures"] == 0.0
    assert metrics["safety.sql_write_refusal_rate"] == 1.0
    assert metrics["sql.execution_accuracy"] == 1.0


def test_a_degraded_retriever_fails_the_suite() -> None:
    report = run_evaluation(_options(suite="retrieval", retrieve=reversed_retrieve))
    assert report.metrics["retrieval.hit@1"] == 0.0
    assert report.metrics["retrieval.mrr"] < 0.5
    assert {"retrieval.hit@1", "retrieval.mrr"} <= set(report.failed)


def test_a_leaked_floor_price_fails_safety_for_that_role() -> None:
    report = run_evaluation(_options(suite="safety", answer=leaky_answer))
    # Both rep questions with forbidden facts leak: the floor price and the injected "100% discount".
    assert report.metrics["safety.leaks"] == 2.0
    assert report.metrics["safety.leaks.rep"] == 2.0
    assert report.metrics["safety.injection_failures"] == 1.0
    assert "safety.leaks" in report.failed
    leaked = next(outcome for outcome in report.questions if outcome.id == "restricted-1")
    assert leaked.checks["safety.no_forbidden_fact"] is False
    assert leaked.checks["safety.refused"] is False


def test_an_answering_crash_is_counted_not_hidden() -> None:
    def crashing_answer(request: TurnRequest) -> TurnResult:
        raise RuntimeError("graph exploded")

    report = run_evaluation(_options(suite="rag", answer=crashing_answer))
    assert report.metrics["rag.errors"] == 8.0
    assert "rag.errors" in report.failed
    assert any("graph exploded" in error for error in report.questions[0].errors)


def test_sql_suite_scores_wrong_sql_as_wrong() -> None:
    def wrong_sql(question: str, role: str, db_url: str | None = None) -> Any:
        return SimpleNamespace(sql="SELECT 1", rows=[[1]], refused=False, message="")

    report = run_evaluation(_options(suite="sql", answer_data_question=wrong_sql))
    assert report.metrics["sql.execution_accuracy"] == 0.0
    assert report.failed == ["sql.execution_accuracy"]


def test_report_files_and_baseline_regressions(tmp_path: Path) -> None:
    good = run_evaluation(_options())
    baseline_path = write_report(good, tmp_path / "good")
    assert {path.name for path in (tmp_path / "good").iterdir()} == {
        "report.json", "report.md", "metrics.png"}  # nothing failed: no heat map
    degraded = run_evaluation(_options(retrieve=reversed_retrieve, answer=leaky_answer,
                                       baseline_path=baseline_path))
    degraded_path = write_report(degraded, tmp_path / "degraded")
    files = {path.name for path in (tmp_path / "degraded").iterdir()}
    assert {"report.json", "report.md", "metrics.png", "failures_heatmap.png"} <= files
    assert (tmp_path / "degraded" / "failures_heatmap.png").read_bytes()[:4] == b"\x89PNG"
    assert "retrieval.hit@1" in degraded.regressions and "safety.leaks" in degraded.regressions
    markdown = (tmp_path / "degraded" / "report.md").read_text(encoding="utf-8")
    assert "## Worst questions" in markdown and "restricted-1" in markdown and "⚠ regression" in markdown
    reloaded = json.loads(degraded_path.read_text(encoding="utf-8"))
    assert reloaded["failed"] == degraded.failed and reloaded["baseline"] == str(baseline_path)


def _patch_real_system(monkeypatch: pytest.MonkeyPatch, retrieve: Any) -> None:
    monkeypatch.setattr(runner, "real_retrieve", retrieve)
    monkeypatch.setattr(runner, "real_answer", good_answer)
    monkeypatch.setattr(runner, "real_answer_data_question", fake_data_question)
    monkeypatch.setattr(runner, "real_spider_answer", fake_data_question)
    monkeypatch.setattr(runner, "ensure_sample_knowledge", lambda: "knowledge base: (test) not ingested")


def test_cli_prints_the_summary_contract_and_exits_by_thresholds(monkeypatch: pytest.MonkeyPatch,
                                                                  tmp_path: Path) -> None:
    from connectors.cli import app

    _patch_real_system(monkeypatch, perfect_retrieve)
    result = CliRunner().invoke(app, ["eval", "retrieval", "--dataset", str(MINI_GOLDEN),
                                      "--report", str(tmp_path / "ok")])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(summary) == {"suite", "metrics", "thresholds", "failed", "report"}
    assert summary["suite"] == "retrieval" and summary["failed"] == []
    assert summary["thresholds"]["retrieval.hit@1"] == {"min": load_thresholds()["retrieval.hit@1"].min}
    assert Path(summary["report"]).is_file()

    _patch_real_system(monkeypatch, reversed_retrieve)
    result = CliRunner().invoke(app, ["eval", "retrieval", "--dataset", str(MINI_GOLDEN),
                                      "--report", str(tmp_path / "bad"), "--baseline", summary["report"]])
    assert result.exit_code == 1
    degraded = json.loads(result.stdout.strip().splitlines()[-1])
    assert "retrieval.hit@1" in degraded["failed"]


def test_cli_explains_unusable_input(tmp_path: Path) -> None:
    from connectors.cli import app

    bad_thresholds = tmp_path / "thresholds.yaml"
    bad_thresholds.write_text("retrieval.hit@1: 0.9\n", encoding="utf-8")
    for arguments, message in [
        (["eval", "rag", "--dataset", str(tmp_path / "nope.jsonl")], "dataset file not found"),
        (["eval", "retrieval", "--baseline", str(tmp_path / "old.json")], "baseline report not found"),
        (["eval", "everything"], "unknown suite"),
        (["eval", "retrieval", "--thresholds", str(bad_thresholds)], "retrieval.hit@1: Input should be a valid dictionary"),
    ]:
        result = CliRunner().invoke(app, arguments)
        assert result.exit_code == 2, (arguments, result.output)
        assert message in result.output
        assert "Traceback" not in result.output
