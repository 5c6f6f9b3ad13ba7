"""The confirmation gate's store: proposed writes are persisted, decided by the right person, applied once.

Flow: propose_action() validates the arguments (the action kind's module, tools/gate/kinds/), asks the
responsibility list (tools/gate/responsibility.yaml) who must confirm, and commits a PendingAction before
anyone is asked (so a crash loses nothing). decide_action() checks the decider's authority
(ensure_may_decide, the one authority check) and applies the write in the same transaction that flips the
status from pending, guarded by `UPDATE … WHERE status = 'pending'` and a unique action_id on the written row:
approving twice writes once, even from two processes.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from salesbot.ids import new_short_id
from salesbot.roles import UnknownRoleError, normalize_role, role_at_least
from tools.db.tables import AuditEvent, PendingAction, sales_session, utc_now
from tools.feedback import add_feedback, add_suggestion
from tools.gate.errors import (
    ActionError,
    ActionInvalid,
    ActionNotAllowed,
    ActionNotFound,
    ApplyFailed,
    ResponsibilityFileError,
)
from tools.gate.kinds import KINDS, kind_for, normalise_action_args
from tools.gate.models import ActionView
from tools.gate.responsibility import (
    DEFAULT_RESPONSIBILITY_FILE,
    load_responsibility,
    may_decide,
    required_approver_for,
)
from tools.gate.views import APPROVER_LABELS, action_summary, not_allowed_message, to_view
from tools.sales.customers import resolve_customer

logger = logging.getLogger(__name__)

# The registered kinds, live (name → kind); `kind in ACTION_KINDS` and `", ".join(ACTION_KINDS)` work as before.
ACTION_KINDS = KINDS
DECISIONS = ("approve", "edit", "reject")

__all__ = [
    "ACTION_KINDS", "APPROVER_LABELS", "DECISIONS", "DEFAULT_RESPONSIBILITY_FILE", "ActionError", "ActionInvalid",
    "ActionNotAllowed", "ActionNotFound", "ResponsibilityFileError", "action_summary", "decide_action",
    "edited_action_args", "ensure_may_assign", "ensure_may_decide", "get_action", "list_actions", "load_responsibility", "may_decide",
    "normalise_action_args", "not_allowed_message", "propose_action", "required_approver_for", "to_view",
]


def _approver_for(kind: str, args: dict[str, Any], origin: str, proposer_role: str) -> tuple[str, str]:
    """(approver, rule) for canonical arguments: the rules see the arguments plus the kind's derived facts."""
    facts = {**args, **kind_for(kind).facts(args), "kind": kind, "origin": origin, "proposer_role": proposer_role}
    return required_approver_for(kind, facts)


def _normalised_decision(decision: str) -> str:
    cleaned = decision.strip().lower()
    if cleaned not in DECISIONS:
        raise ActionNotAllowed(f"unknown decision {decision!r}; use approve, edit or reject")
    return cleaned


def _normalised_actor_role(role: str) -> str:
    try:
        return normalize_role(role)
    except UnknownRoleError as error:
        raise ActionNotAllowed(str(error)) from error


def _check_authority(required: str, decision: str, proposer_user: str, actor_user: str, actor_role: str,
                     action_id: str) -> None:
    """The proposer may always reject their own action; otherwise may_decide() rules."""
    if decision == "reject" and actor_user == proposer_user:
        return
    if not may_decide(required, proposer_user, actor_user, actor_role):
        raise ActionNotAllowed(not_allowed_message(required, action_id))


def ensure_may_decide(action: str | ActionView, decision: str, user_id: str, role: str,
                      edited_args: dict[str, Any] | None = None) -> ActionView:
    """Raise ActionNotAllowed unless this person may make this decision on this action; returns its view.

    `action` is an action id or its ActionView. For an edit with edited_args the approver is re-derived from
    the edited arguments (a deeper discount may need someone more senior). ActionNotFound for an unknown id,
    ActionInvalid when the edited arguments are wrong. Checks authority only, not whether it is still pending.
    """
    view = action if isinstance(action, ActionView) else _find_view(action)
    decision = _normalised_decision(decision)
    actor_role = _normalised_actor_role(role)
    required = view.required_approver
    if decision == "edit" and edited_args:
        with sales_session() as session:
            stored = session.get(PendingAction, view.id)
        if stored is None:
            raise ActionNotFound(f"no action with id {view.id!r}; `salesbot tasks` lists them")
        new_args = edited_action_args(stored, edited_args, user_id, actor_role)
        required, _rule = _approver_for(view.kind, new_args, view.origin, view.proposer_role)
    _check_authority(required, decision, view.proposer, user_id, actor_role, view.id)
    return view


def ensure_may_assign(owner: Any, assigner_user: str, assigner_role: str) -> None:
    """A rep may give work only to themself; a manager and above to anyone (ActionNotAllowed otherwise)."""
    if owner in (None, "") or str(owner) == assigner_user or role_at_least(assigner_role, "manager"):
        return
    raise ActionNotAllowed(f"只有经理及以上可以把任务分配给他人 / only a manager or above may assign work to "
                           f"someone else ({owner!r}); leave the owner out to keep it yourself")


def _same_customer(written: Any, stored_args: dict[str, Any]) -> bool:
    """True when an edited customer mention names the action's own customer (any alias of it)."""
    text = str(written or "").strip()
    if text.casefold() == str(stored_args.get("customer") or "").strip().casefold():
        return True
    stored_key = stored_args.get("customer_key")
    resolved = resolve_customer(text) if text and stored_key else None
    return resolved is not None and resolved.key == stored_key


def _same_value(field_name: str, written: Any, stored_args: dict[str, Any]) -> bool:
    if field_name == "customer":
        return _same_customer(written, stored_args)
    return str(written if written is not None else "").strip() == str(stored_args.get(field_name) or "").strip()


def _refuse_retarget(kind: str, field_name: str) -> None:
    raise ActionInvalid(f"修改不能更换操作的对象（{field_name}）；请取消此操作并重新提出 / an edit cannot change "
                        f"what the action applies to ({field_name}); reject it and propose a new {kind} instead")


def edited_action_args(action: PendingAction, edited_args: dict[str, Any], editor_user: str,
                       editor_role: str) -> dict[str, Any]:
    """The action's canonical arguments after an edit, validated as at proposal time.

    An edit may change details (due, description, stage, price …) but never the target: the kind's
    identity_fields (customer, and for a stage change the opportunity) stay as proposed, or the edit would let
    someone point a harmless approved change at another deal. An owner change must be one the editor may
    assign. Unchanged values are checked against the proposal's own time (a due date that was valid when
    proposed stays valid); a new due is checked against now.
    """
    kind = kind_for(action.kind)
    stored_args = dict(action.args or {})
    for field_name in kind.identity_fields:
        if field_name in edited_args and not _same_value(field_name, edited_args[field_name], stored_args):
            _refuse_retarget(action.kind, field_name)
    reference: datetime | None = None
    if "due" not in edited_args and action.created_at is not None:
        created = action.created_at
        reference = created.replace(tzinfo=UTC) if created.tzinfo is None else created
    new_args = normalise_action_args(action.kind, {**stored_args, **edited_args}, reference,
                                     proposer_user=action.proposer_user)
    for field_name in kind.identity_fields:
        if field_name in stored_args and str(new_args.get(field_name)) != str(stored_args.get(field_name)):
            _refuse_retarget(action.kind, field_name)
    if str(new_args.get("owner") or "") != str(stored_args.get("owner") or ""):
        ensure_may_assign(new_args.get("owner"), editor_user, editor_role)
    return new_args


def _find_view(action_id: str) -> ActionView:
    view = get_action(action_id) or get_action(action_id.strip().upper())
    if view is None:
        raise ActionNotFound(f"找不到操作 {action_id!r} / no action with id {action_id!r}; "
                             "`salesbot tasks` lists them")
    return view


# ---------------------------------------------------------------- propose / decide


def propose_action(kind: str, args: dict[str, Any], proposer_user: str, proposer_role: str, thread_id: str,
                   sources: list[dict[str, Any]] | None = None, *, origin: str = "user",
                   now: datetime | None = None, request_text: str | None = None) -> ActionView:
    """Validate and persist a proposed write; it is committed before this returns.

    Returns status "pending" (waiting for required_approver), or "executed" when the responsibility list
    says `auto`. origin is "user" for a request typed by a person, "document" (or anything else) when the
    request came from retrieved text — such actions are never auto-executed. request_text (the user's
    words) is kept with the action's suggestion record for the feedback dataset.
    """
    try:
        role = normalize_role(proposer_role)
    except UnknownRoleError as error:
        raise ActionInvalid(str(error)) from error
    canonical_args = normalise_action_args(kind, args, now, proposer_user=proposer_user)
    ensure_may_assign(canonical_args.get("owner"), proposer_user, role)
    approver, rule_name = _approver_for(kind, canonical_args, origin, role)
    source_list = [dict(source) for source in sources or []]
    for _attempt in range(5):
        action_id = new_short_id()
        with sales_session() as session:
            action = PendingAction(id=action_id, kind=kind, args=canonical_args, status="pending",
                                   proposer_user=proposer_user, proposer_role=role, thread_id=thread_id,
                                   required_approver=approver, approver_rule=rule_name, sources=source_list,
                                   origin=origin)
            session.add(action)
            add_suggestion(session, "action", {"kind": kind, "args": canonical_args}, source_list,
                           question=request_text or action_summary(action)[0], user=proposer_user,
                           suggestion_id=action_id)
            session.add(AuditEvent(actor=proposer_user, actor_role=role, event="proposed", action_id=action_id,
                                   kind=kind, detail={"args": canonical_args, "required_approver": approver,
                                                      "rule": rule_name, "origin": origin}, sources=source_list))
            try:
                session.commit()
            except IntegrityError:  # id collision with an earlier action or suggestion: draw again
                session.rollback()
                continue
        if approver == "auto":
            return _execute(action_id, actor_user=f"auto:{proposer_user}", actor_role=role, decision="approve",
                            new_args=None, new_approver=None, previous_args=None)
        view = get_action(action_id)
        assert view is not None
        return view
    raise ActionError("could not allocate an action id; try again")


def decide_action(action_id: str, decision: str, actor_user: str, actor_role: str,
                  edited_args: dict[str, Any] | None = None) -> ActionView:
    """Approve, edit (approve with changed arguments) or reject a pending action as this person.

    Raises ActionNotFound for an unknown id and ActionNotAllowed when this person may not decide it.
    Approving an already executed action changes nothing and returns it with already_decided=True.
    """
    decision = _normalised_decision(decision)
    role = _normalised_actor_role(actor_role)
    with sales_session() as session:
        action = session.get(PendingAction, action_id)
        if action is None:
            action = session.get(PendingAction, action_id.strip().upper())
        if action is None:
            raise ActionNotFound(f"找不到操作 {action_id!r} / no action with id {action_id!r}; "
                                 "`salesbot tasks` lists them")
    if action.status != "pending":
        repeated = (action.status == "executed" and decision in ("approve", "edit")) or (
            action.status == "rejected" and decision == "reject")
        if repeated:
            return to_view(action, already_decided=True)
        raise ActionNotAllowed(f"操作 {action.id} 已是 {action.status} 状态，未做任何更改 / "
                               f"action {action.id} is already {action.status}; nothing was changed")
    if decision == "reject":
        _check_authority(action.required_approver, decision, action.proposer_user, actor_user, role, action.id)
        return _reject(action, actor_user, role)
    new_args, new_approver = None, None
    if decision == "edit":
        new_args = edited_action_args(action, edited_args or {}, actor_user, role)
        new_approver, _rule = _approver_for(action.kind, new_args, action.origin, action.proposer_role)
    required = new_approver or action.required_approver
    _check_authority(required, decision, action.proposer_user, actor_user, role, action.id)
    # A pending action's arguments change only when it is claimed, so these are the ones being replaced.
    return _execute(action.id, actor_user=actor_user, actor_role=role, decision=decision, new_args=new_args,
                    new_approver=new_approver, previous_args=dict(action.args or {}))


def _claim(session: Session, action_id: str, status: str, actor_user: str,
           extra: dict[str, Any] | None = None) -> bool:
    """Flip pending → status in the open transaction; False when someone else already decided."""
    statement = (update(PendingAction).where(col(PendingAction.id) == action_id, col(PendingAction.status) == "pending")
                 .values(status=status, decided_by=actor_user, decided_at=utc_now(), **(extra or {})))
    return session.connection().execute(statement).rowcount == 1


def _reject(action: PendingAction, actor_user: str, role: str) -> ActionView:
    with sales_session() as session:
        if not _claim(session, action.id, "rejected", actor_user):
            session.rollback()
            return _current_view(action.id, already_decided=True)
        session.add(AuditEvent(actor=actor_user, actor_role=role, event="rejected", action_id=action.id,
                               kind=action.kind, detail={"args": action.args}, sources=action.sources))
        add_feedback(session, action.id, "action", "rejected", actor_user)
        session.commit()
    return _current_view(action.id)


def _execute(action_id: str, actor_user: str, actor_role: str, decision: str, new_args: dict[str, Any] | None,
             new_approver: str | None, previous_args: dict[str, Any] | None) -> ActionView:
    """Apply the write and mark the action executed in one transaction (or nothing at all)."""
    with sales_session() as session:
        extra: dict[str, Any] = {}
        if new_args is not None:
            extra["args"] = new_args
        if new_approver:
            extra["required_approver"] = new_approver
        try:
            # Claim first: the write lock is taken before anything is read, so the read below is current.
            if not _claim(session, action_id, "executed", actor_user, extra):
                session.rollback()
                return _current_view(action_id, already_decided=True)
            action = session.get(PendingAction, action_id)
            assert action is not None
            session.refresh(action)
            args = dict(action.args)
            applied = kind_for(action.kind).apply(session, action, actor_user)
            session.connection().execute(update(PendingAction).where(col(PendingAction.id) == action_id)
                                         .values(result_ref=applied.result_ref))
            event = "edited" if decision == "edit" else "approved"
            session.add(AuditEvent(actor=actor_user, actor_role=actor_role, event=event, action_id=action_id,
                                   kind=action.kind, detail={"args": args, "previous_args": previous_args}
                                   if decision == "edit" else {"args": args}, sources=action.sources))
            session.add(AuditEvent(actor=actor_user, actor_role=actor_role, event="executed", action_id=action_id,
                                   kind=action.kind, detail={"result": applied.result_ref, "args": args},
                                   sources=[*action.sources, *applied.data_sources]))
            if not actor_user.startswith("auto:"):
                add_feedback(session, action_id, "action", "modified" if decision == "edit" else "adopted",
                             actor_user, payload={"args": args} if decision == "edit" else None)
            session.commit()
        except IntegrityError:
            # The unique action_id on the written row: another process applied it first.
            session.rollback()
            return _current_view(action_id, already_decided=True)
        except ApplyFailed as error:
            session.rollback()
            return _mark_failed(action_id, actor_user, actor_role, str(error))
    return _current_view(action_id)


def _mark_failed(action_id: str, actor_user: str, actor_role: str, message: str) -> ActionView:
    with sales_session() as session:
        if _claim(session, action_id, "failed", actor_user, {"error": message}):
            action = session.get(PendingAction, action_id)
            session.add(AuditEvent(actor=actor_user, actor_role=actor_role, event="failed", action_id=action_id,
                                   kind=action.kind if action else None, detail={"error": message}))
            session.commit()
    return _current_view(action_id)


def _current_view(action_id: str, already_decided: bool = False) -> ActionView:
    view = get_action(action_id)
    if view is None:
        raise ActionNotFound(f"no action with id {action_id!r}")
    view.already_decided = already_decided
    return view


def get_action(action_id: str) -> ActionView | None:
    with sales_session() as session:
        action = session.get(PendingAction, action_id)
        return to_view(action) if action else None


def list_actions(status: str | None = None) -> list[ActionView]:
    """Actions, oldest first; optionally only one status (pending | executed | rejected | failed)."""
    with sales_session() as session:
        statement = select(PendingAction)
        if status:
            statement = statement.where(PendingAction.status == status)
        return [to_view(action) for action in session.exec(statement.order_by(col(PendingAction.created_at))).all()]
