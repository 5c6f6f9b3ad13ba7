"""Ranking mechanics of the retriever: doc-type intent prior, per-document diversity, alias translation, tokens."""

from __future__ import annotations

import pytest

from knowledge import retriever
from knowledge.base import get_knowledge_base
from knowledge.graph import upsert_entity
from knowledge.retriever import analyze_query, rerank_by_document
from knowledge.text import intended_doc_types, tokenize


def test_cue_words_name_the_kind_of_document_a_question_wants() -> None:
    assert "policy" in intended_doc_types("What is the floor price of the X3?")
    assert "policy" in intended_doc_types("这个型号的底价是多少")
    assert "faq" in intended_doc_types("设备老是报错怎么办")
    assert "contract" in intended_doc_types("Which clause covers liquidated damages?")
    assert intended_doc_types("hello there") == []


def test_hyphenated_words_also_match_their_parts_but_skus_stay_whole() -> None:
    tokens = tokenize("Class I Division 2 hazardous-location certification")
    # The parts are stemmed like standalone words, so "hazardous location" (two words) matches too.
    assert {"hazardous-location", *tokenize("hazardous"), *tokenize("location")} <= set(tokens)
    sku_tokens = tokenize("QM-X3 and RS-485")
    assert "qm-x3" in sku_tokens and "rs-485" in sku_tokens
    assert "qm" not in sku_tokens and "rs" not in sku_tokens


def test_intent_prior_lifts_the_asked_for_document_type() -> None:
    ranked = [("paper:1", 0.030), ("policy:1", 0.020)]
    documents = {"paper:1": ("paper", "whitepaper"), "policy:1": ("policy", "policy")}
    assert [chunk for chunk, _ in rerank_by_document(ranked, documents, [])] == ["paper:1", "policy:1"]
    lifted = rerank_by_document(ranked, documents, ["policy"])
    assert [chunk for chunk, _ in lifted] == ["policy:1", "paper:1"]
    assert lifted[0][1] == pytest.approx(0.020 * (1 + retriever.INTENT_BOOST))


def test_one_document_cannot_fill_the_top_while_another_holds_a_close_answer() -> None:
    ranked = [("long:1", 0.0300), ("long:2", 0.0299), ("long:3", 0.0298), ("other:1", 0.0280)]
    documents = {chunk: (chunk.split(":")[0], "whitepaper") for chunk, _ in ranked}
    order = [chunk for chunk, _ in rerank_by_document(ranked, documents, [])]
    assert order[0] == "long:1"
    assert order.index("other:1") < order.index("long:2")
    assert set(order) == set(documents)


def test_candidates_without_a_document_row_are_dropped() -> None:
    ranked = [("gone:1", 0.05), ("kept:1", 0.01)]
    assert rerank_by_document(ranked, {"kept:1": ("kept", "note")}, []) == [("kept:1", 0.01)]


def test_named_entity_adds_its_distinctive_other_language_names() -> None:
    kb = get_knowledge_base()
    with kb.session() as session:
        upsert_entity(session, "competitor", "kangtuo", "康拓医疗", ["康拓", "Kangtuo"])
        upsert_entity(session, "product", "x3", "清泉 X3", ["X3", "Qingquan X3"])
        upsert_entity(session, "product", "x3pro", "清泉 X3 Pro", ["X3 Pro", "Qingquan X3 Pro"])
        kb.bump_generation(session)
        session.commit()
    analysis = analyze_query("Is Kangtuo cheaper than our X3?", kb)
    assert set(analysis.entity_ids) == {"competitor:kangtuo", "product:x3"}
    assert "康拓" in analysis.alias_tokens
    # Shared by every product of the line: searching it would pull in the siblings' documents.
    assert "清泉" not in analysis.alias_tokens and "qingquan" not in analysis.alias_tokens
    assert not set(analysis.alias_tokens) & set(analysis.tokens)
