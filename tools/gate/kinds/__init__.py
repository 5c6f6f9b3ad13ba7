"""The registry of action kinds: adding a kind is one module in this package and one entry in _BUILT_IN."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tools.gate.errors import ActionInvalid
from tools.gate.kinds.base import ActionKind, AppliedWrite
from tools.gate.kinds.follow_up_task import FollowUpTask
from tools.gate.kinds.opportunity_card import OpportunityCard
from tools.gate.kinds.quote_approval import QuoteApproval
from tools.gate.kinds.stage_update import StageUpdate

__all__ = ["KINDS", "ActionKind", "AppliedWrite", "kind_for", "normalise_action_args", "register_kind"]

_BUILT_IN: tuple[ActionKind, ...] = (FollowUpTask(), OpportunityCard(), StageUpdate(), QuoteApproval())

# name → kind, in registration order. Live: a kind registered later (a plug-in, a test) appears here.
KINDS: dict[str, ActionKind] = {}


def register_kind(kind: ActionKind) -> ActionKind:
    """Add (or replace) a kind under its name; returns it."""
    KINDS[kind.name] = kind
    return kind


for _kind in _BUILT_IN:
    register_kind(_kind)


def kind_for(name: str) -> ActionKind:
    """The registered kind of this name; ActionInvalid lists the known ones."""
    kind = KINDS.get(name)
    if kind is None:
        raise ActionInvalid(f"unknown action {name!r}; known actions: {', '.join(KINDS)}")
    return kind


def normalise_action_args(kind: str, args: dict[str, Any] | None, now: datetime | None = None, *,
                          proposer_user: str | None = None) -> dict[str, Any]:
    """Validated, canonical, JSON-safe arguments for an action kind (ActionInvalid explains what is wrong)."""
    return kind_for(kind).normalise(dict(args or {}), now=now, proposer_user=proposer_user)
