"""An answer's progress for people watching it arrive: the extractive answer first, then the model's text.

A connector that can show progress (Slack edits a message, the CLI prints to a terminal) sets a listener around
`answer_turn` with `reporting_progress`; a node about to ask the model before any answer exists tells it the turn is
in hand (`working`); the knowledge route tells it the preliminary answer (the extractive one,
which is what the turn answers when the model fails) before asking the model, then the model's answer text as it
grows. The turn's result is unchanged by any listener and is what replaces whatever was shown. A context variable:
LangGraph runs each node in a copy of the caller's context, so the node sees the connector's listener.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Protocol

from agent.models import TurnResult

logger = logging.getLogger(__name__)


class AnswerProgress(Protocol):
    def working(self, language: str) -> None:
        """The model is being asked before any answer exists (routing, tool arguments, a card): show that the turn
        is in hand."""

    def preliminary(self, result: TurnResult) -> None:
        """The extractive answer, ready before the model is asked; the turn's answer if the model fails."""

    def model_text(self, text: str) -> None:
        """The model's answer so far (unchecked: the turn's result, post-checked, replaces it)."""


_listener: ContextVar[AnswerProgress | None] = ContextVar("salesbot_answer_progress", default=None)


@contextmanager
def reporting_progress(listener: AnswerProgress | None) -> Iterator[None]:
    """Turns answered inside report their progress to `listener` (None: nobody watches, as without it)."""
    token = _listener.set(listener)
    try:
        yield
    finally:
        _listener.reset(token)


class _GuardedProgress:
    """The listener, with its failures logged and ignored: showing progress must never change or break a turn."""

    def __init__(self, listener: AnswerProgress) -> None:
        self._listener = listener

    def working(self, language: str) -> None:
        try:
            self._listener.working(language)
        except Exception:
            logger.exception("showing that the turn is in hand failed; the turn goes on")

    def preliminary(self, result: TurnResult) -> None:
        try:
            self._listener.preliminary(result)
        except Exception:
            logger.exception("showing the preliminary answer failed; the turn goes on")

    def model_text(self, text: str) -> None:
        try:
            self._listener.model_text(text)
        except Exception:
            logger.exception("showing the model's text failed; the turn goes on")


def current_progress() -> AnswerProgress | None:
    """The listener of the turn in progress (failures guarded), or None when nobody watches."""
    listener = _listener.get()
    return None if listener is None else _GuardedProgress(listener)
