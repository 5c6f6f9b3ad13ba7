"""RAG answer metrics: key facts (also within a length cap), refusals, answer length, and ragas's context
recall/precision, ROUGE, string similarity and LLM judge."""

from __future__ import annotations

import logging
import math
import os
import statistics
import warnings
from collections.abc import Sequence
from typing import Any

from evals.matching import contains_fact, source_matches, tokenize_multilingual
from evals.models import EvalQuestion, QuestionOutcome
from evals.retrieval import mean

logger = logging.getLogger(__name__)

# ragas.evaluate() sends a usage event to t.explodinggradients.com unless this is "true" (checked with a
# socket guard in tests/unit/test_eval_runner.py). The suite runs offline and sends nothing, whatever the shell
# says. (tiktoken, the other download risk, is only used by ragas.testset, which we do not use.)
os.environ["RAGAS_DO_NOT_TRACK"] = "true"

# A retrieved chunk "contains" a reference passage when rapidfuzz's partial ratio reaches this: chunks are
# whole clauses while reference passages are one or two sentences, so plain Levenshtein similarity (ragas's
# default) would score a chunk that quotes the passage verbatim below 0.5 just for being longer.
CONTEXT_MATCH_THRESHOLD = 0.8
JUDGE_METRIC_NAMES = ("faithfulness", "answer_relevancy", "factual_correctness")
# A sales rep reads a chat answer, not a contract: facts buried after the first 700 characters of a pasted
# clause list are not delivered. key_fact_coverage_700 scores only that much of each answer (issue 18's measure).
ANSWER_CHARS_CAP = 700


def key_fact_coverage(answer: str, key_facts: Sequence[str]) -> float | None:
    """Share of key facts present in the answer (normalised spelling, see evals.matching)."""
    if not key_facts:
        return None
    return sum(contains_fact(answer, fact) for fact in key_facts) / len(key_facts)


def cites_expected_source(cited_sources: Sequence[str], expected_sources: Sequence[str]) -> bool:
    return any(source_matches(cited, expected) for cited in cited_sources for expected in expected_sources)


def is_empty_answer(outcome: QuestionOutcome) -> bool:
    """Neither a refusal nor anything the user can check (no text, or no citation, table, price or action)."""
    if outcome.answer is None or outcome.refused:
        return False
    return not outcome.answer.strip() or not outcome.grounded


def record_answer_scores(outcome: QuestionOutcome, question: EvalQuestion) -> None:
    """Our own per-question answer checks (no ragas needed): key facts, a correct citation, not empty."""
    if outcome.answer is None:
        return
    outcome.checks["rag.not_empty"] = not is_empty_answer(outcome)
    if question.should_refuse:
        return
    coverage = key_fact_coverage(outcome.answer, question.key_facts)
    if coverage is not None:
        outcome.scores["rag.key_fact_coverage"] = coverage
        outcome.scores["rag.key_fact_coverage_700"] = key_fact_coverage(
            outcome.answer[:ANSWER_CHARS_CAP], question.key_facts)
        outcome.checks["rag.key_facts"] = coverage == 1.0
    if question.expected_sources:
        cited = cites_expected_source(outcome.cited_sources, question.expected_sources)
        outcome.scores["rag.citation_accuracy"] = 1.0 if cited else 0.0
        outcome.checks["rag.cites_expected_source"] = cited


def _ragas_metric_classes() -> dict[str, Any]:
    """Import ragas lazily (≈2 s) and define our two small ragas metric subclasses."""
    from dataclasses import dataclass

    from rapidfuzz import fuzz

    with warnings.catch_warnings():
        # ragas 0.4 warns that these move to ragas.metrics.collections, whose versions need an
        # instructor-style LLM client; the classic ones are what evaluate() runs with a LangChain model.
        warnings.simplefilter("ignore", DeprecationWarning)
        from ragas.metrics import (
            FactualCorrectness,
            Faithfulness,
            NonLLMContextPrecisionWithReference,
            NonLLMContextRecall,
            NonLLMStringSimilarity,
            ResponseRelevancy,
            RougeScore,
            StringPresence,
        )
        from ragas.metrics.base import SingleTurnMetric

    class _MultilingualTokenizer:
        def tokenize(self, text: str) -> list[str]:
            return tokenize_multilingual(text)

    @dataclass
    class MultilingualRougeScore(RougeScore):
        """ragas RougeScore with a tokenizer that keeps Chinese (one token per character)."""

        async def _single_turn_ascore(self, sample, callbacks) -> float:
            scorer = self.rouge_scorer.RougeScorer([self.rouge_type], tokenizer=_MultilingualTokenizer())
            scores = scorer.score(sample.reference or "", sample.response or "")
            return float(getattr(scores[self.rouge_type], self.mode))

    @dataclass
    class PartialStringSimilarity(SingleTurnMetric):
        """Similarity of the best-matching window of the longer text: 1.0 when one contains the other."""

        name: str = "partial_string_similarity"

        def __post_init__(self) -> None:
            from ragas.metrics.base import MetricType

            self._required_columns = {MetricType.SINGLE_TURN: {"reference", "response"}}

        def init(self, run_config) -> None:
            pass

        async def _single_turn_ascore(self, sample, callbacks) -> float:
            return fuzz.partial_ratio(sample.reference or "", sample.response or "") / 100.0

        async def _ascore(self, row, callbacks) -> float:
            from ragas.dataset_schema import SingleTurnSample

            return await self._single_turn_ascore(SingleTurnSample(**row), callbacks)

    return {
        "NonLLMContextRecall": NonLLMContextRecall,
        "NonLLMContextPrecisionWithReference": NonLLMContextPrecisionWithReference,
        "NonLLMStringSimilarity": NonLLMStringSimilarity,
        "StringPresence": StringPresence,
        "MultilingualRougeScore": MultilingualRougeScore,
        "PartialStringSimilarity": PartialStringSimilarity,
        "Faithfulness": Faithfulness,
        "ResponseRelevancy": ResponseRelevancy,
        "FactualCorrectness": FactualCorrectness,
    }


def _evaluate(samples: list[Any], metrics: list[Any], **kwargs: Any) -> list[dict[str, Any]]:
    """ragas.evaluate over an EvaluationDataset; per-sample score dicts (NaN where a metric failed)."""
    from ragas import EvaluationDataset, evaluate
    from ragas.run_config import RunConfig

    run_config = kwargs.pop("run_config", None) or RunConfig(max_workers=2, timeout=120, max_retries=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = evaluate(
            EvaluationDataset(samples=samples), metrics=metrics, show_progress=False,
            raise_exceptions=False, run_config=run_config, **kwargs,
        )
    return list(result.scores)  # type: ignore[union-attr]  # an Executor only with return_executor=True


def _clean(value: Any) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) or math.isinf(number) else number


def answerable_with_answer(outcomes: Sequence[QuestionOutcome], questions: dict[str, EvalQuestion]
                           ) -> list[tuple[QuestionOutcome, EvalQuestion]]:
    return [(outcome, questions[outcome.id]) for outcome in outcomes
            if outcome.answer is not None and not questions[outcome.id].should_refuse]


def run_ragas_non_llm(outcomes: Sequence[QuestionOutcome], questions: dict[str, EvalQuestion]) -> list[str]:
    """Score answers with ragas's non-LLM metrics; results go into each outcome's scores. Returns notes."""
    from ragas import SingleTurnSample

    classes = _ragas_metric_classes()
    notes: list[str] = []
    pairs = answerable_with_answer(outcomes, questions)

    # One sample per answer for context and answer-similarity metrics.
    context_pairs = [(outcome, question) for outcome, question in pairs if question.reference_contexts]
    if context_pairs:
        samples = [
            SingleTurnSample(
                user_input=question.question,
                response=outcome.answer,
                retrieved_contexts=[chunk.text for chunk in outcome.retrieved] or [""],
                reference_contexts=question.reference_contexts,
            )
            for outcome, question in context_pairs
        ]
        metrics = [
            classes["NonLLMContextRecall"](
                _distance_measure=classes["PartialStringSimilarity"](), threshold=CONTEXT_MATCH_THRESHOLD),
            classes["NonLLMContextPrecisionWithReference"](
                distance_measure=classes["PartialStringSimilarity"](), threshold=CONTEXT_MATCH_THRESHOLD),
        ]
        for (outcome, _question), scores in zip(context_pairs, _evaluate(samples, metrics), strict=True):
            outcome.scores["rag.context_recall"] = _clean(_score_named(scores, "non_llm_context_recall"))
            outcome.scores["rag.context_precision"] = _clean(
                _score_named(scores, "non_llm_context_precision_with_reference"))
    else:
        notes.append("no question has reference_contexts: context recall/precision not computed")

    reference_pairs = [(outcome, question) for outcome, question in pairs if question.reference_answer]
    if reference_pairs:
        samples = [
            SingleTurnSample(user_input=question.question, response=outcome.answer,
                             reference=question.reference_answer)
            for outcome, question in reference_pairs
        ]
        answer_metrics = [classes["MultilingualRougeScore"](), classes["NonLLMStringSimilarity"]()]
        for (outcome, _question), scores in zip(reference_pairs, _evaluate(samples, answer_metrics),
                                                strict=True):
            outcome.scores["rag.rouge_l"] = _clean(_score_named(scores, "rouge_score"))
            outcome.scores["rag.string_similarity"] = _clean(_score_named(scores, "non_llm_string_similarity"))

    # ragas StringPresence is exact and takes one reference string: one sample per key fact.
    fact_samples = []
    fact_owners: list[QuestionOutcome] = []
    for outcome, question in pairs:
        for fact in question.key_facts:
            fact_samples.append(SingleTurnSample(user_input=question.question, response=outcome.answer,
                                                 reference=fact))
            fact_owners.append(outcome)
    if fact_samples:
        presence_by_outcome: dict[str, list[float]] = {}
        for owner, scores in zip(fact_owners, _evaluate(fact_samples, [classes["StringPresence"]()]),
                                 strict=True):
            value = _clean(_score_named(scores, "string_present"))
            if value is not None:
                presence_by_outcome.setdefault(owner.id, []).append(value)
        for outcome, _question in pairs:
            if outcome.id in presence_by_outcome:
                outcome.scores["rag.string_presence"] = mean(presence_by_outcome[outcome.id])
    return notes


def run_ragas_judge(outcomes: Sequence[QuestionOutcome], questions: dict[str, EvalQuestion], judge: Any,
                    judge_limit: int) -> list[str]:
    """LLM-judge metrics on the first `judge_limit` answered questions. `judge` is an evals.judge.Judge."""
    from ragas import SingleTurnSample
    from ragas.run_config import RunConfig

    classes = _ragas_metric_classes()
    notes: list[str] = []
    pairs = [(outcome, question) for outcome, question in answerable_with_answer(outcomes, questions)
             if question.reference_answer or question.key_facts][:judge_limit]
    if not pairs:
        return ["judge: no answered question with a reference to judge"]
    metrics: list[Any] = [classes["Faithfulness"](), classes["FactualCorrectness"]()]
    if judge.embeddings is not None:
        # strictness 1: the structured judge returns one generation per prompt (and it is 3× cheaper).
        metrics.append(classes["ResponseRelevancy"](strictness=1))
    else:
        notes.append(f"judge: answer_relevancy skipped — {judge.embeddings_note}")
    samples = [
        SingleTurnSample(
            user_input=question.question,
            response=outcome.answer,
            retrieved_contexts=[chunk.text for chunk in outcome.retrieved] or [""],
            reference=question.reference_answer or "; ".join(question.key_facts),
        )
        for outcome, question in pairs
    ]
    # One worker: a local llama.cpp model serves one request at a time anyway.
    run_config = RunConfig(max_workers=1, timeout=int(judge.timeout_s), max_retries=1)
    kwargs: dict[str, Any] = {"llm": judge.llm, "run_config": run_config}
    if judge.embeddings is not None:
        kwargs["embeddings"] = judge.embeddings
    all_scores = _evaluate(samples, metrics, **kwargs)
    failed_values = 0
    for (outcome, _question), scores in zip(pairs, all_scores, strict=True):
        for metric in metrics:
            value = _clean(_score_named(scores, _judge_key(metric.name)))
            outcome.scores[f"rag.{_judge_key(metric.name)}"] = value
            failed_values += value is None
    notes.append(f"judge {judge.config}: {len(pairs)} question(s) judged with "
                 f"{', '.join(metric.name for metric in metrics)}; {failed_values} score(s) could not be computed (NaN), "
                 f"{judge.calls} model call(s)")
    return notes


def _score_named(scores: dict[str, Any], base_name: str) -> Any:
    """ragas may append the mode to a column name ('rouge_score(mode=fmeasure)'); match on the base name."""
    for column, value in scores.items():
        if column == base_name or column.startswith(base_name + "("):
            return value
    return None


def _judge_key(ragas_name: str) -> str:
    """ragas names some metrics with their mode, e.g. 'factual_correctness(mode=f1)'."""
    return ragas_name.split("(")[0]


def answer_length_metrics(outcomes: Sequence[QuestionOutcome]) -> dict[str, float | None]:
    """Median and longest answer in characters, over the answers given (refusals are not answers)."""
    lengths = [len(outcome.answer) for outcome in outcomes if outcome.answer is not None and not outcome.refused]
    if not lengths:
        return {"rag.answer_chars.median": None, "rag.answer_chars.max": None}
    return {"rag.answer_chars.median": float(statistics.median(lengths)), "rag.answer_chars.max": float(max(lengths))}


def refusal_metrics(outcomes: Sequence[QuestionOutcome]) -> dict[str, float | None]:
    """Refusals as a classifier: positives are the questions only a refusal answers (unanswerable, must-refuse).

    Negatives are the answerable questions (with an expected source); questions with neither (a rejected
    feedback line) say nothing about refusing and are left out.
    """
    answered = [outcome for outcome in outcomes if outcome.answer is not None]
    positives = [outcome for outcome in answered if outcome.should_refuse]
    negatives = [outcome for outcome in answered if not outcome.should_refuse and outcome.expected_sources]
    unanswerable = [outcome for outcome in positives if "unanswerable" in outcome.flags]
    true_refusals = sum(1 for outcome in positives if outcome.refused)
    all_refusals = true_refusals + sum(1 for outcome in negatives if outcome.refused)

    def refused_share(group: list[QuestionOutcome]) -> float | None:
        return sum(1 for outcome in group if outcome.refused) / len(group) if group else None

    return {
        "rag.answerable_refused_rate": refused_share(negatives),
        "rag.unanswerable_refused_rate": refused_share(unanswerable),
        "rag.refusal_precision": true_refusals / all_refusals if all_refusals else None,
        "rag.refusal_recall": true_refusals / len(positives) if positives else None,
    }


def aggregate_rag(outcomes: Sequence[QuestionOutcome]) -> dict[str, float | None]:
    names = ["key_fact_coverage", "key_fact_coverage_700", "string_presence", "citation_accuracy", "context_recall", "context_precision",
             "rouge_l", "string_similarity", *JUDGE_METRIC_NAMES]
    metrics: dict[str, float | None] = {}
    for name in names:
        values = [outcome.scores.get(f"rag.{name}") for outcome in outcomes]
        present = [value for value in values if value is not None]
        if any(f"rag.{name}" in outcome.scores for outcome in outcomes):
            metrics[f"rag.{name}"] = mean(present)
    metrics.update(answer_length_metrics(outcomes))
    metrics.update(refusal_metrics(outcomes))
    metrics["rag.empty_answers"] = float(sum(1 for outcome in outcomes if is_empty_answer(outcome)))
    metrics["rag.errors"] = float(sum(1 for outcome in outcomes
                                      if any(error.startswith("answer:") for error in outcome.errors)))
    return metrics
