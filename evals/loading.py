"""Load evaluation datasets from JSONL: the golden set's dev/test splits, corpus question sets, feedback exports."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from evals.matching import detect_language
from evals.models import EvalDataset, EvalQuestion, GoldenSplit

EVALS_DIR = Path(__file__).resolve().parent
DATASETS_DIR = EVALS_DIR / "datasets"
# dev may be read while tuning; test never (evals/README.md). CI gates and README figures use test.
GOLDEN_DEV = DATASETS_DIR / "golden_dev.jsonl"
GOLDEN_TEST = DATASETS_DIR / "golden_test.jsonl"
GOLDEN_SPLITS: dict[str, tuple[Path, ...]] = {"dev": (GOLDEN_DEV,), "test": (GOLDEN_TEST,),
                                              "all": (GOLDEN_DEV, GOLDEN_TEST)}
DEFAULT_SPLIT: GoldenSplit = "test"
SQL_WRITE_PROBES = DATASETS_DIR / "sql_write_probes.jsonl"

# Feedback verdicts that make the recorded answer and its sources a reference; anything else (rejected,
# edited…) keeps the question for re-answering but gives it no reference.
# tools.feedback records adopted / rejected / modified; a modified answer is the user's edit of ours, so
# neither it nor our original is a trustworthy reference.
POSITIVE_VERDICTS = {"adopted", "accepted", "approved", "up", "thumbs_up", "helpful", "good", "positive", "yes"}
_GOLDEN_MARKERS = {"key_facts", "expected_sources", "flags", "reference_answer", "reference_contexts"}


class DatasetError(ValueError):
    """A dataset file that cannot be used, with the file and line named."""


def load_dataset(path: Path | str) -> EvalDataset:
    """Read a golden-set or feedback-export JSONL file; each line is recognised by its fields."""
    dataset_path = Path(path)
    if not dataset_path.is_file():
        raise DatasetError(f"dataset file not found: {dataset_path}")
    questions: list[EvalQuestion] = []
    skipped: list[str] = []
    kinds: set[str] = set()
    for line_number, line in enumerate(dataset_path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise DatasetError(f"{dataset_path.name}:{line_number}: not valid JSON ({error.msg})") from error
        if not isinstance(record, dict):
            raise DatasetError(f"{dataset_path.name}:{line_number}: expected a JSON object")
        try:
            if _GOLDEN_MARKERS & record.keys() or "verdict" not in record:
                question = EvalQuestion.model_validate(record)
                kinds.add("golden")
            else:
                kinds.add("feedback")
                if not str(record.get("question") or "").strip():
                    # Feedback on a task or opportunity proposal has no question to re-ask.
                    skipped.append(f"line {line_number}: feedback without a question")
                    continue
                question = question_from_feedback(record)
                # The same suggestion can be judged twice (adopted, later modified): keep both lines.
                question.id = _unique_id(question.id, {existing.id for existing in questions})
        except (ValidationError, ValueError) as error:
            raise DatasetError(f"{dataset_path.name}:{line_number}: {_first_error(error)}") from error
        questions.append(question)
    if not questions:
        raise DatasetError(f"dataset {dataset_path.name} has no questions")
    duplicates = _duplicate_ids(questions)
    if duplicates:
        raise DatasetError(f"dataset {dataset_path.name} repeats question ids: {', '.join(duplicates)}")
    kind = kinds.pop() if len(kinds) == 1 else "mixed"
    return EvalDataset(name=dataset_path.stem, path=str(dataset_path), kind=kind,  # type: ignore[arg-type]
                       questions=questions, skipped=skipped)


def load_golden_split(split: str = DEFAULT_SPLIT) -> EvalDataset:
    """The golden set's dev or test split, or both ("all", the whole set as before the split)."""
    if split not in GOLDEN_SPLITS:
        raise DatasetError(f"unknown golden split {split!r}; choose one of {', '.join(GOLDEN_SPLITS)}")
    parts = [load_dataset(path) for path in GOLDEN_SPLITS[split]]
    if len(parts) == 1:
        return parts[0]
    questions = [question for part in parts for question in part.questions]
    duplicates = _duplicate_ids(questions)
    if duplicates:
        raise DatasetError(f"the golden splits share question ids: {', '.join(duplicates)}")
    return EvalDataset(name=f"golden_{split}", path=", ".join(part.path for part in parts), kind="golden",
                       questions=questions, skipped=[line for part in parts for line in part.skipped])


def question_from_feedback(record: dict[str, Any]) -> EvalQuestion:
    """Turn one feedback-export line into a question; adopted answers become the reference."""
    question_text = str(record.get("question") or "").strip()
    if not question_text:
        raise ValueError("feedback line without a question")
    verdict = str(record.get("verdict") or "").strip().lower()
    answer = str(record.get("answer") or "")
    adopted = verdict in POSITIVE_VERDICTS
    sources = [_source_name(source) for source in record.get("sources") or []]
    record_id = record.get("id") or record.get("suggestion_id") or record.get("feedback_id")
    if not record_id:
        record_id = "fb-" + hashlib.sha1(f"{question_text}|{answer}".encode()).hexdigest()[:10]
    language = record.get("language") if record.get("language") in ("zh", "en") else None
    return EvalQuestion(
        id=str(record_id),
        question=question_text,
        language=language or detect_language(question_text),
        role=str(record.get("role") or "rep"),
        expected_sources=[source for source in sources if source] if adopted else [],
        reference_answer=answer if adopted else "",
        category=str(record.get("category") or "feedback"),
        origin="feedback",
        feedback_verdict=verdict or None,
        recorded_answer=answer or None,
    )


def _unique_id(candidate: str, taken: set[str]) -> str:
    suffix = 2
    unique = candidate
    while unique in taken:
        unique = f"{candidate}#{suffix}"
        suffix += 1
    return unique


def _source_name(source: Any) -> str:
    """Sources in the export may be plain names or citation objects."""
    if isinstance(source, dict):
        return str(source.get("source") or source.get("file") or "")
    return str(source)


def _duplicate_ids(questions: list[EvalQuestion]) -> list[str]:
    seen: set[str] = set()
    duplicates: list[str] = []
    for question in questions:
        if question.id in seen:
            duplicates.append(question.id)
        seen.add(question.id)
    return duplicates


def _first_error(error: Exception) -> str:
    if isinstance(error, ValidationError):
        first = error.errors()[0]
        location = ".".join(str(part) for part in first["loc"])
        return f"field {location}: {first['msg']}"
    return str(error)
