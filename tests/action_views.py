"""Gate ActionViews for connector tests: what agent.models.TurnResult carries, with only the fields a test cares about."""

from __future__ import annotations

from typing import Any

from tools.gate.models import ActionView
from tools.gate.views import APPROVER_LABELS


def action_view(**fields: Any) -> ActionView:
    """A pending follow-up task by a rep unless the test says otherwise."""
    defaults: dict[str, Any] = {
        "id": "A7K2Q", "kind": "create_follow_up_task", "status": "pending", "args": {},
        "summary": "Follow-up", "summary_zh": "回访", "proposer": "zhang.wei", "proposer_role": "rep",
        "thread_id": "t", "required_approver": "confirm", "created_at": "2026-01-05T09:00:00+08:00",
    }
    merged = {**defaults, **fields}
    # The labels the gate puts on every view it makes (tools.gate.views.to_view).
    label_en, label_zh = APPROVER_LABELS.get(merged["required_approver"], (merged["required_approver"], ""))
    merged.setdefault("approver_label_en", label_en)
    merged.setdefault("approver_label_zh", label_zh)
    return ActionView(**merged)
