"""BM25 over jieba-segmented Chinese and stemmed English tokens, with the role filter applied as a score mask."""

from __future__ import annotations

import math
import threading
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
        self._hidden: dict[str, np.ndarray] = {}
        self._hidden_lock = threading.Lock()
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

    def _hidden_positions(self, role: str) -> np.ndarray:
        """Positions of the chunks this role may not read, computed once per index and role: masking a score
        vector then touches only those rows instead of building an N-long mask on every search."""
        with self._hidden_lock:
            if role not in self._hidden:
                self._hidden[role] = np.flatnonzero(~self.allowed_mask(role))
            return self._hidden[role]

    def scores(self, tokens: list[str], role: str) -> np.ndarray:
        """BM25 score per chunk for these tokens; -inf where the role may not read the chunk."""
        return self.weighted_scores([(tokens, 1.0)], role)

    def weighted_scores(self, queries: list[tuple[list[str], float]], role: str) -> np.ndarray:
        """Σ weight × BM25(tokens) per chunk over (tokens, weight) pairs, in one N-long vector; -inf where the
        role may not read the chunk.

        Reads bm25s's precomputed per-token score columns directly (what its get_scores does, a repeated token
        counting again), so a question, its glossary expansions and its aliases cost one vector, not one each,
        and the cost is the postings of the query's tokens plus one allocation.
        """
        scores = np.zeros(len(self.chunk_ids), dtype=np.float32)
        if not self.chunk_ids:
            return scores
        matrix = self._bm25.scores
        data, indices, indptr = matrix["data"], matrix["indices"], matrix["indptr"]
        vocabulary = self._bm25.vocab_dict
        for tokens, weight in queries:
            for token in tokens:
                token_id = vocabulary.get(token)
                if token_id is None:
                    continue
                start, end = indptr[token_id], indptr[token_id + 1]
                # A token's column lists each chunk once, so a plain fancy-index add is exact (np.add.at is slow).
                scores[indices[start:end]] += data[start:end] if weight == 1.0 else weight * data[start:end]
        scores[self._hidden_positions(role)] = -np.inf
        return scores

    def top(self, scores: np.ndarray, n: int) -> list[tuple[str, float]]:
        """The n best positive-scoring chunks of a score vector."""
        # Only positive scores can be returned, so partition those alone: a question of rare terms touches few
        # chunks, and the partition then costs its matches, not the whole index.
        positive = np.flatnonzero(scores > 0)
        if positive.size == 0:
            return []
        n = min(n, positive.size)
        candidates = positive[np.argpartition(-scores[positive], n - 1)[:n]]
        ordered = candidates[np.argsort(-scores[candidates], kind="stable")]
        return [(self.chunk_ids[i], float(scores[i])) for i in ordered]
