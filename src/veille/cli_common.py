"""What every `veille` command shares: JSON output, friendly errors, stdin lines, the --index option."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from functools import wraps
from pathlib import Path
from typing import Any

import click

from .errors import VeilleError


def _dump(obj: Any) -> None:
    click.echo(json.dumps(obj, ensure_ascii=False))


def _friendly(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn VeilleError into `veille: <message>` and exit 1."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except VeilleError as e:
            click.echo(f"veille: {e}", err=True)
            sys.exit(1)

    return wrapper


def _lines(arg: str) -> Iterator[str]:
    """The argument itself, or with "-" one item per non-empty line of stdin."""
    if arg != "-":
        yield arg
        return
    for line in sys.stdin:
        if line.strip():
            yield line.strip()


index_option = click.option("--index", "index_dir", type=click.Path(path_type=Path), default=None,
                            help="Index folder (default: index/, or $VEILLE_INDEX).")


def audited(index_dir: Path | None, action: str, targets: list[str], change: Callable[[], Any]) -> Any:
    """Run a change to the index from the command line, and record it (or its failure) in the history."""
    from .audit import history_path, local_user, record, summary
    from .settings import load_settings

    path = history_path(load_settings(index=index_dir).index)
    try:
        report = change()
    except VeilleError as e:
        record(path, local_user(), action, targets, "cli", f"error: {e}")
        raise
    record(path, local_user(), action, targets, "cli", summary(report))
    return report
