"""A watched corpus folder: files dropped into it, changed or removed are indexed within seconds.

The folder is polled (its files' sizes and modification times, once a second) rather than followed
through inotify: polling sees the same changes on network shares and container volumes, where file
system events often never arrive, and needs no dependency. A change is indexed once the folder has
stayed the same for one more poll (a file still being copied is not read half-written), through the
index's own incremental build and lock, so a `veille index add` at the same moment simply waits.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .errors import VeilleError
from .ingest import list_files

log = logging.getLogger(__name__)


def snapshot(corpus: Path) -> dict[str, tuple[int, int]]:
    """(modification time, size) of every article file; empty when the folder is missing or empty."""
    out = {}
    try:
        files = list_files(corpus)
    except VeilleError:
        return {}
    for path, source in files:
        try:
            st = path.stat()
        except OSError:
            continue  # removed between the listing and the stat: the next poll sees it gone
        out[source] = (st.st_mtime_ns, st.st_size)
    return out


def watch(corpus: Path, update: Callable[[], Any], on_report: Callable[[Any], None],
          on_error: Callable[[str], None], interval: float = 1.0, stop: threading.Event | None = None) -> None:
    """Poll until `stop` is set (forever without one): on a settled change, `update()` and report."""
    stop = stop or threading.Event()
    indexed = snapshot(corpus)
    pending: dict[str, tuple[int, int]] | None = None
    while not stop.wait(interval):
        now = snapshot(corpus)
        if now == indexed:
            pending = None
            continue
        if now != pending:  # still changing (a copy in progress): wait for it to settle
            pending = now
            continue
        try:
            on_report(update())
            indexed = snapshot(corpus)
        except VeilleError as e:
            on_error(str(e))
            indexed = now  # retried on the next change, not in a loop
        pending = None


def watch_in_background(corpus: Path, update: Callable[[], Any], interval: float = 1.0) -> threading.Event:
    """The same loop in a daemon thread (`veille serve --watch`); set the returned event to stop it."""
    stop = threading.Event()
    thread = threading.Thread(target=watch, name="veille-watch", daemon=True,
                              args=(corpus, update, lambda r: log.warning("watched folder: %s", _line(r)),
                                    lambda e: log.warning("watched folder: %s", e), interval, stop))
    thread.start()
    return stop


def _line(report: Any) -> str:
    return (f"{len(report.added)} added, {len(report.updated)} updated, {len(report.removed)} removed, "
            f"{len(report.skipped)} skipped")
