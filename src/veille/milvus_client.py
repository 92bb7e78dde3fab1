"""The Milvus client: where the vectors live (a server URI or a milvus-lite file beside the index), one
client per URI per process, and a failing call as one line the user can act on."""

from __future__ import annotations

import fcntl
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .errors import IndexBusyError, InputError, StoreError
from .vectors import FIX

_CLIENTS: dict[tuple[str, str], Any] = {}


def resolve_uri(setting: str, folder: Path) -> str:
    """VEILLE_MILVUS_URI, or by default the milvus-lite file `<index>.milvus.db` beside the index folder.

    Beside it, never inside: every build replaces the index folder whole (os.replace), while the vectors
    must stay where the old index's readers and the next build look for them.
    """
    if not setting:
        folder = folder.absolute()
        return str(folder.parent / f"{folder.name}.milvus.db")
    if re.match(r"(https?|tcp|unix):", setting):
        return setting
    if not setting.endswith(".db"):
        raise InputError(f"VEILLE_MILVUS_URI={setting!r} is neither a server URI (http://host:19530) "
                         "nor a milvus-lite file ending in .db; set it to one of those")
    return str(Path(setting).expanduser().absolute())


def shown(uri: str) -> str:
    """The URI without a user:password, as the manifest records it."""
    parts = urlsplit(uri)
    if "@" in parts.netloc:
        return parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]).geturl()
    return uri


def _check_free(path: Path) -> None:
    """milvus-lite lets one process at a time open a .db: say so, rather than fail deep inside it."""
    lock = path / "LOCK"
    if not lock.is_file():
        return
    with lock.open("a") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise IndexBusyError(f"another process has {path} open (milvus-lite serves one process at a time); "
                                 "stop it and retry, or share a Milvus server: VEILLE_MILVUS_URI=http://host:19530"
                                 ) from None
        fcntl.flock(f, fcntl.LOCK_UN)


def connect(uri: str, token: str = "") -> Any:
    """One client per URI per process (milvus-lite runs in the process that opens the file)."""
    key = (uri, token)
    if key not in _CLIENTS:
        lite = uri.endswith(".db")
        if lite:
            _check_free(Path(uri))
            # milvus-lite's in-process gRPC server logs a traceback for each call it does not implement
            # (pymilvus asks it for timestamps); the call's caller handles the error, the user need not see it
            logging.getLogger("grpc._server").setLevel(logging.CRITICAL)
        from pymilvus import MilvusClient

        try:
            _CLIENTS[key] = MilvusClient(uri=uri, token=token, timeout=30)
        except Exception as e:  # pymilvus raises several kinds here, all meaning "cannot use it"
            fix = "check that its folder is writable" if lite else "check the server is up and VEILLE_MILVUS_URI"
            raise StoreError(f"cannot open Milvus at {shown(uri)} ({str(e).strip()[:200]}); {fix}") from None
    return _CLIENTS[key]


@contextmanager
def calls(uri: str) -> Iterator[None]:
    """A failing Milvus call as one line the user can act on."""
    from pymilvus.exceptions import MilvusException

    try:
        yield
    except MilvusException as e:
        raise StoreError(f"Milvus at {shown(uri)} failed: {e.message}; check the server (VEILLE_MILVUS_URI) "
                         f"or {FIX}") from None
