"""A decision that another process beat to the confirmation gate (its card click there, "确认" here) reports its own
outcome, and never approves the next action the thread paused on."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlmodel import select

from agent import service
from agent.models import TurnRequest
from knowledge.registry import read_registry_file
from salesbot.settings import SAMPLES_DIR, reset_runtime
from tools.db.tables import Task, sales_session
from tools.gate.models import ActionView
from tools.gate.store import get_action

REP = "zhang.wei"
CUSTOMERS = [entry.name for entry in read_registry_file(SAMPLES_DIR / "entities.yaml") if entry.type == "customer"]


@pytest.fixture(autouse=True)
def rules_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SALESBOT_LLM", "none")
    monkeypatch.setenv("SALESBOT_EMBEDDING", "none")
    reset_runtime()


def propose_follow_up(customer: str, thread_id: str) -> ActionView:
    result = service.answer_turn(TurnRequest(text=f"给{customer}下周三安排一次回访", user_id=REP, thread_id=thread_id))
    [action] = result.pending_actions
    return action


def beaten_to_the_gate(monkeypatch: pytest.MonkeyPatch, other_process: Callable[[], object]) -> None:
    """The race, made certain: the next decide_action sees the gate paused, then `other_process` runs (another
    process resuming the gate, and whatever it does next) before this one resumes."""
    paused_on = service._paused_on

    def paused_then_resumed_elsewhere(graph: Any, config: dict[str, Any], action_id: str) -> bool:
        paused = paused_on(graph, config, action_id)
        monkeypatch.setattr(service, "_paused_on", paused_on)
        other_process()
        return paused

    monkeypatch.setattr(service, "_paused_on", paused_then_resumed_elsewhere)


def task_count() -> int:
    with sales_session() as session:
        return len(session.exec(select(Task)).all())


def test_a_decision_beaten_to_the_gate_reports_its_own_outcome(monkeypatch: pytest.MonkeyPatch) -> None:
    action = propose_follow_up(CUSTOMERS[0], "t-race")
    decided_elsewhere: list[ActionView] = []
    beaten_to_the_gate(monkeypatch, lambda: decided_elsewhere.extend(
        service.decide_action(action.id, "approve", REP, "rep").executed_actions))
    # LangGraph resumes nothing on a thread no longer paused and returns the other run's result: this call must
    # not pass that off as its own decision.
    [late] = service.decide_action(action.id, "approve", REP, "rep").executed_actions
    [first] = decided_elsewhere
    assert first.id == late.id == action.id and not first.already_decided
    assert late.already_decided
    assert task_count() == 1


def test_a_late_decision_does_not_approve_the_action_the_thread_paused_on_next(monkeypatch: pytest.MonkeyPatch) -> None:
    first = propose_follow_up(CUSTOMERS[0], "t-next")
    proposed_next: list[ActionView] = []

    def decided_elsewhere_then_next_proposal() -> None:
        service.decide_action(first.id, "approve", REP, "rep")
        proposed_next.append(propose_follow_up(CUSTOMERS[1], "t-next"))

    beaten_to_the_gate(monkeypatch, decided_elsewhere_then_next_proposal)
    [late] = service.decide_action(first.id, "approve", REP, "rep").executed_actions
    [second] = proposed_next
    assert late.id == first.id and late.already_decided
    second_now = get_action(second.id)
    assert second_now is not None and second_now.status == "pending"  # not approved by the decision for `first`
    assert service._paused_on(service.compiled_graph(), service._config("t-next"), second.id)  # still waiting
    assert task_count() == 1
    [executed] = service.decide_action(second.id, "approve", REP, "rep").executed_actions
    assert executed.id == second.id and not executed.already_decided and task_count() == 2
