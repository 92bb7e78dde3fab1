"""The history of an index's changes: who changed what, when, from where, and what came of it.

One JSON object a line, appended to `<index>.history.jsonl` beside the index folder (a build replaces
the folder whole; the history must outlive it). Each line is written with a single O_APPEND write, so
the server and a command run at the same time never interleave their lines.

Its fields come from outside (a URL, a file name a reader typed): `record` is the one writer, and it
escapes every character that could end or bend a line (a newline, U+2028, NEL, a bidi override, a lone
surrogate), so one change is always one line of the file; `visible` does the same for a terminal.
"""

from __future__ import annotations

import getpass
import json
import os
import unicodedata
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


def _unsafe(c: str) -> bool:
    """Controls, format characters (bidi overrides), line and paragraph separators, lone surrogates."""
    return unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp", "Cs")


def visible(text: str) -> str:
    """The text on one line, every control, separator and escape sequence shown as an escape (\\n, \\x1b,
    \\u2028) and backslashes doubled, so that no field can end a printed line or pass for another."""
    return "".join(c.encode("unicode_escape").decode() if c == "\\" or _unsafe(c) else c for c in str(text))


def one_line(entry: dict[str, Any]) -> str:
    """An entry as one line of JSON: json.dumps escapes the ASCII controls, the rest that splits or bends a
    line (U+2028, NEL, bidi overrides, a lone surrogate that UTF-8 cannot even write) is escaped here."""
    return "".join(f"\\u{ord(c):04x}" if ord(c) > 0x7F and _unsafe(c) else c
                   for c in json.dumps(entry, ensure_ascii=False))


def record(path: Path, who: str, action: str, targets: list[str], address: str, result: str) -> dict[str, Any]:
    """Append one change (or refused change) to the history and return it; the only writer of the file."""
    entry = {"at": datetime.now(UTC).isoformat(timespec="seconds"), "who": str(who), "action": str(action),
             "targets": [str(t) for t in targets], "address": str(address), "result": str(result)}
    line = (one_line(entry) + "\n").encode("utf-8")
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
    # "\n" only: str.splitlines would also split at U+2028 or NEL, which an older writer left raw
    for n, line in enumerate(path.read_text(encoding="utf-8", errors="replace").split("\n"), 1):
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
