"""What the chat connectors share about streamed answers: whether a later answer says something new."""

from __future__ import annotations

import unicodedata
from difflib import SequenceMatcher

# Two answers this similar (after normalising case, width, spaces and punctuation) say the same thing.
SAME_ANSWER_SIMILARITY = 0.9


def _normalized(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(char for char in folded if unicodedata.category(char)[0] not in ("P", "Z", "C", "S"))


def differs_meaningfully(first: str, second: str) -> bool:
    """True when `second` is worth sending after `first`: not the same words up to punctuation, spacing and case,
    nor a near-copy (similarity of at least SAME_ANSWER_SIMILARITY)."""
    a, b = _normalized(first), _normalized(second)
    if not b or a == b:
        return False
    return SequenceMatcher(None, a, b, autojunk=False).ratio() < SAME_ANSWER_SIMILARITY
