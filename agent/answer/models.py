"""The answer draft every composer returns."""

from __future__ import annotations

from dataclasses import dataclass, field

from agent.models import Citation


@dataclass
class AnswerDraft:
    """An answer (or refusal) text with its citations; extractive answers also say their direct answer line and
    the support that let them through the refusal gate."""

    text: str
    citations: list[Citation] = field(default_factory=list)
    refused: bool = False
    used_llm: bool = False
    answer_line: str = ""
    support: float | None = None
