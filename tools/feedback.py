"""Suggestions and the feedback on them (adopted / rejected / modified)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from salesbot.errors import UserFacingError
from salesbot.ids import new_short_id
from tools.db.tables import (
    FEEDBACK_VERDICTS,
    SUGGESTION_KINDS,
    Feedback,
    PendingAction,
    Suggestion,
    sales_session,
)


class FeedbackError(UserFacingError, ValueError):
    """Feedback that cannot be recorded (unknown id or verdict); the message is user-readable."""


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


