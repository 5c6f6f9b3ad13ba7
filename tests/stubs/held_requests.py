"""Requests a stub API holds instead of answering, as a platform whose answer never reached the sender (tests).

A held request is never delivered: the stub does not record it as a call, and the request waits, unanswered, until
the test releases the holds (at the latest when the stub stops); a sender killed meanwhile simply loses it.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field


@dataclass
class HeldRequest:
    method: str
    token: str | None
    held_at: float = field(default_factory=time.monotonic)


@dataclass
class _HoldRule:
    method: str
    token: str | None
    remaining: int


class RequestHolds:
    """Which requests to hold (by API method, optionally by the caller's token), and the ones held so far."""

    def __init__(self) -> None:
        self.held: list[HeldRequest] = []
        self._rules: list[_HoldRule] = []
        self._condition = threading.Condition()
        self._released = threading.Event()

    def hold(self, method: str, *, token: str | None = None, count: int = 1) -> None:
        """Hold the next `count` requests of `method` (a method name, or the end of a URL path), from `token` only
        when given."""
        with self._condition:
            self._rules.append(_HoldRule(method, token, count))

    def hold_if_matching(self, method: str, token: str | None, timeout_s: float = 300.0) -> bool:
        """Called by the stub's request handler: True when the request was held (answer nothing useful then)."""
        with self._condition:
            rule = next((rule for rule in self._rules if rule.remaining > 0 and method.endswith(rule.method)
                         and rule.token in (None, token)), None)
            if rule is None:
                return False
            rule.remaining -= 1
            self.held.append(HeldRequest(method, token))
            self._condition.notify_all()
        self._released.wait(timeout_s)
        return True

    def wait_for_held(self, count: int = 1, timeout_s: float = 60.0) -> list[HeldRequest]:
        with self._condition:
            self._condition.wait_for(lambda: len(self.held) >= count, timeout=timeout_s)
            return list(self.held)

    def release_all(self) -> None:
        self._released.set()
