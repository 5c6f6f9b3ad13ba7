"""Export every feedback record (with its suggestion or action) as a JSONL evaluation dataset."""

from __future__ import annotations

import json
from pathlib import Path

from sqlmodel import select

from tools.db.tables import Feedback, PendingAction, Suggestion, sales_session


def _answer_text(suggestion: Suggestion | None, action: PendingAction | None) -> str:
    if action is not None:
        from tools.gate.views import action_summary

        return action_summary(action)[0]
    if suggestion is None:
        return ""
    payload = suggestion.payload or {}
    if suggestion.kind == "pricing":
        strategies = payload.get("strategies", [])
        return " | ".join(
            f"{item.get('title_en')}: {item.get('unit_price')} ({item.get('approval_label_en')})" for item in strategies
        )
    return str(payload.get("answer", payload.get("summary", "")))


def export_feedback(path: str | Path) -> int:
    """Write every feedback record as one JSON line (an evaluation dataset); returns the number written.

    Fields: suggestion_id, kind, question, answer, verdict, comment, user, sources, created_at, payload.
    """
    output_path = Path(path)
    output_path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with sales_session() as session, output_path.open("w", encoding="utf-8") as output:
        for feedback in session.exec(select(Feedback).order_by(Feedback.id)).all():  # type: ignore[arg-type]
            suggestion = session.get(Suggestion, feedback.suggestion_id)
            action = session.get(PendingAction, feedback.suggestion_id)
            question = (suggestion.question if suggestion else None) or ""
            if not question and suggestion is not None:
                question = str((suggestion.payload or {}).get("question", ""))
            record = {
                "suggestion_id": feedback.suggestion_id,
                "kind": feedback.kind,
                "question": question,
                "answer": _answer_text(suggestion, action),
                "verdict": feedback.verdict,
                "comment": feedback.comment,
                "user": feedback.user,
                "sources": (action.sources if action else None) or (suggestion.sources if suggestion else []),
                "created_at": feedback.created_at.isoformat(),
                "payload": feedback.payload or {},
            }
            output.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
            count += 1
    return count
