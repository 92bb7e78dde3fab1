"""The history of an index's changes: who changed what, when, from where, and what came of it.

One JSON object a line, appended to `<index>.history.jsonl` beside the index folder (a build replaces
the folder whole; the history must outlive it). Each line is written with a single O_APPEND write, so
the server and a command run at the same time never interleave their lines.
"""

from __future__ import annotations

import getpass
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .errors import InputError


def history_path(index_dir: Path) -> Path:
    folder = index_dir.resolve()
    return folder.parent / f"{folder.name}.history.jsonl"


def local_user() -> str:
    """Who runs a command on this machine."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid {os.getuid()}"


def record(path: Path, who: str, action: str, targets: list[str], address: str, result: str) -> dict[str, Any]:
    """Append one change (or refused change) to the history and return it."""
    entry = {"at": datetime.now(UTC).isoformat(timespec="seconds"), "who": who, "action": action,
             "targets": targets, "address": address, "result": result}
    line = (json.dumps(entry, ensure_ascii=False) + "\n").encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)
    return entry


def read_history(path: Path) -> list[dict[str, Any]]:
    """Every entry, oldest first; none when nothing was changed yet."""
    if not path.is_file():
        return []
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            raise InputError(f"{path} line {n} is not JSON; the history is append-only: restore it from a "
                             "backup or move the damaged line out") from None
    return out


def summary(report: Any) -> str:
    """A build report as the history's result: what the change did."""
    return (f"ok: added {len(report.added)}, updated {len(report.updated)}, removed {len(report.removed)}, "
            f"skipped {len(report.skipped)}")
