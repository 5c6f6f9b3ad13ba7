"""Signals the composer weighs, all bounded: BM25 of the question's terms over a unit, dense similarity, the asked
answer type, entity match, the passage's retrieval score; and a passage's support (IDF-weighted term coverage)."""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from agent.answer.answer_types import type_match
from agent.answer.question import QuestionProfile, QuestionTerm
from agent.answer.units import AnswerUnit
from knowledge.embeddings import Embedder
from knowledge.graph import AliasMatcher
from knowledge.models import RetrievedChunk
from knowledge.text import detect_language, has_cjk, tokenize

# Okapi BM25's usual constants (Robertson & Zaragoza 2009), not fitted here.
BM25_K1 = 1.2
BM25_B = 0.75
# A term that cannot be checked in the text's script (no glossary bridge) counts this share as missing: some
# evidence against, so a passage sharing one bridged word with a question in the other language is not full
# support, yet not as much as a word the text could show and does not.
UNCHECKABLE_SHARE = 1.0


class MatchableText:
    """A text prepared for term matching: lowered, tokenized, counted."""

    def __init__(self, text: str) -> None:
        self.lowered = text.lower()
        self.tokens = tokenize(text)
        self.counts = Counter(self.tokens)
        self.chinese = detect_language(text) == "zh"

    @cached_property
    def joined(self) -> str:
        return f" {' '.join(self.tokens)} "

    def frequency(self, term: QuestionTerm) -> int:
        """How often the term (any of its forms) occurs; an identifier also counts inside a longer token."""
        if term.identifier:
            inside = len(re.findall(rf"(?<![a-z0-9]){re.escape(term.text)}", self.lowered))
            if inside:
                return inside
        return max(self._form_frequency(form) for form in term.forms)

    def _form_frequency(self, form: str) -> int:
        if has_cjk(form):
            return self.lowered.count(form)
        if " " in form:
            return self.joined.count(f" {form} ")
        exact = self.counts.get(form, 0)
        if exact or len(form) < 5:
            return exact
        # English morphology the stemmer leaves apart ("warranty"/"warrants", "delivery"/"delivered").
        return sum(count for token, count in self.counts.items() if _same_word(form, token))


def _same_word(form: str, token: str) -> bool:
    shorter = min(len(form), len(token))
    if shorter < 4 or not token.isalpha():
        return False
    shared = len(_common_prefix(form, token))
    return shared >= max(4, shorter - 1)


def _common_prefix(first: str, second: str) -> str:
    length = 0
    for a, b in zip(first, second, strict=False):
        if a != b:
            break
        length += 1
    return first[:length]


def checkable(term: QuestionTerm, text: MatchableText) -> bool:
    """Whether absence of the term from this text means anything: same script, an identifier, or a word the
    corpus never uses at all."""
    return (term.identifier or not term.in_corpus
            or any(has_cjk(form) == text.chinese for form in term.forms))


def coverage(profile: QuestionProfile, text: MatchableText) -> float:
    """IDF-weighted share of the question's terms the text contains (1.0 for a question with no terms)."""
    if not profile.terms:
        return 1.0
    covered = total = 0.0
    for term in profile.terms:
        if text.frequency(term):
            covered += term.weight
            total += term.weight
        else:
            total += term.weight * (1.0 if checkable(term, text) else UNCHECKABLE_SHARE)
    return covered / total if total else 0.0


def passage_text(passage: RetrievedChunk) -> str:
    return f"{passage.title}\n{passage.section}\n{passage.text}"


def passage_support(profile: QuestionProfile, passage: RetrievedChunk) -> float:
    """How well a passage supports an answer: term coverage, and 0 when it lacks one of the question's
    identifiers (a passage that never says "FDA" cannot say whether something is FDA-cleared)."""
    text = MatchableText(passage_text(passage))
    if any(not text.frequency(term) for term in profile.identifiers):
        return 0.0
    return coverage(profile, text)


def grounded(profile: QuestionProfile, passage: RetrievedChunk) -> bool:
    """A question naming a customer, partner or product is only answered from a passage that mentions it."""
    if not profile.entity_aliases:
        return True
    haystack = f"{passage_text(passage)}\n{' '.join(passage.customers)}\n{' '.join(passage.products)}".lower()
    return all(any(alias.lower() in haystack for alias in aliases) for aliases in profile.entity_aliases.values())


@dataclass(frozen=True)
class UnitFeatures:
    """One candidate unit's signals, each in [0, 1] except `entity` (-1 only other entities, +1 the asked one)."""

    lexical: float
    dense: float
    answer_type: float
    entity: float
    retrieval: float


@dataclass(frozen=True)
class Candidate:
    unit: AnswerUnit
    passage: RetrievedChunk
    rank: int
    support: float
    features: UnitFeatures


def bm25_scores(profile: QuestionProfile, texts: list[MatchableText]) -> list[float]:
    """BM25 of the question's terms over each text, divided by its upper bound (so in [0, 1))."""
    if not texts or not profile.terms:
        return [0.0] * len(texts)
    average_length = max(1.0, sum(len(text.tokens) for text in texts) / len(texts))
    frequencies = [[text.frequency(term) for term in profile.terms] for text in texts]
    weights = [term.weight * local for term, local in zip(profile.terms, _local_rarity(frequencies), strict=True)]
    ceiling = (BM25_K1 + 1) * sum(term.weight for term in profile.terms)
    scores = []
    for text, counts in zip(texts, frequencies, strict=True):
        norm = BM25_K1 * (1 - BM25_B + BM25_B * len(text.tokens) / average_length)
        total = 0.0
        for weight, frequency in zip(weights, counts, strict=True):
            if frequency:
                total += weight * frequency * (BM25_K1 + 1) / (frequency + norm)
        scores.append(total / ceiling if ceiling else 0.0)
    return scores


def _local_rarity(frequencies: list[list[int]]) -> list[float]:
    """Each term's IDF over the candidate units themselves, as a share of the highest possible: a word that
    nearly every candidate says (the party or product that names the document) tells the units apart little,
    however rare it is in the corpus. 1.0 for every term of a lone candidate."""
    total = len(frequencies)
    if total <= 1 or not frequencies[0]:
        return [1.0] * (len(frequencies[0]) if frequencies else 0)
    ceiling = math.log(1 + (total + 0.5) / 0.5)
    containing = [sum(1 for counts in frequencies if counts[index]) for index in range(len(frequencies[0]))]
    return [math.log(1 + (total - found + 0.5) / (found + 0.5)) / ceiling for found in containing]


def dense_similarities(question: str, texts: list[str], embedder: Embedder | None) -> list[float]:
    """Cosine similarity of the question to each text with the configured embedder (0 without one)."""
    if embedder is None or not texts:
        return [0.0] * len(texts)
    embed_query = getattr(embedder, "embed_query", None)
    query = embed_query(question) if embed_query is not None else embedder.embed([question])[0]
    vectors = np.asarray(embedder.embed(texts), dtype=np.float32)
    similarities = vectors @ np.asarray(query, dtype=np.float32).reshape(-1)
    # An English-only model turns Chinese into unknown tokens: its similarity there is noise, not evidence.
    readable = getattr(embedder, "multilingual", True) or not has_cjk(question)
    return [float(max(0.0, min(1.0, value))) if readable and (getattr(embedder, "multilingual", True)
                                                              or not has_cjk(text)) else 0.0
            for value, text in zip(similarities, texts, strict=True)]


def entity_signal(profile: QuestionProfile, text: str, matcher: AliasMatcher) -> float:
    """+1 when the unit names an entity the question asks about, -1 when it names only siblings of that kind."""
    if not profile.asked_entities:
        return 0.0
    named: dict[str, set[str]] = {}
    for entity_id in matcher.entity_ids(text):
        named.setdefault(entity_id.split(":", 1)[0], set()).add(entity_id)
    if any(named.get(kind, set()) & ids for kind, ids in profile.asked_entities.items()):
        return 1.0
    if any(named.get(kind) for kind in profile.asked_entities):
        return -1.0
    return 0.0


def retrieval_prior(passages: list[RetrievedChunk]) -> list[float]:
    """Each passage's fused retrieval score relative to the best one; rank-based (1/(1+rank)) without scores."""
    top = max((passage.score for passage in passages), default=0.0)
    if top <= 0:
        return [1.0 / (1 + rank) for rank in range(len(passages))]
    return [max(0.0, passage.score / top) for passage in passages]


def unit_features(profile: QuestionProfile, units: list[tuple[AnswerUnit, RetrievedChunk, float]],
                  matcher: AliasMatcher, embedder: Embedder | None) -> list[UnitFeatures]:
    """Features of every candidate (unit, its passage, the passage's retrieval prior) in one pass."""
    texts = [MatchableText(f"{passage.section}\n{unit.scoring_text}") for unit, passage, _prior in units]
    lexical = bm25_scores(profile, texts)
    dense = dense_similarities(profile.text, [unit.scoring_text for unit, _passage, _prior in units], embedder)
    return [UnitFeatures(lexical=lexical[index], dense=dense[index],
                         answer_type=type_match(unit.quote, profile.types),
                         entity=entity_signal(profile, unit.scoring_text, matcher), retrieval=prior)
            for index, (unit, _passage, prior) in enumerate(units)]


