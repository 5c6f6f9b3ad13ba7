"""The BM25 index's one-pass weighted scoring equals bm25s's own scores summed per query part, role mask included."""

from __future__ import annotations

import random

import numpy as np

from knowledge.lexical import LexicalIndex

VOCABULARY = [f"term{number}" for number in range(120)]
LEVELS = ["public", "rep", "manager", "vp"]


def _random_index(seed: int = 7) -> tuple[LexicalIndex, random.Random]:
    rng = random.Random(seed)
    # Repeated tokens inside a chunk and empty chunks are both allowed, as in real ingests.
    token_lists = [rng.sample(VOCABULARY, rng.randint(0, 15)) + rng.choices(VOCABULARY, k=3) for _ in range(800)]
    token_lists[5] = []
    levels = [rng.choice(LEVELS) for _ in token_lists]
    return LexicalIndex([f"c{i}" for i in range(len(token_lists))], token_lists, levels), rng


def _reference(index: LexicalIndex, queries: list[tuple[list[str], float]], role: str) -> np.ndarray:
    """What the retriever computed before: bm25s.get_scores per part, masked, then the weighted sum."""
    allowed = index.allowed_mask(role)
    total = np.zeros(len(index), dtype=np.float32)
    for tokens, weight in queries:
        raw = np.asarray(index._bm25.get_scores(tokens), dtype=np.float32) if tokens else np.zeros(len(index))
        total = total + weight * raw
    return np.where(allowed, total, -np.inf)


def test_weighted_scores_match_bm25s_scores_summed_per_query_part() -> None:
    index, rng = _random_index()
    for _ in range(30):
        queries = [(rng.choices([*VOCABULARY, "never-indexed"], k=rng.randint(1, 6)), 1.0),
                   (rng.choices(VOCABULARY, k=rng.randint(0, 3)), 1.0), (rng.choices(VOCABULARY, k=2), 0.5)]
        for role in ("rep", "manager", "admin"):
            expected, actual = _reference(index, queries, role), index.weighted_scores(queries, role)
            assert np.array_equal(np.isneginf(expected), np.isneginf(actual))
            readable = np.isfinite(expected)
            np.testing.assert_allclose(actual[readable], expected[readable], rtol=1e-5, atol=1e-6)


def test_chunks_a_role_may_not_read_never_score_or_reach_the_top() -> None:
    index, _ = _random_index()
    query = [(VOCABULARY[:40], 1.0)]
    for role, readable_levels in (("rep", {"public", "rep"}), ("manager", {"public", "rep", "manager"})):
        scores = index.weighted_scores(query, role)
        top_ids = [chunk_id for chunk_id, _ in index.top(scores, 200)]
        assert top_ids, "the query shares terms with most chunks"
        levels = dict(zip(index.chunk_ids, index._levels.tolist(), strict=True))
        assert {LEVELS[levels[chunk_id]] for chunk_id in top_ids} <= readable_levels
        # The cached mask of one role does not leak into another role's scores.
        assert np.isneginf(scores).sum() == (~index.allowed_mask(role)).sum()


def test_a_query_with_no_known_token_scores_zero_everywhere_readable() -> None:
    index, _ = _random_index()
    scores = index.weighted_scores([(["never-indexed"], 1.0), ([], 0.5)], "vp")
    assert index.top(scores, 10) == []
    assert set(np.unique(scores[np.isfinite(scores)]).tolist()) == {0.0}
