"""The action-kind registry: one class per kind; a new kind flows through propose, responsibility and decide."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from tools.db.tables import AuditEvent, PendingAction, Task, sales_session
from tools.gate.kinds import KINDS, ActionKind, AppliedWrite, kind_for
from tools.gate.kinds.base import KindArguments, OptionalText, require_text
from tools.gate.store import ActionInvalid, ActionNotAllowed, decide_action, get_action, propose_action


class CallBackArguments(KindArguments):
    customer: OptionalText = None
    topic: OptionalText = None


class CallBack(ActionKind):
    """A kind the product does not have: a call-back logged as a task due at once."""

    name = "schedule_call_back"
    arguments = CallBackArguments

    def normalise(self, args: dict[str, Any], *, now: Any = None, proposer_user: str | None = None) -> dict[str, Any]:
        parsed = self.parse(args, CallBackArguments)
        return {"customer": require_text(parsed.customer, "customer", self.name),
                "topic": require_text(parsed.topic, "topic", self.name).upper()}

    def summary(self, args: dict[str, Any]) -> tuple[str, str]:
        return f"Call back {args['customer']} about {args['topic']}", f"回电{args['customer']}：{args['topic']}"

    def apply(self, session: Session, action: PendingAction, actor: str) -> AppliedWrite:
        from datetime import UTC, datetime

        task = Task(owner=actor, customer_name=action.args["customer"], due=datetime(2026, 12, 1, 2, 0, tzinfo=UTC),
                    description=f"call back: {action.args['topic']}", source_thread=action.thread_id,
                    action_id=action.id)
        session.add(task)
        session.flush()
        return AppliedWrite(f"tasks:{task.id}", [{"source": "call-back"}])


@pytest.fixture()
def call_back_kind(monkeypatch: pytest.MonkeyPatch) -> CallBack:
    kind = CallBack()
    monkeypatch.setitem(KINDS, kind.name, kind)
    return kind


def test_a_registered_kind_flows_through_propose_and_decide(call_back_kind: CallBack) -> None:
    view = propose_action("schedule_call_back", {"customer": "<customer>", "topic": "renewal terms"},
                          "rep.one", "rep", "t-1")
    # No rule names the kind: the default approver applies; the kind's summary and normalisation are used.
    assert view.status == "pending" and view.required_approver == "confirm"
    assert view.summary == "Call back <customer> about RENEWAL TERMS" and view.args["topic"] == "RENEWAL TERMS"
    done = decide_action(view.id, "approve", "rep.one", "rep")
    assert done.status == "executed" and done.result and done.result.startswith("tasks:")
    assert decide_action(view.id, "approve", "rep.one", "rep").already_decided
    with sales_session() as session:
        tasks = session.exec(select(Task).where(Task.action_id == view.id)).all()
        executed = session.exec(select(AuditEvent).where(AuditEvent.action_id == view.id,
                                                         AuditEvent.event == "executed")).one()
    assert [task.description for task in tasks] == ["call back: RENEWAL TERMS"]
    assert {"source": "call-back"} in executed.sources


def test_a_registered_kind_validates_and_is_named_by_the_responsibility_list(
        call_back_kind: CallBack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from salesbot.settings import reset_runtime

    with pytest.raises(ActionInvalid, match="schedule_call_back needs a topic"):
        propose_action("schedule_call_back", {"customer": "<customer>"}, "rep.one", "rep", "t-1")
    policy = tmp_path / "responsibility.yaml"
    policy.write_text("actions:\n  schedule_call_back:\n    - name: call-backs need a manager\n"
                      "      approver: manager\n", encoding="utf-8")
    monkeypatch.setenv("SALESBOT_RESPONSIBILITY_FILE", str(policy))
    reset_runtime()
    view = propose_action("schedule_call_back", {"customer": "<customer>", "topic": "x"}, "rep.one", "rep", "t")
    assert view.required_approver == "manager"
    with pytest.raises(ActionNotAllowed, match="manager approval"):
        decide_action(view.id, "approve", "rep.one", "rep")
    unchanged = get_action(view.id)
    assert unchanged is not None and unchanged.status == "pending"


def test_unknown_kinds_are_refused_with_the_known_ones_listed() -> None:
    with pytest.raises(ActionInvalid, match="known actions: create_follow_up_task"):
        kind_for("delete_customer")
    assert set(KINDS) >= {"create_follow_up_task", "log_opportunity_card", "update_opportunity_stage",
                          "submit_quote_for_approval"}
