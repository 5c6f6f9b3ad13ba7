"""Data questions on the server profile: the one shared database also holds the product's own tables (knowledge
chunks, checkpoints, audit), so before `salesbot seed` no question, typed or in words, may be answered from them."""

from __future__ import annotations

from pathlib import Path

import pytest


def test_an_unseeded_shared_database_answers_no_data_question_from_internal_tables(
        server_database: str, salesbot_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from knowledge.base import get_knowledge_base
    from salesbot.settings import reset_runtime
    from tools.text2sql.service import answer_data_question

    monkeypatch.setenv("SALESBOT_EMBEDDING", "none")
    reset_runtime()
    get_knowledge_base()  # the knowledge tables (documents, chunks, ...) now exist in the shared database

    typed = answer_data_question("SELECT text FROM chunks", role="manager")
    asked = answer_data_question("每个季度的总收入是多少？", role="manager")

    for answer in (typed, asked):
        assert "salesbot seed" in answer.message, answer.message
        assert not answer.rows and not answer.sql
    assert not (salesbot_home / "semantic_layers").exists()  # no layer drafted over the product's tables
