"""Short ids people read aloud and type into chat."""

from __future__ import annotations

import secrets

# No 0/O/1/I: ids are read aloud and typed into chat ("approve A7K2Q").
ID_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def new_short_id(length: int = 5) -> str:
    return "".join(secrets.choice(ID_ALPHABET) for _ in range(length))
