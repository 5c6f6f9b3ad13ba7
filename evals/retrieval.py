"""Retrieval metrics over ranked sources: hit@k, reciprocal rank, nDCG@k, overall and by language."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from evals.matching import source_matches
from evals.models import EvalQuestion, QuestionOutcome, RetrievedSummary


def distinct_sources(sources: Sequence[str]) -> list[str]:
    """Sources in order of first appearance (what the report shows as "retrieved")."""
    seen: set[str] = set()
    ranked: list[str] = []
    for source in sources:
        if source not in seen:
            seen.add(source)
            ranked.append(source)
    return ranked


def first_relevant_rank(ranked_sources: Sequence[str], expected_sources: Sequence[str]) -> int | None:
    """1-based rank of the first ranked source that is one of the expected ones."""
    for rank, source in enumerate(ranked_sources, start=1):
        if any(source_matches(source, expected) for expected in expected_sources):
            return rank
    return None


def hit_at_k(ranked_sources: Sequence[str], expected_sources: Sequence[str], k: int) -> float:
    rank = first_relevant_rank(ranked_sources, expected_sources)
    return 1.0 if rank is not None and rank <= k else 0.0


def reciprocal_rank(ranked_sources: Sequence[str], expected_sources: Sequence[str]) -> float:
    rank = first_relevant_rank(ranked_sources, expected_sources)
    return 1.0 / rank if rank else 0.0


def ndcg_at_k(ranked_sources: Sequence[str], expected_sources: Sequence[str], k: int) -> float:
    """Graded nDCG: expected_sources are best first, so the first gets gain n, the last gain 1."""
    grades = {expected: len(expected_sources) - index for index, expected in enumerate(expected_sources)}

    def gain_of(source: str) -> int:
        return max((grade for expected, grade in grades.items() if source_matches(source, expected)), default=0)

    dcg = 0.0
    credited: set[str] = set()
    for rank, source in enumerate(ranked_sources[:k], start=1):
        gain = gain_of(source)
        if gain and source not in credited:
            credited.add(source)
            dcg += (2**gain - 1) / math.log2(rank + 1)
    ideal_gains = sorted(grades.values(), reverse=True)[:k]
    ideal = sum((2**gain - 1) / math.log2(rank + 1) for rank, gain in enumerate(ideal_gains, start=1))
    return dcg / ideal if ideal else 0.0


def score_ranking(ranked_sources: Sequence[str], expected_sources: Sequence[str], k: int) -> dict[str, float]:
    """Per-question retrieval scores, keyed like the suite metrics."""
    return {
        "hit@1": hit_at_k(ranked_sources, expected_sources, 1),
        "hit@3": hit_at_k(ranked_sources, expected_sources, 3),
        f"hit@{k}": hit_at_k(ranked_sources, expected_sources, k),
        "mrr": reciprocal_rank(ranked_sources, expected_sources),
        f"ndcg@{k}": ndcg_at_k(ranked_sources, expected_sources, k),
    }


def mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def aggregate_retrieval(outcomes: Sequence[QuestionOutcome], k: int) -> dict[str, float | None]:
    """Suite metrics: overall, per question language, and for the cross-language questions."""
    metric_names = ["hit@1", "hit@3", f"hit@{k}", "mrr", f"ndcg@{k}"]
    groups: dict[str, Callable[[QuestionOutcome], bool]] = {
        "": lambda outcome: True,
        "zh.": lambda outcome: outcome.language == "zh",
        "en.": lambda outcome: outcome.language == "en",
        "cross_language.": lambda outcome: outcome.cross_language,
    }
    scored = [outcome for outcome in outcomes if "retrieval.mrr" in outcome.scores]
    metrics: dict[str, float | None] = {
        "retrieval.questions": float(len(scored)),
        "retrieval.errors": float(sum(1 for outcome in outcomes
                                      if any(error.startswith("retrieval:") for error in outcome.errors))),
    }
    for prefix, belongs in groups.items():
        members = [outcome for outcome in scored if belongs(outcome)]
        if prefix:
            metrics[f"retrieval.{prefix}questions"] = float(len(members))
        for name in dict.fromkeys(metric_names):
            values = [outcome.scores[f"retrieval.{name}"] for outcome in members]
            metrics[f"retrieval.{prefix}{name}"] = mean([value for value in values if value is not None])
    return metrics


def record_retrieval(outcome: QuestionOutcome, question: EvalQuestion, retrieved: list[RetrievedSummary],
                     k: int) -> None:
    """Store what was retrieved and, for answerable questions, the per-question scores and checks.

    Ranks are chunk ranks ("the source of the top result", as issue 3 and benchmarks/retrieval.py count):
    hit@3 means one of the first three chunks comes from an expected document.
    """
    outcome.retrieved = retrieved
    outcome.ranked_sources = distinct_sources([chunk.source for chunk in retrieved])
    if not question.has_retrieval_target:
        return
    chunk_sources = [chunk.source for chunk in retrieved]
    for name, value in score_ranking(chunk_sources, question.expected_sources, k).items():
        outcome.scores[f"retrieval.{name}"] = value
    outcome.checks["retrieval.hit@1"] = outcome.scores["retrieval.hit@1"] == 1.0
    outcome.checks["retrieval.hit@3"] = outcome.scores["retrieval.hit@3"] == 1.0
