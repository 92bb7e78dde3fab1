"""The index folder: its vector store (faiss_store.py or milvus.py), the chunk store and the manifest,
written atomically.

A build writes a complete new folder beside the old one, then swaps it in with two os.replace calls;
`recover` finishes or undoes a swap that a crash interrupted, so the folder always holds one whole index.
Nothing here unpickles: FAISS's own binary format, JSON lines and JSON.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import IndexBusyError, IndexMismatchError, IndexMissingError, InputError
from .faiss_store import FaissStore
from .files import sha256_file
from .types import Chunk
from .vectors import FIX, VectorStore  # also imported from here by index.py

if TYPE_CHECKING:
    from .settings import Settings

log = logging.getLogger(__name__)

FORMAT = "veille-index/1"


def new_store(settings: Settings, dimension: int, folder: Path | None = None) -> VectorStore:
    """An empty store of the kind the settings name (VEILLE_STORE), for the index folder `folder`."""
    if settings.store == "faiss":
        return FaissStore(dimension)
    if settings.store == "milvus":
        from .milvus import MilvusStore  # pymilvus loads only for a Milvus index

        return MilvusStore.create(settings, dimension, folder or settings.index)
    raise InputError(f"unknown vector store {settings.store!r}; set VEILLE_STORE to 'faiss' or 'milvus'")


def load_store(folder: Path, manifest: dict[str, Any], settings: Settings) -> VectorStore:
    """The store an index folder's manifest names."""
    described = manifest.get("vector_store")
    kind = described.get("kind") if isinstance(described, dict) else "faiss"  # older manifests: a plain string
    dimension = int(manifest["model"]["dimension"])
    if kind == "faiss":
        return FaissStore.load(folder, dimension)
    if kind == "milvus":
        from .milvus import MilvusStore

        return MilvusStore.load(folder, manifest, settings)
    raise IndexMismatchError(f"{folder} uses vector store {kind!r}, which this veille does not know; {FIX}")


def write_chunks(path: Path, chunks: list[Chunk]) -> None:
    with path.open("w", encoding="utf-8") as f:
        for c in chunks:
            f.write(json.dumps(c.to_dict(), ensure_ascii=False) + "\n")


def read_chunks(path: Path) -> list[Chunk]:
    out = []
    with path.open("rb") as f:  # bytes: a line that is not UTF-8 is damage to report, like bad JSON
        for n, line in enumerate(f, 1):
            try:
                out.append(Chunk(**json.loads(line)))
            except (ValueError, TypeError) as e:
                raise IndexMismatchError(f"{path} line {n} is damaged ({e}); {FIX}") from None
    return out


def _siblings(folder: Path, kind: str) -> list[Path]:
    return sorted(folder.parent.glob(f".{folder.name}.{kind}-*"))


def recover(folder: Path) -> None:
    """Finish the work of a build that died: bring back a swapped-out index, drop half-written ones."""
    if not (folder / "manifest.json").is_file():
        olds = [p for p in _siblings(folder, "old") if (p / "manifest.json").is_file()]
        if olds:
            log.warning("restoring the index a crashed build had moved aside (%s)", olds[-1].name)
            if folder.exists():
                shutil.rmtree(folder)
            os.replace(olds[-1], folder)
    for stale in _siblings(folder, "old") + _siblings(folder, "tmp"):
        shutil.rmtree(stale, ignore_errors=True)


def tidy(folder: Path) -> None:
    """`recover` for a reader: under the build lock, and only when no build holds it, since a running
    build's sibling folders are its work in progress (and its index briefly missing, mid-swap)."""
    if not (_siblings(folder, "old") or _siblings(folder, "tmp")):
        return
    try:
        with locked(folder):
            recover(folder)
    except (IndexBusyError, OSError):  # a build is running and cleans up after itself; or a read-only folder
        pass


def generation(folder: Path) -> tuple[int, int] | None:
    """Which index the folder holds now: every build writes a new manifest file (inode, change time);
    None while there is none, as between a build's two renames."""
    try:
        stat = (folder / "manifest.json").stat()
    except OSError:
        return None
    return stat.st_ino, stat.st_ctime_ns


@contextmanager
def locked(folder: Path, wait: float = 0.0) -> Iterator[None]:
    """Hold the index folder's build lock; a second builder waits `wait` seconds, then fails clearly."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    lock_path = folder.parent / f".{folder.name}.lock"
    with lock_path.open("w") as f:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise IndexBusyError(f"another build is writing {folder}; wait for it to finish") from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _failpoint(name: str) -> None:
    """Crash here on purpose when VEILLE_FAILPOINT names this point (crash-safety tests only)."""
    if os.environ.get("VEILLE_FAILPOINT") == name:
        import signal

        os.kill(os.getpid(), signal.SIGKILL)


def write_index(folder: Path, store: VectorStore, chunks: list[Chunk], manifest: dict[str, Any],
                extra: dict[str, Any] | None = None) -> None:
    """Write a complete index to a temporary sibling folder and swap it in. `extra` saves more parts."""
    tmp = folder.parent / f".{folder.name}.tmp-{os.getpid()}-{time.time_ns()}"
    tmp.mkdir(parents=True)
    store.save(tmp)
    write_chunks(tmp / "chunks.jsonl", chunks)
    for name, saver in (extra or {}).items():
        saver(tmp / name)
    _failpoint("after-write")
    readme = folder / "README.md"
    if readme.is_file():  # the folder's description travels with every generation
        shutil.copy2(readme, tmp / "README.md")
    files = {
        p.relative_to(tmp).as_posix(): sha256_file(p)
        for p in sorted(tmp.rglob("*"))
        if p.is_file() and p.name != "README.md"
    }
    manifest = {**manifest, "format": FORMAT, "files": files}
    with (tmp / "manifest.json").open("w", encoding="utf-8") as f:
        json.dump(manifest, f, ensure_ascii=False, indent=1)
        f.flush()
        os.fsync(f.fileno())
    old = folder.parent / f".{folder.name}.old-{os.getpid()}-{time.time_ns()}"
    if folder.exists():
        os.replace(folder, old)
    _failpoint("mid-swap")
    os.replace(tmp, folder)
    shutil.rmtree(old, ignore_errors=True)


def read_manifest(folder: Path) -> dict[str, Any]:
    path = folder / "manifest.json"
    if not path.is_file():
        raise IndexMissingError(f"no index in {folder}; run `veille index build` to create it")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise IndexMismatchError(f"{path} is damaged ({e}); {FIX}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        found = manifest.get("format") if isinstance(manifest, dict) else None
        raise IndexMismatchError(f"{folder} has index format {found!r}, this veille reads {FORMAT!r}; {FIX}")
    if not all(isinstance(manifest.get(key), dict) for key in ("model", "files", "articles")):
        raise IndexMismatchError(f"{path} is damaged (its model, files or articles are missing); {FIX}")
    return manifest


def verify_files(folder: Path, manifest: dict[str, Any]) -> None:
    """Refuse an index whose files are not the ones its manifest was written with."""
    for name, digest in manifest.get("files", {}).items():
        path = folder / name
        if not path.is_file():
            raise IndexMismatchError(f"{path} is missing; {FIX}")
        if sha256_file(path) != digest:
            raise IndexMismatchError(f"{path} was modified or truncated since it was built; {FIX}")
