"""The keys of a pending action's template-card buttons: 'approve:A7K2Q:zh' written on the card, parsed on click."""

from __future__ import annotations

import re

from agent.decisions import ACTION_ID_PATTERN, Decision, DecisionCommand


def card_button_key(decision: Decision, action_id: str, language: str = "zh") -> str:
    """The key of a template-card button: 'approve:A7K2Q:zh'; the language lets the reply match the card."""
    return f"{decision}:{action_id}:{language}"


def parse_card_button_key(event_key: str) -> DecisionCommand | None:
    """The decision a clicked button stands for, or None for a key this connector did not write."""
    decision, _, rest = event_key.partition(":")
    action_id, _, language = rest.partition(":")
    if decision not in ("approve", "reject") or not action_id or not re.fullmatch(ACTION_ID_PATTERN, action_id):
        return None
    return DecisionCommand(decision=decision, action_id=action_id,  # type: ignore[arg-type]
                           language="en" if language == "en" else "zh")
