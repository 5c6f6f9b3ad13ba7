"""Every prompt text lives here, one file per job; `load_prompt(name)` reads it."""

from __future__ import annotations

from functools import cache
from pathlib import Path

PROMPTS_DIR = Path(__file__).resolve().parent


@cache
def load_prompt(name: str) -> str:
    """The text of prompts/NAME.md (placeholders in {braces})."""
    return (PROMPTS_DIR / f"{name}.md").read_text(encoding="utf-8")
