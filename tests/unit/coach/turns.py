"""Conversation turns for the coach's unit tests, written without a transcript."""

from __future__ import annotations

from tools.coach.models import Turn


def sided(lines: list[tuple[str, str]]) -> list[Turn]:
    """Turns already sided: ("c", text) is the customer's, ("r", text) the rep's."""
    return [Turn(line=index, speaker=side, text=text, side="customer" if side == "c" else "rep")
            for index, (side, text) in enumerate(lines, 1)]
