"""The agent's entry points for connectors: answer one turn, decide on a pending action."""

from __future__ import annotations

from typing import Any

from agent.models import TurnRequest, TurnResult


def answer_turn(request: TurnRequest) -> TurnResult:
    """Run one user turn through the conversation graph (thread memory keyed by request.thread_id)."""
    raise NotImplementedError("agent graph lands with issue 4")


def decide_action(
    action_id: str, decision: str, user_id: str, role: str, edited_args: dict[str, Any] | None = None
) -> TurnResult:
    """Approve, edit or reject a pending action as this user; resumes the paused graph thread."""
    raise NotImplementedError("confirmation gate lands with issue 5")
