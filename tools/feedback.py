"""Suggestions and the feedback on them (adopted / rejected / modified), exported as an evaluation dataset."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from tools.models import (
    FEEDBACK_VERDICTS,
    SUGGESTION_KINDS,
    Feedback,
    PendingAction,
    Suggestion,
    sales_session,
)

# No 0/O/1/I: ids are read aloud and typed into chat ("approve A7K2Q").
ID_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


class FeedbackError(ValueError):
    """Feedback that cannot be recorded (unknown id or verdict); the message is user-readable."""


def new_short_id(length: int = 5) -> str:
    return "".join(secrets.choice(ID_ALPHABET) for _ in range(length))


def add_suggestion(session: Session, kind: str, payload: dict[str, Any], sources: list[dict[str, Any]],
                   *, question: str | None = None, user: str | None = None, suggestion_id: str | None = None) -> str:
    """Add a suggestion inside the caller's transaction (the caller commits)."""
    if kind not in SUGGESTION_KINDS:
        raise FeedbackError(f"unknown suggestion kind {kind!r}; use one of {', '.join(SUGGESTION_KINDS)}")
    suggestion_id = suggestion_id or f"S{new_short_id(6)}"
    session.add(Suggestion(id=suggestion_id, kind=kind, payload=payload, sources=sources, question=question, user=user))
    return suggestion_id


def record_suggestion(kind: str, payload: dict[str, Any], sources: list[dict[str, Any]] | None = None,
                      *, question: str | None = None, user: str | None = None) -> str:
    """Store something the assistant suggested (answer | pricing | action) and return its id."""
    for _attempt in range(5):
        with sales_session() as session:
            suggestion_id = add_suggestion(session, kind, payload, sources or [], question=question, user=user)
            try:
                session.commit()
                return suggestion_id
            except IntegrityError:  # id collision: draw another
                session.rollback()
    raise FeedbackError("could not allocate a suggestion id")


def add_feedback(session: Session, suggestion_id: str, kind: str, verdict: str, user: str,
                 comment: str | None = None, payload: dict[str, Any] | None = None) -> Feedback:
    if verdict not in FEEDBACK_VERDICTS:
        raise FeedbackError(f"unknown verdict {verdict!r}; use one of {', '.join(FEEDBACK_VERDICTS)}")
    feedback = Feedback(suggestion_id=suggestion_id, kind=kind, verdict=verdict, user=user, comment=comment,
                        payload=payload or {})
    session.add(feedback)
    return feedback


def record_feedback(suggestion_id: str, verdict: str, user: str = "cli-user", comment: str | None = None,
                    payload: dict[str, Any] | None = None) -> Feedback:
    """Record that a person adopted, rejected or modified a suggestion (or an action, by its id)."""
    with sales_session() as session:
        suggestion = session.get(Suggestion, suggestion_id)
        if suggestion is not None:
            kind = suggestion.kind
        elif session.get(PendingAction, suggestion_id) is not None:
            kind = "action"
        else:
            raise FeedbackError(f"no suggestion or action with id {suggestion_id!r}")
        feedback = add_feedback(session, suggestion_id, kind, verdict, user, comment, payload)
        session.commit()
        session.refresh(feedback)
        return feedback


def _answer_text(suggestion: Suggestion | None, action: PendingAction | None) -> str:
    if action is not None:
        from tools.actions import action_summary

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
