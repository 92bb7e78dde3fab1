"""Small file helpers shared by the stages that write or verify files (no heavy imports here)."""

from __future__ import annotations

import hashlib
from pathlib import Path


def sha256_file(path: Path) -> str:
    """The sha256 of a file, read in blocks so that a gigabyte model does not sit in memory."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def swap_in(folder: Path, dest: Path) -> None:
    """Rename a finished folder onto dest atomically: a non-empty folder cannot be renamed over, so the old
    one is moved aside (onto an empty folder, which rename may replace) first, then deleted."""
    import os
    import shutil
    import tempfile

    old: Path | None = None
    try:
        if dest.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{dest.name}.old-", dir=dest.parent))
            os.replace(dest, old)
        os.replace(folder, dest)
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
