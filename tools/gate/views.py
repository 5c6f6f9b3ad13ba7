"""How actions look to people: ActionView, approver labels, one-line summaries, refusal messages."""

from __future__ import annotations

from datetime import datetime

from tools.db.tables import PendingAction
from tools.gate.kinds import KINDS
from tools.gate.models import ActionView

APPROVER_LABELS = {
    "auto": ("runs automatically", "自动执行"),
    "confirm": ("needs your confirmation", "需您确认"),
    "manager": ("needs manager approval", "需销售经理审批"),
    "vp": ("needs VP approval", "需销售副总裁审批"),
}


def approver_label(required_approver: str) -> str:
    """'needs manager approval / 需销售经理审批' (the approver's name itself when it has no label)."""
    english, chinese = APPROVER_LABELS.get(required_approver, (required_approver, ""))
    return f"{english} / {chinese}"


def action_summary(action: PendingAction) -> tuple[str, str]:
    """One line describing the action (English, Chinese)."""
    kind = KINDS.get(action.kind)
    if kind is None:  # a row of a kind no longer registered: still listable
        return (f"{action.kind} ({action.id})", f"{action.kind}（{action.id}）")
    return kind.summary(action.args or {})


def not_allowed_message(required: str, action_id: str) -> str:
    """Bilingual: the gate's refusals reach Chinese and English chat users as they are."""
    if required in ("auto", "confirm"):
        return (f"只有提出人（或经理）可以确认操作 {action_id} / "
                f"only the person who asked (or a manager) can confirm action {action_id}")
    english, chinese = APPROVER_LABELS.get(required, (f"needs {required} approval", f"需{required}审批"))
    return f"操作 {action_id} {chinese}，您的角色无权批准 / action {action_id} {english}; your role cannot approve it"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def to_view(action: PendingAction, already_decided: bool = False) -> ActionView:
    """The action as connectors show it; arguments a kind withholds from viewers are blanked."""
    summary_en, summary_zh = action_summary(action)
    kind = KINDS.get(action.kind)
    args = kind.view_args(dict(action.args or {})) if kind else dict(action.args or {})
    return ActionView(
        id=action.id, kind=action.kind, status=action.status, args=args,
        customer=args.get("customer"), due=args.get("due"), summary=summary_en,
        summary_zh=summary_zh, proposer=action.proposer_user, proposer_role=action.proposer_role,
        thread_id=action.thread_id, required_approver=action.required_approver,
        approver_label=approver_label(action.required_approver),
        approver_label_en=APPROVER_LABELS.get(action.required_approver, (action.required_approver, ""))[0],
        approver_label_zh=APPROVER_LABELS.get(action.required_approver, ("", action.required_approver))[1], sources=list(action.sources or []),
        origin=action.origin, created_at=_iso(action.created_at) or "", decided_by=action.decided_by,
        decided_at=_iso(action.decided_at), result=action.result_ref, error=action.error,
        already_decided=already_decided,
    )
