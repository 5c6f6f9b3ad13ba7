"""Unit tests for loading evaluation datasets: the golden-set format and the feedback export."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.loading import DatasetError, load_dataset
from tests.conftest import TESTDATA_DIR

EVAL_DATA = TESTDATA_DIR / "evals"


def test_golden_lines_load_with_flags_and_derived_properties() -> None:
    dataset = load_dataset(EVAL_DATA / "mini_golden.jsonl")
    assert dataset.kind == "golden"
    by_id = {question.id: question for question in dataset.questions}
    assert by_id["unans-1"].should_refuse and not by_id["unans-1"].has_retrieval_target
    assert by_id["restricted-1"].should_refuse
    assert by_id["restricted-1"].forbidden_facts == ["¥38,000"]
    assert by_id["cross-en-zh-1"].cross_language
    assert by_id["cross-en-zh-1"].expected_sources[0] == "contract_huadong_2023.md"
    assert by_id["manager-floor-1"].role == "manager" and by_id["manager-floor-1"].has_retrieval_target


def test_feedback_export_loads_as_a_dataset() -> None:
    dataset = load_dataset(EVAL_DATA / "feedback_export.jsonl")
    assert dataset.kind == "feedback"
    adopted, rejected, modified = dataset.questions
    assert adopted.id == "sg-1" and adopted.origin == "feedback"
    assert adopted.language == "zh"
    assert adopted.expected_sources == ["contract_huadong_2023.md"]
    assert adopted.reference_answer == "预付30%，验收后支付70%。"
    # A rejected answer is kept for re-asking but is not a reference.
    assert rejected.feedback_verdict == "rejected"
    assert rejected.expected_sources == [] and rejected.reference_answer == ""
    assert rejected.recorded_answer == "Yes, 40% is fine."
    assert rejected.language == "en" and rejected.role == "rep"
    # The same suggestion judged again keeps its own line; a modified answer is no reference either.
    assert modified.id == "sg-1#2" and modified.feedback_verdict == "modified"
    assert modified.reference_answer == ""
    # Feedback on a task proposal has no question to re-ask: left out, and said so.
    assert dataset.skipped == ["line 4: feedback without a question"]


def _write(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_bad_lines_are_reported_with_file_and_line(tmp_path: Path) -> None:
    good = json.dumps({"id": "q1", "question": "hi", "language": "en"})
    with pytest.raises(DatasetError, match=r"bad.jsonl:2: not valid JSON"):
        load_dataset(_write(tmp_path, [good, "{not json"]))
    with pytest.raises(DatasetError, match=r"bad.jsonl:1: field role"):
        load_dataset(_write(tmp_path, [json.dumps({"id": "q", "question": "x", "role": "boss"})]))
    with pytest.raises(DatasetError, match=r"field flags"):
        load_dataset(_write(tmp_path, [json.dumps({"id": "q", "question": "x", "flags": ["weird"]})]))
    with pytest.raises(DatasetError, match="repeats question ids: q1"):
        load_dataset(_write(tmp_path, [good, good]))
    with pytest.raises(DatasetError, match="not found"):
        load_dataset(tmp_path / "missing.jsonl")
