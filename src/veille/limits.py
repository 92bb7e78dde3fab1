"""A per-client cap on questions: at most `limit` asks in any `window` seconds (a sliding window).

Pure and in memory: the clock is a parameter, so a test can drive it; a server restart forgets it.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from .errors import InputError


class RateLimiter:
    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.window, self.clock = limit, window, clock
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def wait(self, client: str) -> float:
        """Seconds before `client` may ask again: 0 when it may now (and the ask is counted)."""
        now = self.clock()
        with self._lock:
            times = self._seen.setdefault(client, deque())
            while times and times[0] <= now - self.window:
                times.popleft()
            if len(times) >= self.limit:
                return times[0] + self.window - now
            times.append(now)
            if len(self._seen) > 10_000:  # forget clients that have not asked within the window
                self._seen = {k: v for k, v in self._seen.items() if v and v[-1] > now - self.window}
            return 0.0

    def check(self, client: str) -> None:
        """Count an ask, or refuse it with how long to wait."""
        if (wait := self.wait(client)) > 0:
            raise InputError(f"Trop de questions : {self.limit} au plus en {self.window:.0f} s par client. "
                             f"Réessayez dans {wait:.0f} s.")
