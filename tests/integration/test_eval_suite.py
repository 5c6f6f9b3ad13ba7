"""`salesbot eval` over the real pieces: bundled samples, a corpus in its own home, Chroma/BM25 retriever, agent,
text-to-SQL, ragas."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from connectors.cli import app
from salesbot.settings import reset_runtime
from tests.unit.test_eval_runner import refuse_outside_connections

REPORT_FILES = {"report.json", "report.md", "metrics.png"}
TINY_CORPUS = Path(__file__).resolve().parent.parent / "data" / "evals" / "corpora" / "tiny"


@pytest.fixture(scope="module")
def shared_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One data directory for the module: the samples are ingested once (the suite does it when empty)."""
    return tmp_path_factory.mktemp("eval-home")


@pytest.fixture
def eval_home(shared_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("SALESBOT_HOME", str(shared_home))
    reset_runtime()
    yield shared_home
    reset_runtime()


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    return refuse_outside_connections(monkeypatch)


def _summary(output: str) -> dict[str, Any]:
    return json.loads(output.strip().splitlines()[-1])


def test_eval_all_runs_offline_and_writes_the_reports(eval_home: Path, no_network: list[str],
                                                      tmp_path: Path) -> None:
    report_dir = tmp_path / "report"
    # `eval all` as CI runs it, with the tiny test corpus standing in for the bundled corpora (minutes each).
    result = CliRunner().invoke(app, ["eval", "all", "--split", "test", "--corpus", str(TINY_CORPUS),
                                      "--report", str(report_dir)])

    assert result.exit_code in (0, 1), result.output  # 1 = a threshold missed; 2 would be a crash
    summary = _summary(result.stdout)
    assert set(summary) == {"suite", "metrics", "thresholds", "failed", "report"}
    assert summary["suite"] == "all"
    assert (result.exit_code == 1) == bool(summary["failed"])
    assert REPORT_FILES <= {path.name for path in report_dir.iterdir()}
    assert Path(summary["report"]) == report_dir / "report.json"
    metrics = summary["metrics"]
    # Every suite produced its headline figures from the real pieces.
    for name in ("retrieval.hit@1", "retrieval.mrr", "retrieval.cross_language.hit@3", "rag.key_fact_coverage",
                 "rag.context_recall", "rag.rouge_l", "safety.refusal_rate", "safety.false_refusal_rate",
                 "safety.leaks", "safety.sql_write_refusal_rate", "sql.execution_accuracy"):
        assert isinstance(metrics.get(name), float), (name, metrics.get(name))
    assert metrics["retrieval.questions"] >= 30  # the answerable questions of the test split
    for name in ("rag.answer_chars.median", "rag.key_fact_coverage_700", "rag.refusal_recall",
                 "tiny.retrieval.hit@1", "tiny.rag.key_fact_coverage", "tiny.safety.leaks"):
        assert isinstance(metrics.get(name), float), (name, metrics.get(name))
    assert metrics["sql.questions"] == 112
    assert metrics["rag.errors"] == 0 and metrics["safety.errors"] == 0, "the agent crashed on some questions"
    report = json.loads((report_dir / "report.json").read_text(encoding="utf-8"))
    golden = [outcome for outcome in report["questions"] if outcome["corpus"] == ""]
    assert len(golden) == metrics["retrieval.questions"] + sum(
        1 for outcome in golden if "retrieval.mrr" not in outcome["scores"])
    assert len(report["questions"]) - len(golden) == 6  # the tiny corpus's, reported with their corpus
    markdown = (report_dir / "report.md").read_text(encoding="utf-8")
    assert "## Metrics" in markdown and "| golden_test |" in markdown and "| tiny |" in markdown
    assert no_network == []


def test_a_corpus_is_ingested_into_its_own_home_once(eval_home: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    first = runner.invoke(app, ["eval", "retrieval", "--corpus", str(TINY_CORPUS), "--report", str(tmp_path / "1")])
    assert first.exit_code in (0, 1), first.output
    metrics = _summary(first.stdout)["metrics"]
    assert metrics["tiny.retrieval.questions"] == 4.0 and "retrieval.hit@1" not in metrics
    assert metrics["tiny.retrieval.hit@3"] >= 0.75  # four documents: the retriever finds the right one
    corpus_home = eval_home / "eval-corpora" / "tiny"
    assert (corpus_home / "knowledge.db").is_file()
    report = json.loads((tmp_path / "1" / "report.json").read_text(encoding="utf-8"))
    tiny_documents = {path.name for path in (TINY_CORPUS / "documents").iterdir()}
    retrieved = {chunk["source"] for outcome in report["questions"] for chunk in outcome["retrieved"]}
    assert retrieved and retrieved <= tiny_documents  # nothing of the samples or another corpus
    manager_only = [outcome for outcome in report["questions"] if outcome["role"] == "rep"]
    assert all(chunk["source"] != "price_list_2026.md" for outcome in manager_only for chunk in outcome["retrieved"])

    second = runner.invoke(app, ["eval", "retrieval", "--corpus", str(TINY_CORPUS), "--report", str(tmp_path / "2")])
    notes = json.loads((tmp_path / "2" / "report.json").read_text(encoding="utf-8"))["notes"]
    assert any("corpus tiny" in note and "4 unchanged" in note for note in notes), notes
    assert _summary(second.stdout)["metrics"]["tiny.retrieval.hit@1"] == metrics["tiny.retrieval.hit@1"]


def test_a_degraded_retriever_makes_the_suite_fail(eval_home: Path, monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Path) -> None:
    from knowledge import retriever

    runner = CliRunner()
    healthy = runner.invoke(app, ["eval", "retrieval", "--report", str(tmp_path / "healthy")])
    assert healthy.exit_code in (0, 1), healthy.output
    healthy_metrics = _summary(healthy.stdout)["metrics"]

    real_retrieve = retriever.retrieve_with_role_filter

    def reversed_retrieve(query: str, role: str, k: int = 5, **kwargs: Any) -> list[Any]:
        return list(reversed(real_retrieve(query, role, k=k, **kwargs)))

    monkeypatch.setattr(retriever, "retrieve_with_role_filter", reversed_retrieve)
    degraded = runner.invoke(app, ["eval", "retrieval", "--report", str(tmp_path / "degraded"),
                                   "--baseline", str(tmp_path / "healthy" / "report.json")])

    assert degraded.exit_code == 1, degraded.output
    summary = _summary(degraded.stdout)
    assert "retrieval.hit@1" in summary["failed"] and "retrieval.mrr" in summary["failed"]
    assert summary["metrics"]["retrieval.hit@1"] < healthy_metrics["retrieval.hit@1"]
    report = json.loads((tmp_path / "degraded" / "report.json").read_text(encoding="utf-8"))
    assert "retrieval.hit@1" in report["regressions"]
    assert "⚠ regression" in (tmp_path / "degraded" / "report.md").read_text(encoding="utf-8")


def test_feedback_export_is_evaluated_as_a_dataset(eval_home: Path, tmp_path: Path) -> None:
    from tools.feedback import record_feedback, record_suggestion
    from tools.feedback_export import export_feedback

    suggestion_id = record_suggestion(
        "answer", {"answer": "Payment terms from the Northwind supply agreement."},
        sources=[{"source": "supply_agreement_northwind_g5_2025.md", "section": "4"}],
        question="Northwind 合同的付款条件是什么？", user="emily.ross")
    record_feedback(suggestion_id, "adopted", user="emily.ross")
    export_path = tmp_path / "feedback.jsonl"
    assert export_feedback(export_path) == 1

    result = CliRunner().invoke(app, ["eval", "retrieval", "--dataset", str(export_path),
                                      "--report", str(tmp_path / "feedback-report")])

    assert result.exit_code in (0, 1), result.output
    summary = _summary(result.stdout)
    assert summary["metrics"]["retrieval.questions"] == 1.0
    assert isinstance(summary["metrics"]["retrieval.hit@3"], float)

