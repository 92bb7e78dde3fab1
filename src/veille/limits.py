"""Per-client limits of a shared server: asks in a sliding window (RateLimiter), failed logins with a
doubling lock-out (Backoff), and a budget of uploaded files and bytes (Quota).

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


class Backoff:
    """Failed logins per key (a name, an address): `free` failures, then each one locks the key for a time
    that doubles from `base` up to `cap` seconds. A key forgets its failures `forget` seconds after its last
    one; a success forgets them at once (the caller decides which keys a success clears)."""

    def __init__(self, free: int, base: float = 2.0, cap: float = 900.0, forget: float = 3600.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.free, self.base, self.cap, self.forget, self.clock = free, base, cap, forget, clock
        self._keys: dict[str, list] = {}  # key -> [failures, last failure, locked until, refusal told]
        self._lock = threading.Lock()

    def _entry(self, key: str, now: float) -> list:
        entry = self._keys.get(key)
        if entry is None or now - entry[1] > self.forget:
            entry = self._keys[key] = [0, now, 0.0, False]
        return entry

    def wait(self, key: str) -> float:
        """Seconds `key` is still locked for (0: it may try now)."""
        now = self.clock()
        with self._lock:
            return max(0.0, self._entry(key, now)[2] - now)

    def first_refusal(self, key: str) -> bool:
        """True once per lock: so a flood of locked-out tries writes one history line, not one each."""
        with self._lock:
            entry = self._entry(key, self.clock())
            told, entry[3] = entry[3], True
            return not told

    def fail(self, key: str) -> float:
        """Count a failure; the seconds the key is now locked for (0 while failures are still free)."""
        now = self.clock()
        with self._lock:
            entry = self._entry(key, now)
            entry[0] += 1
            entry[1] = now
            if entry[0] >= self.free:
                entry[2], entry[3] = now + min(self.cap, self.base * 2 ** (entry[0] - self.free)), False
            if len(self._keys) > 10_000:  # an address per try (IPv6) must not grow this without end
                self._keys = {k: v for k, v in self._keys.items() if now - v[1] <= self.forget or v[2] > now}
            return max(0.0, entry[2] - now)

    def succeed(self, key: str) -> None:
        with self._lock:
            self._keys.pop(key, None)


class Quota:
    """Per-client budget of files and bytes within any `window` seconds (uploads to the server's cache)."""

    def __init__(self, files: int, size: int, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.files, self.size, self.window, self.clock = files, size, window, clock
        self._spent: dict[str, deque[tuple[float, int, int]]] = {}
        self._lock = threading.Lock()

    def _recent(self, client: str, now: float) -> deque[tuple[float, int, int]]:
        spent = self._spent.setdefault(client, deque())
        while spent and spent[0][0] <= now - self.window:
            spent.popleft()
        return spent

    def left(self, client: str) -> tuple[int, int, float]:
        """(files, bytes) the client may still send, and the seconds until its oldest spending expires."""
        now = self.clock()
        with self._lock:
            spent = self._recent(client, now)
            files, size = sum(s[1] for s in spent), sum(s[2] for s in spent)
            renew = spent[0][0] + self.window - now if spent else 0.0
            return self.files - files, self.size - size, renew

    def spend(self, client: str, files: int, size: int) -> None:
        now = self.clock()
        with self._lock:
            self._recent(client, now).append((now, files, size))
            if len(self._spent) > 10_000:
                self._spent = {k: v for k, v in self._spent.items() if v and v[-1][0] > now - self.window}
