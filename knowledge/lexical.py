"""BM25 over jieba-segmented Chinese and stemmed English tokens, with the role filter applied as a score mask."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np

from knowledge.store import ACCESS_LEVELS, readable_levels


class LexicalIndex:
    """An in-memory bm25s index over every chunk; rows a role may not read score -inf and are never returned."""

    def __init__(self, chunk_ids: list[str], token_lists: list[list[str]], levels: list[str]) -> None:
        import bm25s

        self.chunk_ids = chunk_ids
        self.position = {chunk_id: index for index, chunk_id in enumerate(chunk_ids)}
        self._levels = np.array([ACCESS_LEVELS.index(level) for level in levels], dtype=np.int8)
        # How many chunks contain each token: the answer composer weighs question terms by rarity (IDF).
        self.document_frequency: Counter[str] = Counter(token for tokens in token_lists for token in set(tokens))
        self._bm25 = bm25s.BM25()
        if chunk_ids:
            self._bm25.index([tokens or [""] for tokens in token_lists], show_progress=False)

    def __len__(self) -> int:
        return len(self.chunk_ids)

    def inverse_document_frequency(self, token: str) -> float:
        """BM25's IDF of a token over every chunk (0 frequency = a term the knowledge base never uses)."""
        frequency = self.document_frequency.get(token, 0)
        return math.log(1.0 + (len(self.chunk_ids) - frequency + 0.5) / (frequency + 0.5))

    def allowed_mask(self, role: str) -> np.ndarray:
        allowed = [ACCESS_LEVELS.index(level) for level in readable_levels(role)]
        return np.isin(self._levels, allowed)

    def scores(self, tokens: list[str], role: str) -> np.ndarray:
        """BM25 score per chunk for these tokens; -inf where the role may not read the chunk."""
        if not self.chunk_ids:
            return np.zeros(0, dtype=np.float32)
        raw = np.asarray(self._bm25.get_scores(tokens), dtype=np.float32) if tokens else np.zeros(
            len(self.chunk_ids), dtype=np.float32)
        return np.where(self.allowed_mask(role), raw, -np.inf)

    def top(self, scores: np.ndarray, n: int) -> list[tuple[str, float]]:
        """The n best positive-scoring chunks of a score vector."""
        if scores.size == 0:
            return []
        n = min(n, scores.size)
        candidates = np.argpartition(-scores, n - 1)[:n]
        ordered = candidates[np.argsort(-scores[candidates], kind="stable")]
        return [(self.chunk_ids[i], float(scores[i])) for i in ordered if scores[i] > 0]
