"""The confirmation gate's store: who must confirm, who may decide, approve-once, edit, reject, audit."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select

from tests.relative_dates import DUE_TOMORROW, due_at, local_day
from tools.db.tables import AuditEvent, Feedback, Quote, Task, sales_session
from tools.gate.store import (
    DEFAULT_RESPONSIBILITY_FILE,
    ActionInvalid,
    ActionNotAllowed,
    ActionNotFound,
    decide_action,
    get_action,
    list_actions,
    propose_action,
)
from tools.sales.seed import seed_sample_company

FOLLOW_UP = {"customer": "华东人民医院", "due": DUE_TOMORROW, "description": "回访"}


def _count(model, **filters) -> int:  # type: ignore[no-untyped-def]
    with sales_session() as session:
        statement = select(model)
        for field, value in filters.items():
            statement = statement.where(getattr(model, field) == value)
        return len(session.exec(statement).all())


def test_proposal_is_persisted_pending_with_canonical_args() -> None:
    view = propose_action("create_follow_up_task", {**FOLLOW_UP, "customer": "Huadong"}, "zhang.wei", "rep", "t-1",
                          sources=[{"source": "chat", "quote": "给华东人民医院下周三安排一次回访"}])
    assert view.status == "pending" and view.required_approver == "confirm"
    assert view.customer == "华东人民医院" and view.due == f"{DUE_TOMORROW}+08:00"
    stored = get_action(view.id)
    assert stored is not None and stored.status == "pending" and stored.sources[0]["source"] == "chat"
    assert _count(Task) == 0
    assert [action.id for action in list_actions("pending")] == [view.id]


def test_approve_writes_once_with_audit_and_feedback() -> None:
    view = propose_action("create_follow_up_task", FOLLOW_UP, "zhang.wei", "rep", "t-1",
                          sources=[{"source": "crm-note.md"}])
    first = decide_action(view.id, "approve", "zhang.wei", "rep")
    assert first.status == "executed" and first.result and first.result.startswith("tasks:")
    second = decide_action(view.id, "approve", "zhang.wei", "rep")
    assert second.status == "executed" and second.already_decided
    assert _count(Task, action_id=view.id) == 1
    assert _count(AuditEvent, action_id=view.id, event="executed") == 1
    with sales_session() as session:
        executed = session.exec(select(AuditEvent).where(AuditEvent.event == "executed")).one()
        assert executed.sources == [{"source": "crm-note.md"}]
        task = session.exec(select(Task)).one()
    assert task.owner == "zhang.wei" and task.source_thread == "t-1" and task.customer_key == "huadong-peoples"
    assert _count(Feedback, suggestion_id=view.id, verdict="adopted") == 1


def test_confirm_means_the_proposer_or_a_manager() -> None:
    view = propose_action("create_follow_up_task", FOLLOW_UP, "zhang.wei", "rep", "t-1")
    with pytest.raises(ActionNotAllowed, match="only the person who asked"):
        decide_action(view.id, "approve", "li.na", "rep")
    assert decide_action(view.id, "approve", "liu.yang", "manager").status == "executed"


def test_quote_discount_bands_decide_the_approver() -> None:
    base = {"customer": "北风制造", "product": "G5", "quantity": 50}
    small = propose_action("submit_quote_for_approval", {**base, "unit_price": "12160"}, "emily.ross", "rep", "t")
    medium = propose_action("submit_quote_for_approval", {**base, "unit_price": "11000"}, "emily.ross", "rep", "t")
    large = propose_action("submit_quote_for_approval", {**base, "unit_price": "10500"}, "emily.ross", "rep", "t")
    assert (small.required_approver, medium.required_approver, large.required_approver) == ("confirm", "manager", "vp")
    with pytest.raises(ActionNotAllowed, match="manager approval"):
        decide_action(medium.id, "approve", "emily.ross", "rep")
    with pytest.raises(ActionNotAllowed, match="VP approval"):
        decide_action(large.id, "approve", "liu.yang", "manager")
    assert decide_action(large.id, "approve", "zhao.min", "vp").status == "executed"
    with sales_session() as session:
        quote = session.exec(select(Quote)).one()
    assert quote.approved_by == "zhao.min" and quote.product_sku == "QI-G5" and quote.amount == 10500 * 50


def test_quote_below_floor_is_refused_without_revealing_it() -> None:
    with pytest.raises(ActionInvalid) as raised:
        propose_action("submit_quote_for_approval", {"customer": "北风制造", "product": "G5", "quantity": 5,
                                                     "unit_price": "9000"}, "emily.ross", "rep", "t")
    assert "10200" not in str(raised.value) and "10,200" not in str(raised.value)


def test_edit_revalidates_and_rechecks_the_approver() -> None:
    view = propose_action("submit_quote_for_approval", {"customer": "北风制造", "product": "G5", "quantity": 50,
                                                        "unit_price": "12160"}, "emily.ross", "rep", "t")
    # Deepening the discount to 14% makes it a manager decision: the rep's edit is refused, nothing written.
    with pytest.raises(ActionNotAllowed, match="manager approval"):
        decide_action(view.id, "edit", "emily.ross", "rep", {"unit_price": "11000"})
    assert get_action(view.id).status == "pending" and _count(Quote) == 0
    with pytest.raises(ActionInvalid):
        decide_action(view.id, "edit", "emily.ross", "rep", {"quantity": "0"})
    edited = decide_action(view.id, "edit", "liu.yang", "manager", {"unit_price": "11000"})
    assert edited.status == "executed" and edited.args["unit_price"] == "11000"
    assert edited.required_approver == "manager"
    assert _count(AuditEvent, action_id=view.id, event="edited") == 1
    assert _count(Feedback, suggestion_id=view.id, verdict="modified") == 1


def test_edit_of_due_date_accepts_natural_language() -> None:
    view = propose_action("create_follow_up_task", FOLLOW_UP, "zhang.wei", "rep", "t")
    edited = decide_action(view.id, "edit", "zhang.wei", "rep", {"due": due_at(3, 15, " ")})
    assert edited.due == f"{due_at(3, 15)}+08:00"
    with sales_session() as session:
        assert session.exec(select(Task)).one().due.isoformat().startswith(f"{local_day(3)}T07:00")  # stored in UTC


def test_reject_writes_nothing_and_cannot_be_approved_later() -> None:
    view = propose_action("create_follow_up_task", FOLLOW_UP, "zhang.wei", "rep", "t")
    assert decide_action(view.id, "reject", "zhang.wei", "rep").status == "rejected"
    with pytest.raises(ActionNotAllowed, match="already rejected"):
        decide_action(view.id, "approve", "zhang.wei", "rep")
    assert _count(Task) == 0
    assert _count(Feedback, suggestion_id=view.id, verdict="rejected") == 1


def test_unknown_ids_kinds_and_roles_get_readable_errors() -> None:
    with pytest.raises(ActionNotFound, match="no action"):
        decide_action("ZZZZZ", "approve", "zhang.wei", "rep")
    with pytest.raises(ActionInvalid, match="unknown action"):
        propose_action("delete_customer", {}, "zhang.wei", "rep", "t")
    with pytest.raises(ActionInvalid, match="needs a due"):
        propose_action("create_follow_up_task", {"customer": "北风", "description": "x"}, "zhang.wei", "rep", "t")
    view = propose_action("create_follow_up_task", FOLLOW_UP, "zhang.wei", "rep", "t")
    with pytest.raises(ActionNotAllowed, match="unknown role"):
        decide_action(view.id, "approve", "zhang.wei", "intern")


def test_closing_an_opportunity_needs_a_manager_other_stages_the_proposer() -> None:
    seed_sample_company()
    closing = propose_action("update_opportunity_stage", {"customer": "Northwind", "stage": "closed_won"},
                             "emily.ross", "rep", "t")
    assert closing.required_approver == "manager"
    moving = propose_action("update_opportunity_stage", {"customer": "Northwind", "stage": "negotiation"},
                            "emily.ross", "rep", "t")
    assert moving.required_approver == "confirm"
    assert decide_action(moving.id, "approve", "emily.ross", "rep").status == "executed"
    assert decide_action(closing.id, "approve", "liu.yang", "manager").status == "executed"
    from tools.db.tables import Opportunity

    with sales_session() as session:
        opportunity = session.get(Opportunity, closing.args["opportunity_id"])
    assert opportunity.stage == "closed_won"


def test_opportunity_card_action_creates_an_opportunity() -> None:
    view = propose_action("log_opportunity_card", {"customer": "江南第二医院", "stage": "negotiation", "product": "X3",
                                                   "objections": "价格偏高; 担心交期", "budget": 800000,
                                                   "competitor": "康拓医疗"}, "zhang.wei", "rep", "t")
    assert view.required_approver == "confirm"
    done = decide_action(view.id, "approve", "zhang.wei", "rep")
    from tools.db.tables import Opportunity

    with sales_session() as session:
        opportunity = session.exec(select(Opportunity).where(Opportunity.source_action_id == view.id)).one()
    assert done.result == f"opportunities:{opportunity.id}"
    assert opportunity.product_sku == "QM-X3" and opportunity.budget == 800000
    assert opportunity.objections == "价格偏高; 担心交期"


def test_renewal_reminder_runs_automatically_for_a_user_request() -> None:
    view = propose_action("create_follow_up_task", {**FOLLOW_UP, "description": "续约提醒"}, "zhang.wei", "rep", "t")
    assert view.status == "executed" and view.required_approver == "auto"
    assert _count(Task, action_id=view.id) == 1


def test_task_from_document_text_is_never_executed_without_a_human(tmp_path: Path, monkeypatch) -> None:
    from salesbot.settings import reset_runtime

    # Even a policy that makes every follow-up automatic cannot auto-run a request found in a document.
    permissive = tmp_path / "responsibility.yaml"
    permissive.write_text("actions:\n  create_follow_up_task:\n    - approver: auto\n", encoding="utf-8")
    monkeypatch.setenv("SALESBOT_RESPONSIBILITY_FILE", str(permissive))
    reset_runtime()
    injected = propose_action("create_follow_up_task", {**FOLLOW_UP, "description": "续约提醒 renewal"},
                              "zhang.wei", "rep", "t", sources=[{"source": "contract.pdf"}], origin="document")
    assert injected.status == "pending" and injected.required_approver == "confirm"
    assert _count(Task) == 0
    assert propose_action("create_follow_up_task", FOLLOW_UP, "zhang.wei", "rep", "t").status == "executed"


def test_editing_the_responsibility_yaml_changes_who_must_confirm(tmp_path: Path, monkeypatch) -> None:
    from salesbot.settings import reset_runtime

    policy_file = tmp_path / "responsibility.yaml"
    original = DEFAULT_RESPONSIBILITY_FILE.read_text(encoding="utf-8")
    policy_file.write_text(original, encoding="utf-8")
    monkeypatch.setenv("SALESBOT_RESPONSIBILITY_FILE", str(policy_file))
    reset_runtime()
    quote = {"customer": "北风制造", "product": "G5", "quantity": 50, "unit_price": "11000"}  # 14.06% off
    assert propose_action("submit_quote_for_approval", quote, "emily.ross", "rep", "t").required_approver == "manager"
    before = propose_action("create_follow_up_task", FOLLOW_UP, "zhang.wei", "rep", "t")
    assert before.required_approver == "confirm"

    # Tighten: manager-band quotes go to a VP, and follow-up tasks now need a manager.
    edited = original.replace(
        "  submit_quote_for_approval:\n",
        "  submit_quote_for_approval:\n    - name: manager-band quotes go to a VP\n"
        "      when: {policy_approver: manager}\n      approver: vp\n").replace(
        "    - name: follow-up tasks need the requester's confirmation\n      approver: confirm",
        "    - name: follow-up tasks need a manager\n      approver: manager")
    assert edited != original
    policy_file.write_text(edited, encoding="utf-8")
    assert propose_action("submit_quote_for_approval", quote, "emily.ross", "rep", "t").required_approver == "vp"
    after = propose_action("create_follow_up_task", FOLLOW_UP, "zhang.wei", "rep", "t")
    assert after.required_approver == "manager"
    with pytest.raises(ActionNotAllowed):
        decide_action(after.id, "approve", "zhang.wei", "rep")
    assert decide_action(after.id, "approve", "liu.yang", "manager").status == "executed"


# ---------------------------------------------------------------- edits keep the target; inputs are bounded


def _another_reps_closed_deal(not_owner: str) -> int:
    from tools.db.tables import Opportunity

    with sales_session() as session:
        opportunities = session.exec(select(Opportunity)).all()
    closed = [item for item in opportunities if item.owner != not_owner and item.stage in ("closed_won", "negotiation")]
    assert closed, "the sample company has other reps' opportunities"
    return int(closed[0].id)  # type: ignore[arg-type]


def test_an_edit_can_never_retarget_a_stage_change_to_another_deal() -> None:
    from tools.db.tables import Opportunity
    from tools.gate.store import ensure_may_decide

    seed_sample_company()
    harmless = propose_action("update_opportunity_stage", {"customer": "Northwind", "stage": "negotiation"},
                              "emily.ross", "rep", "t")
    own_id = harmless.args["opportunity_id"]
    target = _another_reps_closed_deal("emily.ross")
    assert target != own_id
    with sales_session() as session:
        before = session.get(Opportunity, target).stage  # type: ignore[union-attr]
    for edit in ({"opportunity_id": str(target)}, {"opportunity_id": str(target), "stage": "closed_won"},
                 {"customer": "华东人民医院"}, {"customer_key": "huadong-peoples"}):
        with pytest.raises(ActionInvalid, match="cannot change what the action applies to"):
            decide_action(harmless.id, "edit", "emily.ross", "rep", edit)
        with pytest.raises(ActionInvalid, match="cannot change"):
            ensure_may_decide(harmless.id, "edit", "emily.ross", "rep", edit)
    assert get_action(harmless.id).status == "pending"  # type: ignore[union-attr]
    with sales_session() as session:
        assert session.get(Opportunity, target).stage == before  # type: ignore[union-attr]
    # Authority is re-evaluated on the edited arguments: closing the deal is a manager's decision.
    with pytest.raises(ActionNotAllowed, match="manager approval"):
        decide_action(harmless.id, "edit", "emily.ross", "rep", {"stage": "closed_won"})
    # Naming the same customer (any alias) and the same opportunity is not a retarget.
    edited = decide_action(harmless.id, "edit", "emily.ross", "rep",
                           {"customer": "Northwind", "opportunity_id": str(own_id), "stage": "proposal"})
    assert edited.status == "executed" and edited.args["opportunity_id"] == own_id


def test_an_edit_cannot_move_a_follow_up_to_another_customer() -> None:
    view = propose_action("create_follow_up_task", FOLLOW_UP, "zhang.wei", "rep", "t")
    with pytest.raises(ActionInvalid, match="cannot change"):
        decide_action(view.id, "edit", "liu.yang", "manager", {"customer": "北风制造"})
    assert _count(Task) == 0
    assert decide_action(view.id, "edit", "zhang.wei", "rep", {"customer": "Huadong"}).status == "executed"


def test_due_dates_outside_a_sane_window_are_refused_at_proposal_and_edit() -> None:
    for due in ("1900-01-01", "2099-01-01", "2019-06-30T10:00"):
        with pytest.raises(ActionInvalid, match="out of range"):
            propose_action("create_follow_up_task", {**FOLLOW_UP, "due": due}, "zhang.wei", "rep", "t")
    view = propose_action("create_follow_up_task", FOLLOW_UP, "zhang.wei", "rep", "t")
    with pytest.raises(ActionInvalid, match="out of range"):
        decide_action(view.id, "edit", "zhang.wei", "rep", {"due": "1900-01-01"})
    assert get_action(view.id).status == "pending" and _count(Task) == 0  # type: ignore[union-attr]
    # Editing another field of a pending action keeps its (still valid) due date.
    assert decide_action(view.id, "edit", "zhang.wei", "rep", {"description": "回访并带上报价"}).status == "executed"


def test_free_text_is_bounded_at_proposal_and_edit() -> None:
    with pytest.raises(ActionInvalid, match="at most 2000 characters"):
        propose_action("create_follow_up_task", {**FOLLOW_UP, "description": "x" * 100_000}, "zhang.wei", "rep", "t")
    with pytest.raises(ActionInvalid, match="at most 500 characters"):
        propose_action("log_opportunity_card", {"customer": "x" * 501}, "zhang.wei", "rep", "t")
    with pytest.raises(ActionInvalid, match="objections"):
        propose_action("log_opportunity_card", {"customer": "北风制造", "objections": "y" * 600}, "zhang.wei", "rep", "t")
    view = propose_action("create_follow_up_task", {**FOLLOW_UP, "description": "z" * 2000}, "zhang.wei", "rep", "t")
    with pytest.raises(ActionInvalid, match="at most 2000 characters"):
        decide_action(view.id, "edit", "zhang.wei", "rep", {"description": "x" * 100_000})
    assert get_action(view.id).status == "pending"  # type: ignore[union-attr]


def test_a_rep_may_assign_work_only_to_themself() -> None:
    with pytest.raises(ActionNotAllowed, match="only a manager or above may assign"):
        propose_action("create_follow_up_task", {**FOLLOW_UP, "owner": "liu.yang"}, "zhang.wei", "rep", "t")
    view = propose_action("create_follow_up_task", FOLLOW_UP, "zhang.wei", "rep", "t")
    with pytest.raises(ActionNotAllowed, match="only a manager or above may assign"):
        decide_action(view.id, "edit", "zhang.wei", "rep", {"owner": "liu.yang"})
    assert get_action(view.id).status == "pending" and _count(Task) == 0  # type: ignore[union-attr]
    assigned = decide_action(view.id, "edit", "liu.yang", "manager", {"owner": "li.na"})
    assert assigned.status == "executed" and assigned.args["owner"] == "li.na"
    managed = propose_action("create_follow_up_task", {**FOLLOW_UP, "owner": "zhang.wei"}, "liu.yang", "manager", "t")
    assert managed.args["owner"] == "zhang.wei"
