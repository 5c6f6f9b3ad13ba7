"""One bound on what a person may type: every entry point (chat, CLI, MCP, data questions) checks it first.

A question longer than `SALESBOT_MAX_INPUT_CHARS` is refused with a message in both languages before any
parsing, retrieval or SQL compilation runs; logs carry only a bounded prefix of what was typed.
"""

from __future__ import annotations

from salesbot.errors import UserFacingError
from salesbot.settings import get_settings

LOG_PREFIX_CHARS = 200


class InputTooLongError(UserFacingError):
    """The text is longer than the configured limit (the message says so in Chinese and English)."""

    def __init__(self, length: int, limit: int) -> None:
        self.length, self.limit = length, limit
        super().__init__(too_long_message(length, limit))


def too_long_message(length: int, limit: int) -> str:
    return (f"输入过长（{length} 个字符），上限为 {limit} 个字符，请缩短后再问。 / "
            f"The input is too long ({length} characters; the limit is {limit}). Please shorten it.")


def max_input_chars() -> int:
    return get_settings().max_input_chars


def input_too_long(text: str | None) -> bool:
    return text is not None and len(text) > max_input_chars()


def ensure_input_fits(text: str | None) -> None:
    """Raise InputTooLongError when `text` exceeds SALESBOT_MAX_INPUT_CHARS."""
    if text is not None and len(text) > (limit := max_input_chars()):
        raise InputTooLongError(len(text), limit)


def log_prefix(text: str | None, limit: int = LOG_PREFIX_CHARS) -> str:
    """What a log line may carry of user text: its first `limit` characters and the total length."""
    if text is None:
        return ""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text)} chars)"
