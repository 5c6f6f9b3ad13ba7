"""The composer's signals on contract-style text: values written in words and digits, long clauses cut into
quotable units, wrapped capitals re-joined, per-candidate term rarity and rescaling, and the refusal fit.

Invented text only (no sample, no evaluation question).
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from agent.answer.answer_types import AnswerType, asked_types, value_spans
from agent.answer.extractive import unit_scores
from agent.answer.params import ComposerParams
from agent.answer.question import QuestionProfile, QuestionTerm
from agent.answer.scoring import Candidate, MatchableText, UnitFeatures, bm25_scores
from agent.answer.units import MAX_UNIT_CHARS, AnswerUnit, answer_units
from benchmarks.fit_composer import balanced_accuracy, fit_refusal
from knowledge.models import RetrievedChunk


def test_a_figure_written_in_words_and_digits_is_a_value_of_its_type() -> None:
    assert value_spans("upon sixty (60) days’ prior written notice", AnswerType.DURATION)
    assert value_spans("a fee equal to forty (40)% of net receipts", AnswerType.PERCENTAGE)
    assert value_spans("按逾期金额的万分之五支付违约金", AnswerType.PERCENTAGE)
    assert not value_spans("Section (60) of the Act", AnswerType.DURATION)


def test_which_alone_does_not_ask_for_a_name() -> None:
    assert AnswerType.NAME not in asked_types("Which setting controls the cache size?")
    assert AnswerType.NAME in asked_types("Which company supplies the sensors?")
    assert AnswerType.NAME in asked_types("Who signs the acceptance certificate?")


def test_a_long_clause_without_a_full_stop_is_cut_into_bounded_units() -> None:
    clause = ("(b) the Reseller shall, at its own cost, maintain adequate stock of the Units, provide first-line "
              "support to its customers within the Territory, keep complete and accurate records of every sale, "
              "every return and every warranty claim, allow the Vendor to inspect those records on reasonable "
              "notice, and report to the Vendor each quarter on sales, forecasts, competing products, customer "
              "complaints and any regulatory enquiry received in respect of the Units")
    units = answer_units(clause)
    assert len(units) > 1
    assert all(len(unit.quote) <= MAX_UNIT_CHARS for unit in units)
    assert " ".join(unit.quote for unit in units).replace(" ", "") == clause.replace(" ", "")


def test_a_clause_in_capitals_wrapped_over_lines_is_one_unit() -> None:
    text = ("IN NO EVENT SHALL EITHER PARTY'S AGGREGATE LIABILITY UNDER THIS AGREEMENT EXCEED THE\n"
            "FEES PAID BY THE CUSTOMER DURING THE SIX (6) MONTHS BEFORE THE CLAIM.")
    units = answer_units(text)
    assert len(units) == 1
    assert "EXCEED THE FEES PAID" in units[0].quote


def test_short_heading_lines_in_capitals_stay_apart() -> None:
    units = answer_units("ARTICLE 7 TERM\nTHIS AGREEMENT RUNS FOR THREE (3) YEARS FROM THE EFFECTIVE DATE.")
    assert [unit.quote for unit in units][0] == "ARTICLE 7 TERM"


def _profile(*words: str) -> QuestionProfile:
    return QuestionProfile(text=" ".join(words), terms=tuple(QuestionTerm(word, (word,), 2.0) for word in words),
                           types=frozenset())


def test_a_term_every_candidate_says_tells_the_units_apart_less_than_a_rare_one() -> None:
    """'acme' names the document and is in every unit; 'venue' is in one. The unit with the rare word wins, and a
    unit with only the ubiquitous word scores far below it."""
    texts = [MatchableText(text) for text in (
        "Acme may audit the books once a year.",
        "Acme and the Client choose Geneva as the venue for arbitration.",
        "Acme shall invoice monthly.",
        "Acme keeps the records for five years.")]
    scores = bm25_scores(_profile("acme", "venue"), texts)
    assert scores.index(max(scores)) == 1
    assert max(scores[0], scores[2], scores[3]) < scores[1] / 4


def _candidate(quote: str, lexical: float, dense: float, answer_type: float = 0.0) -> Candidate:
    passage = RetrievedChunk(chunk_id="c1", doc_id="d1", source="d1.md", title="d1", section="1", text=quote,
                             score=1.0, doc_type="contract")
    return Candidate(unit=AnswerUnit(quote), passage=passage, rank=0, support=1.0,
                     features=UnitFeatures(lexical=lexical, dense=dense, answer_type=answer_type, entity=0.0,
                                           retrieval=1.0))


def test_similarities_are_compared_within_the_candidates_not_on_the_models_scale() -> None:
    """An embedder whose cosines all lie in 0.80–0.90: the most similar unit still gets the full dense weight."""
    params = ComposerParams(dense_weight=1.0, type_weight=0.0, entity_weight=0.0, retrieval_weight=0.0)
    scores = unit_scores([_candidate("a", 0.10, 0.80), _candidate("b", 0.10, 0.90), _candidate("c", 0.05, 0.85)],
                         params)
    assert scores == pytest.approx([1.0, 2.0, 1.0])


def test_equal_signals_score_equally() -> None:
    params = ComposerParams()
    assert len(set(unit_scores([_candidate("a", 0.2, 0.8), _candidate("b", 0.2, 0.8)], params))) == 1


def test_the_refusal_threshold_balances_both_kinds_of_error() -> None:
    """Ten answerable questions, two unanswerable: F1 of refusing would let the rare class dominate; balanced
    accuracy puts the threshold between the unanswerable supports and the answerable ones."""
    supports = [0.9, 0.8, 0.7, 0.6, 0.55, 0.5, 0.45, 0.4, 0.35, 0.3, 0.1, 0.2]
    should_refuse = [False] * 10 + [True, True]
    cases = [SimpleNamespace(question=SimpleNamespace(should_refuse=flag)) for flag in should_refuse]
    threshold, accuracy, answerable_refused, unanswerable_answered = fit_refusal(cases, supports)  # type: ignore[arg-type]
    assert 0.2 < threshold < 0.3
    assert (accuracy, answerable_refused, unanswerable_answered) == (1.0, 0, 0)
    assert balanced_accuracy([(False, True), (False, False), (True, True), (True, False)]) == 0.5
