"""Every corpus's questions hold up against its documents as the product loads them: key facts and reference
passages are in the first expected source, expected sources exist, forbidden facts are real figures."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from evals.corpora import CORPORA_DIR, EvalCorpus, available_corpora, load_corpus
from evals.loading import load_dataset
from evals.matching import contains_fact
from tests.conftest import TESTDATA_DIR

CORPUS_FOLDERS = [CORPORA_DIR / name for name in available_corpora()] + [TESTDATA_DIR / "evals" / "corpora" / "tiny"]


@cache
def document_texts(documents_dir: Path) -> dict[str, list[str]]:
    """File name → loaded texts: the whole text, or one entry per QA row (a row is the unit a fact lives in)."""
    from knowledge.ingest import discover_files
    from knowledge.loaders import DocumentLoadError, load_document

    documents, _, _ = discover_files([documents_dir])
    texts: dict[str, list[str]] = {}
    for path in documents:
        try:
            document = load_document(path)
        except DocumentLoadError:  # an unreadable document holds no facts: its questions are reported below
            texts[path.name] = []
            continue
        rows = [f"{row.question}\n{row.answer}" for row in document.qa_rows]
        texts[document.source] = rows or [document.text]
    return texts


def _corpus(folder: Path) -> EvalCorpus:
    return load_corpus(folder)


@pytest.mark.parametrize("folder", CORPUS_FOLDERS, ids=lambda folder: folder.name)
def test_key_facts_and_reference_passages_are_in_the_first_expected_source(folder: Path) -> None:
    corpus = _corpus(folder)
    texts = document_texts(corpus.documents_dir)
    problems = []
    for question in load_dataset(corpus.questions_path).questions:
        for source in question.expected_sources:
            if source not in texts:
                problems.append(f"{question.id}: expected source {source} is not a document of the corpus")
        if not question.expected_sources:
            continue
        units = texts.get(question.expected_sources[0], [])
        for fact in [*question.key_facts, *question.reference_contexts]:
            # As the scorer matches (width, case, spacing, thousands separators), inside one text unit.
            if not any(contains_fact(unit, fact) for unit in units):
                problems.append(f"{question.id}: {fact!r} not in {question.expected_sources[0]}")
    assert problems == []


@pytest.mark.parametrize("folder", CORPUS_FOLDERS, ids=lambda folder: folder.name)
def test_refusal_questions_are_well_formed(folder: Path) -> None:
    corpus = _corpus(folder)
    all_text = "\n".join(unit for units in document_texts(corpus.documents_dir).values() for unit in units)
    for question in load_dataset(corpus.questions_path).questions:
        if question.should_refuse:
            assert question.expected_sources == [] and question.key_facts == [], question.id
        for fact in question.forbidden_facts:  # a forbidden figure that no document holds tests nothing
            assert contains_fact(all_text, fact), (question.id, fact)


def test_company_b_facts_are_verbatim_and_its_restricted_figures_are_manager_only() -> None:
    corpus = load_corpus("company_b")
    texts = document_texts(corpus.documents_dir)
    questions = load_dataset(corpus.questions_path).questions
    for question in questions:
        if question.expected_sources:
            units = texts[question.expected_sources[0]]
            for fact in [*question.key_facts, *question.reference_contexts]:
                assert any(fact in unit for unit in units), (question.id, fact)  # character for character
    policy = "\n".join(texts["pricing_policy.yaml"])
    rep_restricted = [question for question in questions if "must_refuse" in question.flags]
    assert len(rep_restricted) >= 4 and all(question.role == "rep" for question in rep_restricted)
    for question in rep_restricted:
        assert question.forbidden_facts and all(fact in policy for fact in question.forbidden_facts), question.id
    assert sum("unanswerable" in question.flags for question in questions) >= 8
    assert len(questions) >= 60
