"""Check the public-documents question set against the text the product itself extracts.

Why: every key fact must be findable in what ingestion reads (PDF/DOCX extraction included), otherwise a
miss would be blamed on the answerer when the question is wrong. Facts and reference passages are compared
with the harness's own normalisation (evals.matching.normalize_for_match: NFKC, casefold, no whitespace,
no thousands separators), so a fact that passes here is one the metrics can credit.

Run from the repository root:
    .venv/bin/python evals/corpora/public/verify.py            # check, print the composition
    .venv/bin/python evals/corpora/public/verify.py --dump DIR # also write each extracted text to DIR
    .venv/bin/python evals/corpora/public/verify.py --corpus evals/corpora/public_dev   # another corpus folder
Exit status 0 when every check passes, 1 otherwise (each problem is printed).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path

from evals.matching import normalize_for_match
from evals.models import EvalQuestion
from knowledge.loaders import DocumentLoadError, LoadedDocument, is_ingestable, load_document

HERE = Path(__file__).resolve().parent
DOCUMENTS = HERE / "documents"
QUESTIONS = HERE / "questions.jsonl"
ANSWERABLE_CATEGORIES = {"contract", "product", "faq", "policy"}
# Table markup the loader may add around PDF/DOCX table cells ("| a | b |", "| --- |"): a reference passage is
# the document's wording, so it is compared without that markup (key facts are compared exactly as the metrics do).
_TABLE_MARKUP = re.compile(r"\|+|-{3,}")


def load_corpus(folder: Path) -> tuple[dict[str, LoadedDocument], list[str]]:
    """Every ingestable file parsed by the product's loader, keyed by file name; load failures listed."""
    documents: dict[str, LoadedDocument] = {}
    problems: list[str] = []
    for path in sorted(folder.iterdir()):
        if not path.is_file() or not is_ingestable(path):
            continue
        try:
            documents[path.name] = load_document(path)
        except DocumentLoadError as error:
            problems.append(f"{path.name}: does not load ({error})")
    return documents, problems


def document_text(document: LoadedDocument) -> str:
    """The searchable text of a document: its body, or its QA rows for a QA sheet."""
    if document.text:
        return document.text
    return "\n".join(f"{row.question}\n{row.answer}" for row in document.qa_rows)


def load_questions(path: Path) -> tuple[list[EvalQuestion], list[str]]:
    questions: list[EvalQuestion] = []
    problems: list[str] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            questions.append(EvalQuestion.model_validate(json.loads(line)))
        except ValueError as error:
            problems.append(f"questions.jsonl:{number}: invalid ({str(error).splitlines()[0]})")
    ids = Counter(question.id for question in questions)
    problems += [f"{qid}: id used {count} times" for qid, count in ids.items() if count > 1]
    return questions, problems


def passage_form(text: str) -> str:
    """The harness normalisation without table markup, for comparing reference passages."""
    return _TABLE_MARKUP.sub("", normalize_for_match(text))


def check_question(question: EvalQuestion, documents: dict[str, LoadedDocument],
                   normalized: dict[str, str]) -> list[str]:
    """Problems with one question: its shape, its sources, and each fact/passage in its first source."""
    problems: list[str] = []
    label = question.id
    for source in question.expected_sources:
        if source not in documents:
            problems.append(f"{label}: expected source {source!r} is not a document of the corpus")
    if "unanswerable" in question.flags or "must_refuse" in question.flags:
        if question.expected_sources or question.key_facts:
            problems.append(f"{label}: a question to refuse has no expected sources and no key facts")
        return problems
    if question.category not in ANSWERABLE_CATEGORIES:
        problems.append(f"{label}: unknown category {question.category!r}")
    if not question.expected_sources or not question.key_facts:
        return problems + [f"{label}: an answerable question needs expected sources and key facts"]
    first = question.expected_sources[0]
    if first not in normalized:
        return problems
    restricted = set(documents[first].access) - {"*"}
    if restricted and question.role not in restricted and "restricted" not in question.flags:
        problems.append(f"{label}: source {first} is {sorted(restricted)}-only but the question is not restricted")
    for fact in question.key_facts:
        if normalize_for_match(fact) not in normalized[first]:
            problems.append(f"{label}: key fact {fact!r} not in the extracted text of {first}")
    unmarked = _TABLE_MARKUP.sub("", normalized[first])
    for passage in question.reference_contexts:
        if passage_form(passage) not in unmarked:
            problems.append(f"{label}: reference passage not in {first}: {passage[:60]!r}")
    return problems


def check_cross_language(question: EvalQuestion, documents: dict[str, LoadedDocument]) -> list[str]:
    """cross_language must say whether the question's language differs from its first source's."""
    if not question.expected_sources or question.expected_sources[0] not in documents:
        return []
    source_language = documents[question.expected_sources[0]].language
    if (question.language != source_language) != question.cross_language:
        return [f"{question.id}: cross_language={question.cross_language} but the question is "
                f"{question.language} and {question.expected_sources[0]} is {source_language}"]
    return []


def composition(questions: list[EvalQuestion], documents: dict[str, LoadedDocument]) -> str:
    counts = {
        "questions": len(questions),
        "language": dict(Counter(question.language for question in questions)),
        "cross_language": sum(question.cross_language for question in questions),
        "unanswerable": sum("unanswerable" in question.flags for question in questions),
        "restricted": sum("restricted" in question.flags for question in questions),
        "must_refuse": sum("must_refuse" in question.flags for question in questions),
        "category": dict(Counter(question.category for question in questions)),
        "by_first_source": dict(Counter(question.expected_sources[0] if question.expected_sources else "(none)"
                                        for question in questions)),
        "documents": {name: {"language": document.language, "chars": len(document_text(document)),
                             "access": document.access} for name, document in documents.items()},
    }
    return json.dumps(counts, ensure_ascii=False, indent=2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dump", type=Path, help="write each document's extracted text into this folder")
    parser.add_argument("--corpus", type=Path, default=HERE,
                        help="corpus folder to check (documents/ and questions.jsonl); default: this one")
    args = parser.parse_args(argv)
    questions_path = args.corpus / QUESTIONS.name
    documents, problems = load_corpus(args.corpus / DOCUMENTS.name)
    if args.dump:
        args.dump.mkdir(parents=True, exist_ok=True)
        for name, document in documents.items():
            (args.dump / f"{name}.txt").write_text(document_text(document), encoding="utf-8")
    if not questions_path.is_file():
        print(f"missing {questions_path}")
        return 1
    questions, question_problems = load_questions(questions_path)
    problems += question_problems
    normalized = {name: normalize_for_match(document_text(document)) for name, document in documents.items()}
    for question in questions:
        problems += check_question(question, documents, normalized)
        problems += check_cross_language(question, documents)
    print(composition(questions, documents))
    for problem in problems:
        print("PROBLEM:", problem)
    print(f"{len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
