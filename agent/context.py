"""Per-run context of the graph: who is asking, with which role, in which thread (never read from globals)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Context:
    """Runtime context passed to every node via `graph.invoke(..., context=Context(...))`."""

    user_id: str = field(default="cli-user", metadata={"description": "Chat user id of the person asking."})
    role: str = field(default="rep", metadata={"description": "Role that decides which documents and data "
                                                             "the user may see: rep, manager, vp, admin."})
    thread_id: str = field(default="default", metadata={"description": "Conversation thread (Slack thread, "
                                                                       "WeCom chat, CLI --thread)."})
    channel: str = field(default="cli", metadata={"description": "cli, slack, wecom, eval or mcp."})


# The model checks of the turn being answered (agent.service.answer_turn), or None outside a turn. LangGraph runs each
# node in a copy of the caller's context: the list itself is shared, so every node appends to the same one.
_turn_checks: ContextVar[list[dict[str, Any]] | None] = ContextVar("salesbot_turn_model_checks", default=None)


@contextmanager
def recording_model_checks() -> Iterator[list[dict[str, Any]]]:
    """Collects what became of each model call made inside, as TurnResult.model_checks (agent.models.ModelCheck)."""
    checks: list[dict[str, Any]] = []
    token = _turn_checks.set(checks)
    try:
        yield checks
    finally:
        _turn_checks.reset(token)


def record_model_check(step: str, outcome: str, detail: object = "") -> None:
    """Note one model call's outcome on the current turn (nothing outside a turn)."""
    checks = _turn_checks.get()
    if checks is not None:
        checks.append({"step": step, "outcome": outcome, "detail": str(detail)[:300]})
