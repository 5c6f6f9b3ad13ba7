"""A rep never receives a restricted chunk: not through search, BM25 alone, the dense store or the entity boost."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from connectors.cli import app
from knowledge.base import get_knowledge_base
from knowledge.ingest import ingest_paths
from knowledge.retriever import _entity_strengths, analyze_query, retrieve_with_role_filter

SECRET = "FLOOR-54400"


@pytest.fixture()
def mixed_corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "entities.yaml").write_text(
        "entities:\n  - {type: product, key: QM-X3, name: Qingquan X3, aliases: [X3, 清泉 X3]}\n", encoding="utf-8")
    (folder / "floor_prices.md").write_text(
        f"---\ntitle: X3 floor prices\ndoc_type: policy\naccess: [manager]\nproducts: [QM-X3]\n---\n"
        f"# X3 floor prices\nThe floor price of the Qingquan X3 is {SECRET} CNY; X3 底价 {SECRET}。\n", encoding="utf-8")
    (folder / "x3_brochure.md").write_text(
        "---\ntitle: X3 brochure\ndoc_type: whitepaper\nproducts: [QM-X3]\n---\n"
        "# X3 brochure\nThe Qingquan X3 price list is available from your rep. X3 有12.1英寸屏幕。\n", encoding="utf-8")
    assert ingest_paths([folder]).ok
    return folder


QUESTIONS = ["What is the floor price of the Qingquan X3?", "X3 底价是多少", SECRET, "floor prices X3"]


@pytest.mark.parametrize("question", QUESTIONS)
def test_search_as_rep_never_returns_the_manager_document(mixed_corpus: Path, question: str) -> None:
    results = retrieve_with_role_filter(question, "rep", k=20)
    assert results, "the public brochure should still be found"
    assert all(chunk.source != "floor_prices.md" and SECRET not in chunk.text for chunk in results)
    manager_results = retrieve_with_role_filter(question, "manager", k=20)
    assert any(chunk.source == "floor_prices.md" for chunk in manager_results)


def test_bm25_alone_masks_restricted_chunks(mixed_corpus: Path) -> None:
    lexical = get_knowledge_base().lexical_index()
    analysis = analyze_query(SECRET)
    rep_hits = lexical.top(lexical.scores(analysis.tokens, "rep"), 50)
    manager_hits = lexical.top(lexical.scores(analysis.tokens, "manager"), 50)
    assert manager_hits and not rep_hits


def test_dense_store_searches_only_collections_the_role_may_read(mixed_corpus: Path) -> None:
    kb = get_knowledge_base()
    vector = kb.embedder.embed_query("floor price of the Qingquan X3")
    rep_ids = {chunk_id for chunk_id, _ in kb.dense_store.query("rep", vector, 50)}
    manager_ids = {chunk_id for chunk_id, _ in kb.dense_store.query("manager", vector, 50)}
    assert rep_ids < manager_ids


def test_entity_boost_never_lifts_a_restricted_chunk(mixed_corpus: Path) -> None:
    kb = get_knowledge_base()
    analysis = analyze_query("清泉 X3 底价")
    assert analysis.entity_ids == ["product:qmx3"]
    lexical = kb.lexical_index()
    rep_scores = lexical.scores(analysis.tokens, "rep")
    boosted = [c for c, _ in _entity_strengths(kb, analysis.entity_ids, rep_scores, lexical.position)]
    manager_boosted = [c for c, _ in _entity_strengths(kb, analysis.entity_ids,
                                                       lexical.scores(analysis.tokens, "manager"), lexical.position)]
    assert boosted and len(manager_boosted) > len(boosted)
    restricted = set(manager_boosted) - set(boosted)
    assert all(np.isneginf(rep_scores[lexical.position[chunk_id]]) for chunk_id in restricted)


def test_search_cli_contract(mixed_corpus: Path) -> None:
    result = CliRunner().invoke(app, ["search", "X3 底价", "--role", "rep", "--k", "3", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert rows and {"source", "section", "text", "score", "doc_type"} <= set(rows[0])
    assert all(SECRET not in row["text"] for row in rows)
    scores = [row["score"] for row in rows]
    assert scores == sorted(scores, reverse=True)
    bad_role = CliRunner().invoke(app, ["search", "X3", "--role", "ceo", "--json"])
    assert bad_role.exit_code == 2 and "unknown role" in bad_role.output


def test_graph_show_prints_entity_aliases_relations_and_documents(mixed_corpus: Path) -> None:
    result = CliRunner().invoke(app, ["graph", "show", "清泉 X3"])
    assert result.exit_code == 0, result.output
    assert "Qingquan X3" in result.output and "x3_brochure.md" in result.output
    missing = CliRunner().invoke(app, ["graph", "show", "Nobody Inc"])
    assert missing.exit_code == 1 and "No entity" in missing.output
