"""Per-token sliding-window rate limit: a partner or a leaked token cannot scrape the knowledge base."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


class RateLimiter:
    """At most `per_minute` calls per key in any 60-second window (0 or less: unlimited)."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._calls: dict[str, deque[float]] = {}
        self._lock = threading.Lock()  # tools run in worker threads

    def allow(self, key: str) -> bool:
        """Count one call for `key`; False (and nothing counted) when the window is full."""
        if self.per_minute <= 0:
            return True
        now = self._clock()
        with self._lock:
            calls = self._calls.setdefault(key, deque())
            while calls and now - calls[0] >= 60.0:
                calls.popleft()
            if len(calls) >= self.per_minute:
                return False
            calls.append(now)
            return True
