"""Grounded answers: extractive (no LLM) with a support check, or LLM-written with a citation post-check."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, Field

from agent.models import Citation
from knowledge.graph import AliasMatcher
from knowledge.injection import REMOVED_MARKER
from knowledge.models import RetrievedChunk
from knowledge.text import glossary_groups, tokenize
from prompts import load_prompt

logger = logging.getLogger(__name__)

MAX_QUOTES = 3
SUPPORT_THRESHOLD = 0.5
_GENERIC_TERMS = frozenset(
    "多少 几 几个 几天 几年 什么 怎么 怎么样 为什么 是不是 能不能 可不可以 可以 是否 有没有 我们 他们 客户 那 这 那个 这个 "
    "一下 要是 如果 的话 一台 一个 多久 多长 时间 问题 情况 具体 哪些 哪个 里 说 问 请问 给 跟 比 这单 那单 这家 那家 "
    "what how many much does do did is are was our we us they their customer client give gave get got have has "
    "which who when where can could would should tell me about any there".split())
_QUANTITY_QUESTION = re.compile(r"多少|几|多久|多长|多高|多低|多重|比例|百分|how (many|much|long|far|low|high)|"
                                r"what (is|'s) the (rate|percentage|cap|limit|price)|percent|rate|\bwhen\b|日期|哪天",
                                re.I)
_SENTENCE_UNITS = re.compile(r"[^。！？!?\n]+[。！？!?]?|\n")
_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?%?")
_CODE_TERM = re.compile(r"\b(?=[A-Za-z0-9-]*[A-Z])(?=[A-Za-z0-9-]*\d)[A-Za-z0-9-]{2,}\b")


@dataclass
class AnswerDraft:
    text: str
    citations: list[Citation] = field(default_factory=list)
    refused: bool = False
    used_llm: bool = False


def salient_terms(question: str, matcher: AliasMatcher) -> list[str]:
    """Content words of the question, without entity names and generic question words."""
    remainder = question
    for match in sorted(matcher.find(question), key=lambda m: -m.start):
        remainder = remainder[: match.start] + " " + remainder[match.end:]
    return [term for term in dict.fromkeys(tokenize(remainder)) if term not in _GENERIC_TERMS and len(term) > 1]


def _equivalents(term: str) -> list[str]:
    found: list[str] = []
    for group in glossary_groups():
        group_tokens = [tokenize(item) for item in group]
        if any(term in tokens or term == item.lower() for item, tokens in zip(group, group_tokens, strict=True)):
            found.extend(item.lower() for item in group)
    return found


def _has_cjk(text: str) -> bool:
    return re.search(r"[\u4e00-\u9fff]", text) is not None


def term_covered(term: str, text: str, tokens: set[str]) -> bool | None:
    """True/False when the passage does/doesn't contain the term (or a glossary equivalent); None = can't tell."""
    lowered = text.lower()
    if term in tokens or term in lowered:
        return True
    equivalents = _equivalents(term)
    if any(equivalent in lowered for equivalent in equivalents):
        return True
    same_script = _has_cjk(term) == _has_cjk(text) or not _has_cjk(term) and re.search(r"[a-z]", lowered)
    return False if (same_script or equivalents) else None


def support(question_terms: list[str], text: str) -> float:
    """Share of the checkable question terms the text contains (1.0 when nothing can be checked)."""
    tokens = set(tokenize(text))
    verdicts = [term_covered(term, text, tokens) for term in question_terms]
    checkable = [verdict for verdict in verdicts if verdict is not None]
    return sum(checkable) / len(checkable) if checkable else 1.0


def _units(text: str) -> list[str]:
    """Quotable units: table rows and list items whole, prose split into sentences."""
    units: list[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or set(stripped) <= set("|-: "):
            continue
        if stripped.startswith(("|", "- ", "* ")) or REMOVED_MARKER in stripped:
            units.append(stripped)
            continue
        units.extend(part.strip() for part in _SENTENCE_UNITS.findall(stripped) if part.strip())
    return [unit for unit in units if REMOVED_MARKER not in unit and len(unit) > 3]


def _score_unit(unit: str, terms: list[str], wants_number: bool) -> float:
    if not terms:
        return 0.1
    tokens = set(tokenize(unit))
    covered = sum(1 for term in terms if term_covered(term, unit, tokens))
    score = covered / len(terms)
    if wants_number and _NUMBER.search(unit):
        score += 0.25
    return score


def _entities_grounded(question: str, matcher: AliasMatcher, passage: RetrievedChunk,
                       entity_names: dict[str, list[str]]) -> bool:
    """A question naming a customer or partner is only answered from a passage about or mentioning it."""
    named = [m.entity_id for m in matcher.find(question) if m.entity_id.split(":")[0] in ("customer", "partner")]
    if not named:
        return True
    haystack = f"{passage.title}\n{passage.section}\n{passage.text}\n{' '.join(passage.customers)}".lower()
    return all(any(alias.lower() in haystack for alias in entity_names.get(entity_id, [])) for entity_id in named)


def compose_extractive_answer(question: str, language: str, passages: list[RetrievedChunk],
                              matcher: AliasMatcher, entity_names: dict[str, list[str]]) -> AnswerDraft:
    """Pick the sentences of the top passages that answer the question; quote them verbatim and cite each."""
    terms = salient_terms(question, matcher)
    grounded = [p for p in passages if _entities_grounded(question, matcher, p, entity_names)]
    supported = [(rank, p) for rank, p in enumerate(grounded) if support(terms, f"{p.section}\n{p.text}")
                 >= SUPPORT_THRESHOLD]
    if not supported:
        return refusal(language)
    wants_number = bool(_QUANTITY_QUESTION.search(question))
    scored: list[tuple[float, int, int, str, RetrievedChunk]] = []
    for rank, passage in supported[:4]:
        for position, unit in enumerate(_units(passage.text)):
            score = _score_unit(f"{passage.section} {unit}", terms, wants_number) - 0.08 * rank
            scored.append((score, rank, position, unit, passage))
    if not scored:
        return refusal(language)
    scored.sort(key=lambda item: -item[0])
    best_score = scored[0][0]
    chosen = [item for item in scored if item[0] >= best_score * 0.75][:MAX_QUOTES]
    chosen.sort(key=lambda item: (item[1], item[2]))
    citations = [Citation(source=p.source, section=p.section, quote=unit) for _, _, _, unit, p in chosen]
    return AnswerDraft(text=format_quotes(language, chosen), citations=citations)


def format_quotes(language: str, chosen: list[tuple[float, int, int, str, RetrievedChunk]]) -> str:
    lines: list[str] = []
    last_key: tuple[str, str] | None = None
    for _, _, _, unit, passage in chosen:
        key = (passage.source, passage.section)
        if key != last_key:
            lines.append(f"根据《{passage.title}》{passage.section}：" if language == "zh"
                         else f"According to {passage.title} ({passage.section}):")
            last_key = key
        lines.append(f"「{unit}」" if language == "zh" else f"“{unit}”")
    return "\n".join(lines)


def refusal(language: str, who: str | None = None) -> AnswerDraft:
    if language == "zh":
        text = (f"知识库中没有找到能回答这个问题的内容，我不做猜测。建议咨询{who or '销售经理或产品/法务团队'}。")
    else:
        text = ("The knowledge base does not contain an answer to this, and I won't guess. "
                f"Please check with {who or 'your sales manager or the product/legal team'}.")
    return AnswerDraft(text=text, refused=True)


def restricted_refusal(language: str) -> AnswerDraft:
    if language == "zh":
        text = "底价、成本和毛利属于经理及以上角色可见的信息，我不能提供。需要特殊价格时请提交报价审批，由销售经理决定。"
    else:
        text = ("Floor prices, unit costs and margins are visible to managers and above only, so I can't share them. "
                "If you need a special price, submit the quote for approval and your manager will decide.")
    return AnswerDraft(text=text, refused=True)


class LLMAnswer(BaseModel):
    """What the model must return: its answer and the numbers of the passages it used."""

    answer: str = Field(description="The answer, or an empty string when the passages don't contain it.")
    cited_passages: list[int] = Field(default_factory=list, description="Numbers of the passages used.")


def passages_prompt(passages: list[RetrievedChunk]) -> str:
    template = load_prompt("passage")
    return "\n".join(template.format(number=number, source=p.source, section=p.section, text=p.text)
                     for number, p in enumerate(passages, start=1))


def unsupported_terms(answer: str, cited_text: str) -> list[str]:
    """Numbers and product-code-like terms in the answer that no cited passage contains."""
    normalized = cited_text.replace(",", "")
    missing = [number for number in _NUMBER.findall(answer) if number.replace(",", "") not in normalized]
    missing += [term for term in _CODE_TERM.findall(answer) if term.lower() not in cited_text.lower()]
    return missing


def compose_llm_answer(model: Any, question: str, language: str,
                       passages: list[RetrievedChunk]) -> AnswerDraft | None:
    """Ask the model for a cited answer; None when it fails or says something its passages don't (fallback)."""
    from agent.llm import ModelUnavailableError, StructuredOutputError, invoke_structured

    if not passages:
        return None
    prompt = load_prompt("answer").format(language_name="Chinese" if language == "zh" else "English",
                                          question=question, passages=passages_prompt(passages))
    try:
        reply = invoke_structured(model, [("human", prompt)], LLMAnswer)
    except (ModelUnavailableError, StructuredOutputError) as error:
        logger.warning("LLM answer failed, using the extractive answer: %s", error)
        return None
    cited = [passages[n - 1] for n in dict.fromkeys(reply.cited_passages) if 1 <= n <= len(passages)]
    if not reply.answer.strip() or not cited:
        return None
    missing = unsupported_terms(reply.answer, "\n".join(p.text for p in cited))
    if missing:
        logger.info("LLM answer rejected by the post-check (unsupported: %s)", missing[:5])
        return None
    citations = [Citation(source=p.source, section=p.section, quote=_best_quote(reply.answer, p)) for p in cited]
    return AnswerDraft(text=reply.answer.strip(), citations=citations, used_llm=True)


def _best_quote(answer: str, passage: RetrievedChunk) -> str:
    units = _units(passage.text) or [passage.text]
    answer_tokens = set(tokenize(answer))
    return max(units, key=lambda unit: len(answer_tokens & set(tokenize(unit))))
