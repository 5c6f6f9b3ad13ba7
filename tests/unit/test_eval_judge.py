"""The LLM-judge path end to end with a tiny random-weight GGUF: real llama.cpp calls, meaningless scores."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from evals.runner import run_evaluation
from salesbot.settings import reset_runtime
from tests.fakes import write_tiny_gguf
from tests.unit.test_eval_runner import _options, refuse_outside_connections


def test_judge_metrics_run_through_a_real_llamacpp_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    chat_model = write_tiny_gguf(tmp_path / "judge.gguf")
    embedding_model = write_tiny_gguf(tmp_path / "embed.gguf", pooling_mean=True)
    monkeypatch.setenv("SALESBOT_EMBEDDING", f"llamacpp:{embedding_model}")
    monkeypatch.setenv("SALESBOT_LLM_N_CTX", "8192")  # byte-level tokens: ragas's few-shot prompts are long
    reset_runtime()
    outside_connections = refuse_outside_connections(monkeypatch)

    report = run_evaluation(_options(suite="rag", judge=f"llamacpp:{chat_model}", judge_limit=1))

    assert outside_connections == []
    judged = [outcome for outcome in report.questions if "rag.faithfulness" in outcome.scores]
    assert len(judged) == 1
    assert {"rag.faithfulness", "rag.factual_correctness", "rag.answer_relevancy"} <= judged[0].scores.keys()
    assert {"rag.faithfulness", "rag.factual_correctness", "rag.answer_relevancy"} <= report.metrics.keys()
    note = next(note for note in report.notes if "judge llamacpp:" in note)  # "SET: judge …"
    calls = int(re.search(r"(\d+) model call", note).group(1))  # type: ignore[union-attr]
    assert calls >= 3  # at least one structured call per metric really reached llama.cpp
    assert report.config["judge"] == f"llamacpp:{chat_model}"
    # The non-LLM metrics are still there, untouched by the judge.
    assert report.metrics["rag.key_fact_coverage"] == 1.0


def test_relevancy_is_skipped_with_a_note_without_embeddings(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    chat_model = write_tiny_gguf(tmp_path / "judge.gguf")
    monkeypatch.setenv("SALESBOT_EMBEDDING", "none")
    monkeypatch.setenv("SALESBOT_LLM_N_CTX", "8192")
    reset_runtime()

    report = run_evaluation(_options(suite="rag", judge=f"llamacpp:{chat_model}", judge_limit=1))

    assert "rag.answer_relevancy" not in report.metrics
    assert "rag.faithfulness" in report.metrics
    assert any("answer_relevancy skipped" in note and "SALESBOT_EMBEDDING=none" in note for note in report.notes)


def test_cli_rejects_an_unusable_judge(tmp_path: Path) -> None:
    from connectors.cli import app

    for judge, message in [("none", "name a model"), (f"llamacpp:{tmp_path / 'missing.gguf'}", "not found"),
                           ("gpt-4", "unknown model config")]:
        result = CliRunner().invoke(app, ["eval", "rag", "--judge", judge, "--dataset",
                                          str(Path(__file__).parent.parent / "data" / "evals" / "mini_golden.jsonl")])
        assert result.exit_code == 2, (judge, result.output)
        assert message in result.output
