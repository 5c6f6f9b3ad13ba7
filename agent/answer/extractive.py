"""Extractive (no-LLM) answers: score answer units of the top passages with the retriever's signals and the
asked answer type, open with the shortest span that states the answer, then quote and cite; or refuse.

Pipeline: profile the question (question.py) → split the top passages into units (units.py) → features
(scoring.py) → support gate → weighted unit scores (weights fitted on golden dev, params.py) → answer line and
1–3 verbatim quotes. Never returns an empty answer: a cited answer or the refusal text.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from agent.answer.answer_types import AnswerType, negated, stated_polarity, type_match
from agent.answer.models import AnswerDraft
from agent.answer.params import ComposerParams, composer_params
from agent.answer.question import QuestionProfile, TermRarity, profile_question
from agent.answer.refusal import refusal
from agent.answer.scoring import (
    Candidate,
    MatchableText,
    coverage,
    grounded,
    passage_support,
    retrieval_prior,
    unit_features,
)
from agent.answer.units import AnswerUnit, answer_units, clauses, table_cells, table_row_statement
from agent.models import Citation
from knowledge.embeddings import Embedder
from knowledge.graph import AliasMatcher
from knowledge.models import RetrievedChunk

logger = logging.getLogger(__name__)

# How many passages are read (8 was chosen on the dev data: 5 and 10 covered fewer key facts there) and how much
# is quoted (a presentation bound).
SCORED_PASSAGES = 8
MAX_QUOTES = 3
MAX_ANSWER_CHARS = 600
SPAN_MAX_CLAUSES = 3
# A clause opening with one of these qualifies the one before it ("…36个月，自验收合格之日起计算").
_QUALIFIER_OPENERS = ("自", "从", "起", "以", "按", "于", "经", "在", "after ", "from ", "of ", "upon ", "starting ",
                      "counted ", "following ", "beginning ", "commencing ")
_FAQ_PREFIXES = ("A:", "A：", "答：", "答:")


@dataclass(frozen=True)
class ScoredCandidate:
    candidate: Candidate
    score: float


def compose_extractive_answer(question: str, language: str, passages: list[RetrievedChunk],
                              matcher: AliasMatcher, entity_names: dict[str, list[str]],
                              rarity: TermRarity | None = None, embedder: Embedder | None = None,
                              params: ComposerParams | None = None) -> AnswerDraft:
    """A cited answer from the passages, or a refusal when none supports one."""
    params = params or composer_params()
    rarity = rarity or _default_rarity()
    profile = profile_question(question, matcher, entity_names, rarity, params.out_of_corpus_weight)
    candidates = collect_candidates(profile, passages, matcher, embedder)
    return compose_from_candidates(profile, language, candidates, params)


def collect_candidates(profile: QuestionProfile, passages: list[RetrievedChunk], matcher: AliasMatcher,
                       embedder: Embedder | None) -> list[Candidate]:
    """Every unit of the top grounded passages with its passage's support and its (weight-free) features."""
    top = [(rank, passage) for rank, passage in enumerate(passages) if grounded(profile, passage)][:SCORED_PASSAGES]
    priors = retrieval_prior([passage for _rank, passage in top])
    rows: list[tuple[AnswerUnit, RetrievedChunk, float, int, float]] = []
    for (rank, passage), prior in zip(top, priors, strict=True):
        support = passage_support(profile, passage)
        rows += [(unit, passage, prior, rank, support) for unit in answer_units(passage.text)]
    features = unit_features(profile, [(unit, passage, prior) for unit, passage, prior, _r, _s in rows], matcher,
                             embedder)
    return [Candidate(unit=unit, passage=passage, rank=rank, support=support, features=feature)
            for (unit, passage, _prior, rank, support), feature in zip(rows, features, strict=True)]


def question_support(candidates: list[Candidate]) -> float:
    """The best support any candidate passage gives (0 without candidates)."""
    return max((candidate.support for candidate in candidates), default=0.0)


def compose_from_candidates(profile: QuestionProfile, language: str, candidates: list[Candidate],
                            params: ComposerParams) -> AnswerDraft:
    """Gate on support, rank the units, and write the answer line and quotes (the weight-dependent part)."""
    supported = [candidate for candidate in candidates if candidate.support >= params.refusal_threshold
                 and candidate.support > 0]
    if not supported:
        return refusal(language)
    scores = unit_scores(supported, params)
    ranked = sorted((ScoredCandidate(candidate, score) for candidate, score in zip(supported, scores, strict=True)),
                    key=lambda item: (-item.score, item.candidate.rank, item.candidate.unit.position))
    chosen = choose_quotes(profile, ranked, params)
    line = answer_line(profile, language, ranked[0].candidate.unit)
    text = format_answer(language, line, chosen)
    if not text.strip():
        return refusal(language)
    citations = [Citation(source=c.passage.source, section=c.passage.section, quote=c.unit.quote) for c in chosen]
    return AnswerDraft(text=text, citations=citations, answer_line=line, support=question_support(supported))


def unit_scores(candidates: list[Candidate], params: ComposerParams) -> list[float]:
    """Weighted sum of each unit's signals, BM25 over the unit weighing 1. BM25 and dense similarity are first
    rescaled over the candidates (best = 1, and for similarity worst = 0): their raw ranges differ by model and
    corpus (an embedder's cosines may all lie within 0.8–0.9), and only the order among candidates matters."""
    lexical = _rescaled([candidate.features.lexical for candidate in candidates], floor=False)
    dense = _rescaled([candidate.features.dense for candidate in candidates], floor=True)
    return [lex + params.dense_weight * sim + params.type_weight * candidate.features.answer_type
            + params.entity_weight * candidate.features.entity + params.retrieval_weight * candidate.features.retrieval
            for candidate, lex, sim in zip(candidates, lexical, dense, strict=True)]


def _rescaled(values: list[float], floor: bool) -> list[float]:
    """Values divided by the largest (after subtracting the smallest, with `floor`); all 0 when they are equal."""
    low = min(values, default=0.0) if floor else 0.0
    span = max(values, default=0.0) - low
    return [(value - low) / span if span > 0 else 0.0 for value in values]


def choose_quotes(profile: QuestionProfile, ranked: list[ScoredCandidate], params: ComposerParams) -> list[Candidate]:
    """The best unit; then, up to three quotes in all, units that score nearly as well and units of the best
    unit's passage that say a question term the quotes so far do not (the second half of a two-part
    question). In document order (rank, position)."""
    best = ranked[0]
    chosen = [best.candidate]
    for item in ranked[1:]:
        if len(chosen) == MAX_QUOTES:
            break
        candidate = item.candidate
        close = best.score > 0 and item.score >= params.companion_share * best.score
        completes = candidate.passage.chunk_id == best.candidate.passage.chunk_id and _adds_terms(
            profile, candidate, chosen)
        if (close or completes) and _may_join(candidate, chosen):
            chosen.append(candidate)
    return sorted(chosen, key=lambda candidate: (candidate.rank, candidate.unit.position))


def _adds_terms(profile: QuestionProfile, candidate: Candidate, chosen: list[Candidate]) -> bool:
    """The unit says one of the question's own words that no chosen unit says (synonyms left aside: the glossary
    groups related words, "governing law" with "arbitration", that a two-part question asks about apart)."""
    said = MatchableText("\n".join(other.unit.scoring_text for other in chosen))
    text = MatchableText(candidate.unit.scoring_text)
    words = [replace(term, forms=(term.text,)) for term in profile.terms]
    return any(text.frequency(word) and not said.frequency(word) for word in words)


def _may_join(candidate: Candidate, chosen: list[Candidate]) -> bool:
    """Not about a sibling entity, not a repeat, and within the answer's length budget."""
    quote = candidate.unit.quote
    return (candidate.features.entity >= 0 and all(quote != other.unit.quote for other in chosen)
            and _rendered_length([*chosen, candidate]) <= MAX_ANSWER_CHARS)


def _rendered_length(chosen: list[Candidate]) -> int:
    """About how long the quotes are once written out: each quote, and a source line per source and section."""
    sources = {(c.passage.source, c.passage.section): len(c.passage.title) + len(c.passage.section) + 16
               for c in chosen}
    return sum(len(c.unit.quote) + 3 for c in chosen) + sum(sources.values())


def answer_line(profile: QuestionProfile, language: str, unit: AnswerUnit) -> str:
    """The shortest span of the unit that states the answer; Yes/No first only when the unit says so."""
    if unit.kind == "row":
        span = table_row_statement(unit.quote, _asked_columns(profile, unit.quote))
    else:
        span = shortest_answer_span(profile, _without_faq_prefix(unit.quote))
    if AnswerType.YES_NO not in profile.types:
        return span
    polarity = stated_polarity(_without_faq_prefix(unit.quote))
    if polarity is None and negated(span):
        polarity = False
    if polarity is None:
        return span
    return f"{_polar_word(profile.text, language, polarity)}{span}"


def _asked_columns(profile: QuestionProfile, quote: str) -> list[int] | None:
    """The table columns whose header says a question term ("底价" of a price table); None = every column."""
    cells = table_cells(quote)
    if cells is None or not profile.terms:
        return None
    header = cells[0]
    wanted = [index for index, name in enumerate(header) if index and any(
        MatchableText(name).frequency(term) for term in profile.terms)]
    return wanted or None


def shortest_answer_span(profile: QuestionProfile, statement: str) -> str:
    """The shortest run of ≤ 3 clauses holding as many asked-type values and question terms as the statement,
    with a following qualifier clause ("自验收合格之日起", "from the date of …") kept. A question that asks for
    no typed value gets the whole statement (a unit is already one statement)."""
    parts = clauses(statement)
    if len(parts) <= 1 or not profile.types:
        return statement.strip()
    windows = [(start, end) for start in range(len(parts))
               for end in range(start + 1, min(len(parts), start + SPAN_MAX_CLAUSES) + 1)]

    def key(window: tuple[int, int]) -> tuple[float, float, int]:
        text = _join(parts[window[0]:window[1]])
        return type_match(text, profile.types), coverage(profile, MatchableText(text)), -len(text)

    start, end = max(windows, key=key)
    if end < len(parts) and parts[end].lower().startswith(_QUALIFIER_OPENERS):
        end += 1
    return _join(parts[start:end]).rstrip("，,;；：: ")


def _join(parts: list[str]) -> str:
    joined = ""
    for part in parts:
        joined = f"{joined} {part}" if joined and part[:1].isascii() and joined[-1:].isascii() else joined + part
    return joined.strip()


def _without_faq_prefix(quote: str) -> str:
    for prefix in _FAQ_PREFIXES:
        if quote.startswith(prefix):
            return quote[len(prefix):].strip()
    return quote


def _polar_word(question: str, language: str, polarity: bool) -> str:
    """"Yes. " / "No. " in English; in Chinese the question's own verb (可以/不可以, 有/没有, 支持/不支持, 是/否)."""
    if language != "zh":
        return "Yes. " if polarity else "No. "
    for verb, negative in (("支持", "不支持"), ("可以", "不可以"), ("能", "不能"), ("有", "没有")):
        if verb in question:
            return f"{verb}。" if polarity else f"{negative}。"
    return "是。" if polarity else "否。"


def format_answer(language: str, line: str, chosen: list[Candidate]) -> str:
    """The answer line, then each quote under its source and section (quotes verbatim)."""
    lines: list[str] = []
    if line and not (len(chosen) == 1 and line == chosen[0].unit.quote):
        lines.append(line)
    last_key: tuple[str, str] | None = None
    for candidate in chosen:
        passage = candidate.passage
        key = (passage.source, passage.section)
        if key != last_key:
            lines.append(f"根据《{passage.title}》{passage.section}：" if language == "zh"
                         else f"According to {passage.title} ({passage.section}):")
            last_key = key
        quote = candidate.unit.quote
        lines.append(f"「{quote}」" if language == "zh" else f"“{quote}”")
    return "\n".join(lines)


def _default_rarity() -> TermRarity | None:
    try:
        from knowledge.base import get_knowledge_base

        return get_knowledge_base().lexical_index()
    except Exception:  # an answer without IDF weights is still an answer; the reason goes to the log
        logger.exception("No lexical index for term weights; using flat weights")
        return None
