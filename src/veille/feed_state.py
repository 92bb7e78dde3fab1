"""What veille remembers of the feeds between updates, and how one update shares its cap between them.

The state is `.veille/feeds.json` in the corpus folder: the feeds (each with its validators, its pending
entries and, while it fails, its failure), the entries seen, the pages that failed, and the feed whose
turn comes first at the next update. A page or a feed that failed is tried again after a back-off that
doubles; the pages an update may fetch are taken one feed at a time, in turn, so a feed of 10,000
entries cannot keep the others waiting.
"""

from __future__ import annotations

import json
import os
from collections import deque
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from .errors import InputError

STATE = Path(".veille") / "feeds.json"
# A page or a feed that failed is tried again after an hour, then two, four... at most a week later (a page
# is given up when its feed no longer lists it): a dead link costs one fetch now and then, not one an update.
BACKOFF_FIRST = 3600
BACKOFF_MAX = 7 * 24 * 3600


def load_state(corpus: Path) -> dict[str, Any]:
    path = corpus / STATE
    if not path.is_file():
        return {"feeds": {}, "seen": {}, "failed": {}, "turn": None}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise InputError(f"{path} is damaged ({e}); move it away and add the feeds again") from None
    return {"feeds": data.get("feeds", {}), "seen": data.get("seen", {}), "failed": data.get("failed", {}),
            "turn": data.get("turn")}


def save_state(corpus: Path, state: dict[str, Any]) -> None:
    path = corpus / STATE
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.part")
    tmp.write_text(json.dumps(state, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, path)


def backing_off(failure: dict[str, Any] | None, now: datetime) -> bool:
    """Whether something that failed (a page, a feed) still waits out its back-off."""
    return failure is not None and datetime.fromisoformat(failure["retry"]) > now


def failed(previous: dict[str, Any] | None, reason: str, now: datetime) -> dict[str, Any]:
    """The failure to remember: counted, with the time of the next try (the back-off doubled)."""
    count = (previous or {}).get("count", 0) + 1
    wait = min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** (count - 1))
    return {"count": count, "reason": reason, "retry": (now + timedelta(seconds=wait)).isoformat(timespec="seconds")}


class Turns:
    """The feeds' entries in the order an update fetches them: one entry of each feed in turn, starting
    with the feed after the one that took the last page of the previous update, so that a cap smaller
    than the work is shared fairly, and the same state always gives the same order.

    `wanted(name, item)` says whether an entry needs a fetch; the others are passed over (and are the
    caller's to count) without using a turn."""

    def __init__(self, queues: dict[str, list[Any]], start: str | None,
                 wanted: Callable[[str, Any], bool]) -> None:
        names = list(queues)
        first = names.index(start) if start in names else 0
        self.names = names[first:] + names[:first]
        self.queues = {name: deque(queues[name]) for name in self.names}
        self.wanted, self.next_start = wanted, start

    def _next(self, name: str) -> Any | None:
        queue = self.queues[name]
        while queue:
            item = queue.popleft()
            if self.wanted(name, item):
                return item
        return None

    def take(self, limit: int) -> Iterator[tuple[str, Any]]:
        """At most `limit` (feed name, entry) to fetch, in turn."""
        live, taken = list(self.names), 0
        while live and taken < limit:
            for name in list(live):
                if taken >= limit:
                    break
                item = self._next(name)
                if item is None:
                    live.remove(name)
                    continue
                taken += 1
                self.next_start = self.names[(self.names.index(name) + 1) % len(self.names)]
                yield name, item

    def rest(self) -> Iterator[tuple[str, Any]]:
        """The entries that needed a fetch and had no turn left: each feed's, in its order."""
        for name in self.names:
            while (item := self._next(name)) is not None:
                yield name, item
