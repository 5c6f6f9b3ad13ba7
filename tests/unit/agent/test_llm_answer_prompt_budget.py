"""The LLM answer's prompt fits the time the model has: passages cut to their units that answer the question."""

from __future__ import annotations

from agent.answer.llm_answer import fitted_passages
from knowledge.models import RetrievedChunk


def words(text: str) -> int:
    """A stand-in tokenizer: one token per word."""
    return len(text.split())


def passage(source: str, text: str) -> RetrievedChunk:
    return RetrievedChunk(chunk_id=source, doc_id=source, source=source, title=source, section="1", text=text,
                          score=1.0, doc_type="contract")


# Clause lines, as contracts are chunked: each line is one answer unit.
DELIVERY = passage("a.md", "4.1 The seller ships within thirty days of the order.\n4.2 Shipping is by road freight.\n"
                           "5.1 The buyer pays within 45 days of the invoice.\n"
                           "9.1 Disputes go to arbitration in the capital.")
WARRANTY = passage("b.md", "6.1 The warranty runs for 24 months from acceptance.\n"
                           "6.2 It excludes misuse and fire damage.")


def test_without_a_budget_every_passage_goes_whole() -> None:
    kept, texts = fitted_passages("When does the buyer pay?", [DELIVERY, WARRANTY], None, words)
    assert kept == [DELIVERY, WARRANTY] and texts == [DELIVERY.text, WARRANTY.text]


def test_a_passage_too_long_for_the_budget_keeps_the_units_that_answer_the_question() -> None:
    kept, texts = fitted_passages("When does the buyer pay the invoice?", [DELIVERY, WARRANTY], 22, words)
    assert kept == [DELIVERY]
    assert texts == ["5.1 The buyer pays within 45 days of the invoice."]
    assert sum(words(text) for text in texts) <= 22


def test_passages_past_the_budget_are_left_out_and_a_big_budget_keeps_all() -> None:
    whole_first = words(DELIVERY.text) + 20  # room for the first passage whole (with its header) but not the second
    kept, texts = fitted_passages("When does the buyer pay?", [DELIVERY, WARRANTY], whole_first, words)
    assert kept[0] == DELIVERY and texts[0] == DELIVERY.text
    assert all(text in WARRANTY.text for text in texts[1:])
    assert fitted_passages("When does the buyer pay?", [DELIVERY, WARRANTY], 10_000, words)[1] == [DELIVERY.text,
                                                                                                   WARRANTY.text]


def test_the_best_passage_keeps_its_best_unit_even_when_nothing_fits() -> None:
    kept, texts = fitted_passages("How long is the warranty?", [WARRANTY, DELIVERY], 0, words)
    assert kept == [WARRANTY] and texts == ["6.1 The warranty runs for 24 months from acceptance."]
