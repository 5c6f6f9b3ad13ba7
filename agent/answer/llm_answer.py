"""LLM answers over retrieved passages, post-checked against what the cited passages contain."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, Field

from agent.answer.models import AnswerDraft
from agent.answer.units import answer_units
from agent.context import record_model_check
from agent.models import Citation
from knowledge.models import RetrievedChunk
from knowledge.text import tokenize
from prompts import load_prompt

logger = logging.getLogger(__name__)

# What the post-check compares: numbers (with a trailing %) and product-code-like terms ("AB-100", "RS485").
_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?%?")
_CODE_TERM = re.compile(r"\b(?=[A-Za-z0-9-]*[A-Z])(?=[A-Za-z0-9-]*\d)[A-Za-z0-9-]{2,}\b")


class LLMAnswer(BaseModel):
    """What the model must return: its answer and the numbers of the passages it used."""

    answer: str = Field(description="The answer, or an empty string when the passages don't contain it.")
    cited_passages: list[int] = Field(default_factory=list, description="Numbers of the passages used.")


# The share of the time left that reading the prompt may take; the rest is for writing the answer.
PROMPT_TIME_SHARE = 0.5


def passages_prompt(passages: list[RetrievedChunk], texts: list[str] | None = None) -> str:
    template = load_prompt("passage")
    texts = [p.text for p in passages] if texts is None else texts
    return "\n".join(template.format(number=number, source=p.source, section=p.section, text=text)
                     for number, (p, text) in enumerate(zip(passages, texts, strict=True), start=1))


def fitted_passages(question: str, passages: list[RetrievedChunk], budget_tokens: int | None,
                    count_tokens: Callable[[str], int]) -> tuple[list[RetrievedChunk], list[str]]:
    """The passages (in rank order) and the text of each that fit a prompt-token budget; all of them, whole, when
    nothing bounds it (budget None).

    A passage that does not fit whole keeps the answer units that share most words with the question, in their
    order in the passage, as many as fit; the passages after the budget is spent are left out. The best passage
    always keeps at least its best unit, so the model has something to answer from.
    """
    if budget_tokens is None:
        return passages, [p.text for p in passages]
    question_tokens = set(tokenize(question))
    template = load_prompt("passage")
    kept: list[RetrievedChunk] = []
    texts: list[str] = []
    left = budget_tokens
    for passage in passages:
        # The passage's header line (number, source, section) and markers are read too.
        header = count_tokens(template.format(number=len(kept) + 1, source=passage.source, section=passage.section,
                                              text=""))
        room = left - header
        whole = count_tokens(passage.text)
        if whole <= room:
            kept.append(passage)
            texts.append(passage.text)
            left = room - whole
            continue
        units = answer_units(passage.text)
        ranked = sorted(range(len(units)), key=lambda i: -len(question_tokens & set(tokenize(units[i].scoring_text))))
        chosen: list[int] = []
        for index in ranked:
            cost = count_tokens(units[index].quote)
            if cost <= room or not kept and not chosen:
                chosen.append(index)
                room -= cost
        if chosen:
            kept.append(passage)
            texts.append("\n".join(units[i].quote for i in sorted(chosen)))
            left = room
        if left <= 0:
            break
    return kept, texts


def unsupported_terms(answer: str, cited_text: str) -> list[str]:
    """Numbers and product-code-like terms in the answer that no cited passage contains."""
    normalized = cited_text.replace(",", "")
    missing = [number for number in _NUMBER.findall(answer) if number.replace(",", "") not in normalized]
    missing += [term for term in _CODE_TERM.findall(answer) if term.lower() not in cited_text.lower()]
    return missing


def compose_llm_answer(model: Any, question: str, language: str, passages: list[RetrievedChunk], *,
                       on_answer_text: Callable[[str], None] | None = None) -> AnswerDraft | None:
    """Ask the model for a cited answer; None when it fails or says something its passages don't (fallback).

    With on_answer_text the model's answer is streamed and on_answer_text gets its `answer` text so far each time it
    grows (unchecked text, for display); the returned draft is the same as without it.
    """
    from salesbot.llm import ModelUnavailableError, StructuredOutputError, invoke_structured

    if not passages:
        return None
    from salesbot.llm import count_prompt_tokens, prompt_token_budget

    template = load_prompt("answer")
    language_name = "Chinese" if language == "zh" else "English"
    frame = template.format(language_name=language_name, question=question, passages="")
    # The prompt is cut to what the model can read in half the time left (at its measured prompt-eval rate): a
    # bigger model on the same cores reads fewer passages, rather than running out of time before it writes.
    budget = prompt_token_budget(model, PROMPT_TIME_SHARE)
    if budget is not None:
        budget -= count_prompt_tokens(frame, model)
    passages, texts = fitted_passages(question, passages, budget,
                                      lambda text: count_prompt_tokens(text, model))
    if not passages:
        record_model_check("answer", "failed", "no passage fits the time left")
        return None
    prompt = template.format(language_name=language_name, question=question,
                             passages=passages_prompt(passages, texts))
    on_text = None if on_answer_text is None else AnswerTextStream(on_answer_text)
    try:
        reply = invoke_structured(model, [("human", prompt)], LLMAnswer, on_text=on_text)
    except (ModelUnavailableError, StructuredOutputError) as error:
        logger.warning("LLM answer failed, using the extractive answer: %s", error)
        record_model_check("answer", "failed", error)
        return None
    cited = [passages[n - 1] for n in dict.fromkeys(reply.cited_passages) if 1 <= n <= len(passages)]
    if not reply.answer.strip() or not cited:
        record_model_check("answer", "rejected", "an empty answer" if not reply.answer.strip() else
                           "cites no passage it was given")
        return None
    missing = unsupported_terms(reply.answer, "\n".join(p.text for p in cited))
    if missing:
        logger.info("LLM answer rejected by the post-check (unsupported: %s)", missing[:5])
        record_model_check("answer", "rejected", f"not in the cited passages: {', '.join(missing[:5])}")
        return None
    record_model_check("answer", "accepted")
    citations = [Citation(source=p.source, section=p.section, quote=_best_quote(reply.answer, p)) for p in cited]
    return AnswerDraft(text=reply.answer.strip(), citations=citations, used_llm=True)


class AnswerTextStream:
    """Reads the `answer` field out of the LLMAnswer JSON as the model writes it, telling a listener each new prefix."""

    def __init__(self, listener: Callable[[str], None]) -> None:
        self._listener = listener
        self._raw = ""
        self._shown = ""

    def __call__(self, piece: str) -> None:
        from langchain_core.utils.json import parse_partial_json

        self._raw += piece
        start = self._raw.find("{")
        if start < 0:
            return
        try:
            partial = parse_partial_json(self._raw[start:])
        except Exception:  # half-written JSON it cannot close yet: wait for more text
            return
        answer = partial.get("answer") if isinstance(partial, dict) else None
        if isinstance(answer, str) and answer.strip() and answer != self._shown:
            self._shown = answer
            self._listener(answer)


def _best_quote(answer: str, passage: RetrievedChunk) -> str:
    units = [unit.quote for unit in answer_units(passage.text)] or [passage.text]
    answer_tokens = set(tokenize(answer))
    return max(units, key=lambda unit: len(answer_tokens & set(tokenize(unit))))
