"""The answer draft every composer returns."""

from __future__ import annotations

from dataclasses import dataclass, field

from agent.models import Citation


@dataclass
class AnswerDraft:
    text: str
    citations: list[Citation] = field(default_factory=list)
    refused: bool = False
    used_llm: bool = False
