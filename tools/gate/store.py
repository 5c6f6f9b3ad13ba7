"""The confirmation gate's store: proposed writes are persisted, decided by the right person, applied once.

Flow: propose_action() validates the arguments, asks the responsibility list (tools/responsibility.yaml) who
must confirm, and commits a PendingAction before anyone is asked (so a crash loses nothing). decide_action()
checks the decider's authority and applies the write in the same transaction that flips the status from
pending, guarded by `UPDATE … WHERE status = 'pending'` and a unique action_id on the written row: approving
twice writes once, even from two processes.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from salesbot.ids import new_short_id
from salesbot.roles import UnknownRoleError, normalize_role, role_at_least
from salesbot.settings import get_settings
from tools.db.tables import (
    OPPORTUNITY_STAGES,
    AuditEvent,
    Opportunity,
    PendingAction,
    Quote,
    Task,
    sales_session,
    utc_now,
)
from tools.feedback import add_feedback, add_suggestion
from tools.gate.models import ActionView
from tools.sales.customers import resolve_customer
from tools.sales.dates import format_due, local_now, parse_due

logger = logging.getLogger(__name__)

ACTION_KINDS = ("create_follow_up_task", "log_opportunity_card", "update_opportunity_stage", "submit_quote_for_approval")
DECISIONS = ("approve", "edit", "reject")
DEFAULT_RESPONSIBILITY_FILE = Path(__file__).resolve().parent / "responsibility.yaml"
_APPROVER_RANK = {"auto": 0, "confirm": 1, "manager": 2, "vp": 3}
APPROVER_LABELS = {
    "auto": ("runs automatically", "自动执行"),
    "confirm": ("needs your confirmation", "需您确认"),
    "manager": ("needs manager approval", "需销售经理审批"),
    "vp": ("needs VP approval", "需销售副总裁审批"),
}


class ActionError(Exception):
    """Base of the gate's errors; str(error) is a message a chat user can act on."""


class ActionNotFound(ActionError):
    """No pending action has this id."""


class ActionNotAllowed(ActionError):
    """This person may not make this decision (or the action is already decided otherwise)."""


class ActionInvalid(ActionError, ValueError):
    """The proposed arguments are incomplete or wrong."""


# ---------------------------------------------------------------- responsibility list


def responsibility_path() -> Path:
    return Path(get_settings().responsibility_file or DEFAULT_RESPONSIBILITY_FILE)


def load_responsibility(path: Path | None = None) -> dict[str, Any]:
    """The responsibility YAML (re-read whenever the file changes, so edits take effect at once)."""
    policy_path = Path(path or responsibility_path())
    if not policy_path.exists():
        raise ActionError(f"responsibility file not found: {policy_path} (set SALESBOT_RESPONSIBILITY_FILE)")
    stat = policy_path.stat()
    return _load_responsibility_cached(str(policy_path), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=8)
def _load_responsibility_cached(path: str, _mtime_ns: int, _size: int) -> dict[str, Any]:
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    for kind, rules in (data.get("actions") or {}).items():
        for rule in rules or []:
            if rule.get("approver") not in _APPROVER_RANK:
                raise ActionError(f"{path}: rule for {kind} has approver {rule.get('approver')!r}; "
                                  f"use one of {', '.join(_APPROVER_RANK)}")
    return data


def _condition_holds(value: Any, condition: Any) -> bool:
    if not isinstance(condition, dict):
        return value is not None and str(value).lower() == str(condition).lower()
    for operator, expected in condition.items():
        if operator == "matches":
            if value is None or not re.search(str(expected), str(value), re.IGNORECASE):
                return False
        elif operator in ("in", "not_in"):
            members = {str(item).lower() for item in expected}
            if (value is not None and str(value).lower() in members) != (operator == "in"):
                return False
        elif operator in ("gt", "gte", "lt", "lte"):
            try:
                actual, limit = Decimal(str(value)), Decimal(str(expected))
            except (InvalidOperation, TypeError):
                return False
            comparisons = {"gt": actual > limit, "gte": actual >= limit, "lt": actual < limit, "lte": actual <= limit}
            if not comparisons[operator]:
                return False
        elif operator == "equals":
            if str(value).lower() != str(expected).lower():
                return False
        else:
            raise ActionError(f"responsibility rule uses unknown operator {operator!r}")
    return True


def required_approver_for(kind: str, facts: dict[str, Any]) -> tuple[str, str]:
    """(approver, rule name) for an action kind given its arguments and derived facts."""
    policy = load_responsibility()
    approver, rule_name = policy.get("default_approver", "confirm"), "default_approver"
    for rule in (policy.get("actions") or {}).get(kind, []) or []:
        conditions = rule.get("when") or {}
        if all(_condition_holds(facts.get(field), condition) for field, condition in conditions.items()):
            approver, rule_name = rule["approver"], rule.get("name", "unnamed rule")
            break
    # Safety net: a request that came out of a document (not typed by a person) always waits for a human.
    if approver == "auto" and facts.get("origin") != "user":
        return "confirm", f"{rule_name} (auto not allowed for origin {facts.get('origin')!r})"
    return approver, rule_name


def may_decide(required_approver: str, proposer_user: str, actor_user: str, actor_role: str) -> bool:
    """confirm/auto: the proposer or anyone at manager level and above; manager/vp: that role or higher."""
    if required_approver in ("auto", "confirm"):
        return actor_user == proposer_user or role_at_least(actor_role, "manager")
    return role_at_least(actor_role, required_approver)


# ---------------------------------------------------------------- argument validation


def _require_text(args: dict[str, Any], field: str, kind: str) -> str:
    value = args.get(field)
    if value is None or not str(value).strip():
        raise ActionInvalid(f"{kind} needs a {field}")
    return str(value).strip()


def _customer_fields(args: dict[str, Any], kind: str) -> dict[str, Any]:
    mention = _require_text(args, "customer", kind)
    customer = resolve_customer(mention)
    if customer is None:  # a new prospect is fine; keep the name as written
        return {"customer": mention, "customer_key": args.get("customer_key")}
    return {"customer": customer.name_zh, "customer_key": customer.key}


def _optional_amount(value: Any, field: str) -> str | None:
    if value in (None, ""):
        return None
    try:
        amount = Decimal(str(value).replace(",", ""))
    except InvalidOperation as error:
        raise ActionInvalid(f"{field} must be a number, got {value!r}") from error
    if not amount.is_finite() or amount < 0:
        raise ActionInvalid(f"{field} must be a positive number, got {value!r}")
    return str(amount)


def _stage(value: Any, required: bool) -> str | None:
    if value in (None, ""):
        if required:
            raise ActionInvalid(f"a stage is needed; use one of {', '.join(OPPORTUNITY_STAGES)}")
        return None
    stage = str(value).strip().lower().replace(" ", "_").replace("-", "_")
    if stage not in OPPORTUNITY_STAGES:
        raise ActionInvalid(f"unknown stage {value!r}; use one of {', '.join(OPPORTUNITY_STAGES)}")
    return stage


def normalise_action_args(kind: str, args: dict[str, Any], now: datetime | None = None) -> dict[str, Any]:
    """Validated, canonical, JSON-safe arguments for an action kind (ActionInvalid explains what is wrong)."""
    if kind not in ACTION_KINDS:
        raise ActionInvalid(f"unknown action {kind!r}; known actions: {', '.join(ACTION_KINDS)}")
    args = dict(args or {})
    if kind == "create_follow_up_task":
        due_text = _require_text(args, "due", kind)
        try:
            due = parse_due(due_text, now)
        except ValueError as error:
            raise ActionInvalid(str(error)) from error
        return {**_customer_fields(args, kind), "due": due.isoformat(timespec="minutes"),
                "description": _require_text(args, "description", kind), "owner": args.get("owner") or None}
    if kind == "log_opportunity_card":
        objections = args.get("objections") or []
        if isinstance(objections, str):
            objections = [item.strip() for item in re.split(r"[;；\n]", objections) if item.strip()]
        return {**_customer_fields(args, kind), "product": _product_sku(args.get("product"), required=False),
                "stage": _stage(args.get("stage"), required=False) or "prospecting",
                "amount": _optional_amount(args.get("amount"), "amount"),
                "budget": _optional_amount(args.get("budget"), "budget"),
                "competitor": args.get("competitor") or None, "next_step": args.get("next_step") or None,
                "objections": [str(item) for item in objections], "owner": args.get("owner") or None}
    if kind == "update_opportunity_stage":
        return _stage_update_args(args)
    return _quote_args(args)


def _product_sku(mention: Any, required: bool) -> str | None:
    from tools.sales.pricing import PricingError, resolve_product

    if mention in (None, ""):
        if required:
            raise ActionInvalid("a product is needed")
        return None
    try:
        return resolve_product(str(mention)).sku
    except PricingError as error:
        raise ActionInvalid(str(error)) from error


def _stage_update_args(args: dict[str, Any]) -> dict[str, Any]:
    stage = _stage(args.get("stage"), required=True)
    opportunity_id = args.get("opportunity_id")
    with sales_session() as session:
        if opportunity_id not in (None, ""):
            opportunity = session.get(Opportunity, int(opportunity_id))
            if opportunity is None:
                raise ActionInvalid(f"no opportunity with id {opportunity_id}")
        else:
            fields = _customer_fields(args, "update_opportunity_stage")
            statement = select(Opportunity).where(col(Opportunity.stage).not_in(["closed_won", "closed_lost"]))
            if fields["customer_key"]:
                statement = statement.where(Opportunity.customer_key == fields["customer_key"])
            else:
                statement = statement.where(Opportunity.customer_name == fields["customer"])
            opportunity = session.exec(statement.order_by(col(Opportunity.updated_at).desc())).first()
            if opportunity is None:
                raise ActionInvalid(f"no open opportunity for {fields['customer']}; log an opportunity card first")
        return {"opportunity_id": opportunity.id, "customer": opportunity.customer_name,
                "customer_key": opportunity.customer_key, "from_stage": opportunity.stage, "stage": stage,
                "note": args.get("note") or None}


def _quote_args(args: dict[str, Any]) -> dict[str, Any]:
    from tools.sales.pricing import approval_band_for, discount_rate, load_pricing_policy, resolve_product

    kind = "submit_quote_for_approval"
    sku = _product_sku(_require_text(args, "product", kind), required=True)
    product = resolve_product(str(sku))
    try:
        quantity = int(args.get("quantity") or 0)
    except (TypeError, ValueError) as error:
        raise ActionInvalid(f"quantity must be a whole number, got {args.get('quantity')!r}") from error
    if quantity < 1:
        raise ActionInvalid("a quote needs a quantity of at least 1")
    unit_price = Decimal(_optional_amount(_require_text(args, "unit_price", kind), "unit_price") or "0")
    if unit_price < product.floor_price:
        # Say what to do without revealing the floor figure (the proposer may be a rep).
        raise ActionInvalid("that unit price is below what the pricing policy allows for any approver; "
                            "ask for the competitive option from `salesbot price` instead")
    band = approval_band_for(load_pricing_policy(), unit_price, product.list_price)
    return {**_customer_fields(args, kind), "product": sku, "quantity": quantity, "unit_price": str(unit_price),
            "discount": str(discount_rate(unit_price, product.list_price)), "policy_approver": band.approver,
            "strategy": args.get("strategy") or None, "suggestion_id": args.get("suggestion_id") or None,
            "note": args.get("note") or None}


# ---------------------------------------------------------------- views


def action_summary(action: PendingAction) -> tuple[str, str]:
    """One line describing the action (English, Chinese)."""
    args = action.args or {}
    customer = args.get("customer") or "?"
    if action.kind == "create_follow_up_task":
        due = datetime.fromisoformat(args["due"]) if args.get("due") else None
        due_en = format_due(local_now(due), "en") if due else "?"
        due_zh = format_due(local_now(due), "zh") if due else "?"
        return (f"Follow-up with {customer} due {due_en}: {args.get('description')}",
                f"{due_zh} 跟进{customer}：{args.get('description')}")
    if action.kind == "log_opportunity_card":
        return (f"Log opportunity card for {customer} (stage {args.get('stage')})",
                f"记录{customer}的商机卡片(阶段 {args.get('stage')})")
    if action.kind == "update_opportunity_stage":
        return (f"Move {customer}'s opportunity #{args.get('opportunity_id')} from {args.get('from_stage')} "
                f"to {args.get('stage')}",
                f"将{customer}的商机 #{args.get('opportunity_id')} 从 {args.get('from_stage')} 改为 {args.get('stage')}")
    discount = Decimal(str(args.get("discount", "0"))) * 100
    return (f"Quote {args.get('quantity')} × {args.get('product')} to {customer} at {args.get('unit_price')} "
            f"({discount:.1f}% off) for approval",
            f"提交{customer}报价审批：{args.get('product')} × {args.get('quantity')}，单价 {args.get('unit_price')}"
            f"(折扣{discount:.1f}%)")


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def to_view(action: PendingAction, already_decided: bool = False) -> ActionView:
    summary_en, summary_zh = action_summary(action)
    label_en, label_zh = APPROVER_LABELS.get(action.required_approver, (action.required_approver, ""))
    return ActionView(
        id=action.id, kind=action.kind, status=action.status, args=dict(action.args or {}),
        customer=(action.args or {}).get("customer"), due=(action.args or {}).get("due"), summary=summary_en,
        summary_zh=summary_zh, proposer=action.proposer_user, proposer_role=action.proposer_role,
        thread_id=action.thread_id, required_approver=action.required_approver,
        approver_label=f"{label_en} / {label_zh}", sources=list(action.sources or []), origin=action.origin,
        created_at=_iso(action.created_at) or "", decided_by=action.decided_by, decided_at=_iso(action.decided_at),
        result=action.result_ref, error=action.error, already_decided=already_decided,
    )


# ---------------------------------------------------------------- propose / decide


def _facts(kind: str, args: dict[str, Any], origin: str, proposer_role: str) -> dict[str, Any]:
    return {**args, "kind": kind, "origin": origin, "proposer_role": proposer_role}


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
    canonical_args = normalise_action_args(kind, args, now)
    if kind == "create_follow_up_task" and not canonical_args.get("owner"):
        canonical_args["owner"] = proposer_user
    approver, rule_name = required_approver_for(kind, _facts(kind, canonical_args, origin, role))
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
                            new_args=None, new_approver=None)
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
    decision = decision.strip().lower()
    if decision not in DECISIONS:
        raise ActionNotAllowed(f"unknown decision {decision!r}; use approve, edit or reject")
    try:
        role = normalize_role(actor_role)
    except UnknownRoleError as error:
        raise ActionNotAllowed(str(error)) from error
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
        if actor_user != action.proposer_user and not may_decide(action.required_approver, action.proposer_user,
                                                                 actor_user, role):
            raise ActionNotAllowed(not_allowed_message(action.required_approver, action.id))
        return _reject(action, actor_user, role)
    new_args, new_approver = None, None
    if decision == "edit":
        merged = {**action.args, **(edited_args or {})}
        new_args = normalise_action_args(action.kind, merged)
        new_approver, _rule = required_approver_for(action.kind, _facts(action.kind, new_args, action.origin,
                                                                        action.proposer_role))
    required = new_approver or action.required_approver
    if not may_decide(required, action.proposer_user, actor_user, role):
        raise ActionNotAllowed(not_allowed_message(required, action.id))
    return _execute(action.id, actor_user=actor_user, actor_role=role, decision=decision, new_args=new_args,
                    new_approver=new_approver)


def not_allowed_message(required: str, action_id: str) -> str:
    """Bilingual: the gate's refusals reach Chinese and English chat users as they are."""
    if required in ("auto", "confirm"):
        return (f"只有提出人（或经理）可以确认操作 {action_id} / "
                f"only the person who asked (or a manager) can confirm action {action_id}")
    english, chinese = APPROVER_LABELS[required]
    return f"操作 {action_id} {chinese}，您的角色无权批准 / action {action_id} {english}; your role cannot approve it"


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
             new_approver: str | None) -> ActionView:
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
            previous_args = action.args
            args = new_args if new_args is not None else dict(action.args)
            result_ref, data_sources = _apply(session, action, args, actor_user)
            session.connection().execute(update(PendingAction).where(col(PendingAction.id) == action_id)
                                         .values(result_ref=result_ref))
            event = "edited" if decision == "edit" else "approved"
            session.add(AuditEvent(actor=actor_user, actor_role=actor_role, event=event, action_id=action_id,
                                   kind=action.kind, detail={"args": args, "previous_args": previous_args}
                                   if decision == "edit" else {"args": args}, sources=action.sources))
            session.add(AuditEvent(actor=actor_user, actor_role=actor_role, event="executed", action_id=action_id,
                                   kind=action.kind, detail={"result": result_ref, "args": args},
                                   sources=[*action.sources, *data_sources]))
            if not actor_user.startswith("auto:"):
                add_feedback(session, action_id, "action", "modified" if decision == "edit" else "adopted",
                             actor_user, payload={"args": args} if decision == "edit" else None)
            session.commit()
        except IntegrityError:
            # The unique action_id on the written row: another process applied it first.
            session.rollback()
            return _current_view(action_id, already_decided=True)
        except _ApplyFailed as error:
            session.rollback()
            return _mark_failed(action_id, actor_user, actor_role, str(error))
    return _current_view(action_id)


class _ApplyFailed(Exception):
    """The write could not be applied (e.g. the opportunity was deleted meanwhile)."""


def _mark_failed(action_id: str, actor_user: str, actor_role: str, message: str) -> ActionView:
    with sales_session() as session:
        if _claim(session, action_id, "failed", actor_user, {"error": message}):
            action = session.get(PendingAction, action_id)
            session.add(AuditEvent(actor=actor_user, actor_role=actor_role, event="failed", action_id=action_id,
                                   kind=action.kind if action else None, detail={"error": message}))
            session.commit()
    return _current_view(action_id)


def _apply(session: Session, action: PendingAction, args: dict[str, Any],
           actor_user: str) -> tuple[str, list[dict[str, Any]]]:
    """Perform the write; returns (result reference, data sources it relied on)."""
    if action.kind == "create_follow_up_task":
        task = Task(owner=args.get("owner") or action.proposer_user, customer_key=args.get("customer_key"),
                    customer_name=args["customer"], due=datetime.fromisoformat(args["due"]),
                    description=args["description"], source_thread=action.thread_id, action_id=action.id)
        session.add(task)
        session.flush()
        return f"tasks:{task.id}", []
    if action.kind == "log_opportunity_card":
        opportunity = Opportunity(
            source_action_id=action.id, customer_key=args.get("customer_key"), customer_name=args["customer"],
            product_sku=args.get("product"), stage=args.get("stage") or "prospecting",
            amount=Decimal(args["amount"]) if args.get("amount") else None,
            budget=Decimal(args["budget"]) if args.get("budget") else None, next_step=args.get("next_step"),
            competitor=args.get("competitor"), objections="; ".join(args.get("objections") or []) or None,
            owner=args.get("owner") or action.proposer_user,
        )
        session.add(opportunity)
        session.flush()
        return f"opportunities:{opportunity.id}", []
    if action.kind == "update_opportunity_stage":
        existing = session.get(Opportunity, int(args["opportunity_id"]))
        if existing is None:
            raise _ApplyFailed(f"opportunity #{args['opportunity_id']} no longer exists")
        previous = existing.stage
        existing.stage = args["stage"]
        existing.updated_at = utc_now()
        session.add(existing)
        session.flush()
        return f"opportunities:{existing.id}", [{"table": "opportunities", "id": existing.id,
                                                 "previous_stage": previous}]
    quantity, unit_price = int(args["quantity"]), Decimal(args["unit_price"])
    quote = Quote(action_id=action.id, customer_key=args.get("customer_key"), customer_name=args["customer"],
                  product_sku=args["product"], quantity=quantity, unit_price=unit_price,
                  discount=Decimal(args["discount"]), amount=unit_price * quantity, submitted_by=action.proposer_user,
                  approved_by=actor_user)
    session.add(quote)
    session.flush()
    return f"quotes:{quote.id}", [{"source": "pricing_policy.yaml", "section": "approval_levels",
                                   "policy_approver": args.get("policy_approver")}]


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
