"""An index as one portable .tar, and its import into either store: a move that embeds nothing again.

The archive holds the index's plain files (manifest.json, chunks.jsonl, keyword/) and its vectors as two
arrays, ids.npy and vectors.npy (written and read with allow_pickle=False); export.json lists the sha256 of
every member. Import reads the members into memory, never to a path the archive names, checks them all
and the model before writing anything, then writes the index with the same atomic write_index as a build.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import re
import tarfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import IndexMismatchError, InputError
from .settings import Settings, load_settings
from .store import FORMAT as INDEX_FORMAT
from .store import load_store, locked, read_manifest, recover, verify_files, write_index
from .types import Chunk

if TYPE_CHECKING:
    from .embed import Embedder

log = logging.getLogger(__name__)

FORMAT = "veille-export/1"
REMAKE = "export the index again with `veille index export FILE`"
REQUIRED = ("export.json", "manifest.json", "chunks.jsonl", "ids.npy", "vectors.npy")
_MEMBER = re.compile(r"(export\.json|manifest\.json|chunks\.jsonl|ids\.npy|vectors\.npy|keyword/\w[\w.-]*)")


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _npy(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=False)
    return buf.getvalue()


def export_index(file: Path | str, index: Path | str | None = None, *, settings: Settings | None = None,
                 wait: float = 30.0) -> dict[str, Any]:
    """Write the index folder (chunks, keyword index, vectors from whichever store) to one .tar."""
    settings = settings or load_settings(index=index)
    folder, file = Path(index) if index else settings.index, Path(file)
    with locked(folder, wait):  # no build may swap the folder or delete vectors while they are read
        if not (folder / "manifest.json").is_file():
            recover(folder)
        manifest = read_manifest(folder)
        verify_files(folder, manifest)
        ids, vectors = load_store(folder, manifest, settings).vectors()
        order = np.argsort(ids)
        ids, vectors = ids[order].astype(np.int64), np.ascontiguousarray(vectors[order], dtype=np.float32)
        known = sorted(i for a in manifest["articles"].values() for i in a["chunks"])
        if ids.tolist() != known:
            raise IndexMismatchError(f"{folder}'s store holds {len(ids)} vectors for {len(known)} chunks; "
                                     "run `veille index build` to repair it, then export")
        names = [n for n in manifest["files"] if n == "chunks.jsonl" or n.startswith("keyword/")]
        blobs = {"manifest.json": (folder / "manifest.json").read_bytes(),
                 **{n: (folder / n).read_bytes() for n in names}}
    blobs["ids.npy"], blobs["vectors.npy"] = _npy(ids), _npy(vectors)
    export = {"format": FORMAT, "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
              "store": manifest.get("vector_store"), "chunks": len(ids), "dimension": int(vectors.shape[1]),
              "model": manifest["model"], "files": {n: _sha(b) for n, b in blobs.items()}}
    blobs = {"export.json": json.dumps(export, ensure_ascii=False, indent=1).encode(), **blobs}
    file.parent.mkdir(parents=True, exist_ok=True)
    part = file.parent / f".{file.name}.part-{os.getpid()}"
    with tarfile.open(part, "w") as tar:
        for name, data in blobs.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), int(time.time()), 0o644
            tar.addfile(info, io.BytesIO(data))
    os.replace(part, file)  # a half-written archive never carries the final name
    return {"file": str(file), "chunks": len(ids), "articles": len(manifest["articles"]),
            "dimension": int(vectors.shape[1]), "store": export["store"], "bytes": file.stat().st_size}


def _read(file: Path) -> dict[str, bytes]:
    if not file.is_file():
        raise InputError(f"no file {file}; give the .tar that `veille index export` wrote")
    blobs: dict[str, bytes] = {}
    try:
        with tarfile.open(file, "r:*") as tar:
            for member in tar:
                if not member.isfile() or not _MEMBER.fullmatch(member.name) or member.name in blobs:
                    raise InputError(f"{file} holds {member.name!r}, which no veille export has; {REMAKE}")
                blobs[member.name] = tar.extractfile(member).read()  # type: ignore[union-attr]  # a file
    except (tarfile.TarError, EOFError, OSError) as e:
        raise InputError(f"{file} is not a readable .tar ({e}); {REMAKE}") from None
    missing = [n for n in REQUIRED if n not in blobs]
    if missing:
        raise InputError(f"{file} lacks {', '.join(missing)}: it is not a whole veille export; {REMAKE}")
    return blobs


def _json(blobs: dict[str, bytes], name: str, file: Path) -> dict[str, Any]:
    try:
        value = json.loads(blobs[name])
    except (ValueError, UnicodeDecodeError) as e:
        raise InputError(f"{file}: {name} is damaged ({e}); {REMAKE}") from None
    if not isinstance(value, dict):
        raise InputError(f"{file}: {name} is not a JSON object; {REMAKE}")
    return value


def _check(blobs: dict[str, bytes], file: Path, checksum: str) -> tuple[dict[str, Any], list[Chunk], np.ndarray,
                                                                        np.ndarray]:
    """The archive's manifest, chunks, ids and vectors, once every digest, count and shape agrees."""
    export = _json(blobs, "export.json", file)
    if export.get("format") != FORMAT:
        raise InputError(f"{file} is a {export.get('format')!r} archive, this veille reads {FORMAT!r}; {REMAKE}")
    listed = export.get("files") or {}
    for name, data in blobs.items():
        if name != "export.json" and listed.get(name) != _sha(data):
            raise InputError(f"{file}: {name} does not match its sha256 in export.json (damaged or edited); {REMAKE}")
    manifest = _json(blobs, "manifest.json", file)
    if manifest.get("format") != INDEX_FORMAT:
        raise InputError(f"{file} holds an index of format {manifest.get('format')!r}, this veille reads "
                         f"{INDEX_FORMAT!r}; rebuild from the articles with `veille index build`")
    model = manifest.get("model") or {}
    if model.get("checksum") != checksum:
        raise IndexMismatchError(f"{file} was embedded with model {model.get('name')} "
                                 f"({str(model.get('checksum'))[:12]}), this veille uses another "
                                 f"({checksum[:12]}): its vectors would not match your questions; rebuild from "
                                 "the articles with `veille index build`")
    for name, digest in manifest.get("files", {}).items():
        if (name == "chunks.jsonl" or name.startswith("keyword/")) and _sha(blobs.get(name, b"")) != digest:
            raise InputError(f"{file}: {name} is not the file its index was built with; {REMAKE}")
    try:
        chunks = [Chunk(**json.loads(line)) for line in blobs["chunks.jsonl"].decode("utf-8").splitlines()]
        ids = np.load(io.BytesIO(blobs["ids.npy"]), allow_pickle=False)
        vectors = np.load(io.BytesIO(blobs["vectors.npy"]), allow_pickle=False)
    except (ValueError, TypeError, UnicodeDecodeError) as e:
        raise InputError(f"{file} has a damaged member ({e}); {REMAKE}") from None
    dimension = int(model.get("dimension", -1))
    known = {i for a in manifest.get("articles", {}).values() for i in a["chunks"]}
    problems = [
        (ids.ndim != 1 or ids.dtype != np.int64, "ids.npy is not one int64 id a vector"),
        (vectors.dtype != np.float32 or vectors.shape != (len(ids), dimension),
         f"vectors.npy is {vectors.dtype} {vectors.shape}, not float32 ({len(ids)}, {dimension})"),
        (len(set(ids.tolist())) != len(ids), "ids.npy repeats ids"),
        (set(ids.tolist()) != {c.id for c in chunks} or known != {c.id for c in chunks},
         f"{len(ids)} vectors, {len(chunks)} chunks and {len(known)} chunk ids in the manifest do not match"),
        (bool(len(ids)) and not np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3),
         "vectors.npy holds vectors that are not unit length"),
    ]
    for bad, what in problems:
        if bad:
            raise InputError(f"{file}: {what}; {REMAKE}")
    return manifest, chunks, ids, vectors


def import_index(file: Path | str, index: Path | str | None = None, *, corpus: Path | str | None = None,
                 settings: Settings | None = None, embedder: Embedder | None = None,
                 wait: float = 30.0) -> dict[str, Any]:
    """Write an exported index into the index folder, in the store VEILLE_STORE names, embedding nothing."""
    from .index import default_embedder
    from .store import new_store

    settings = settings or load_settings(index=index)
    folder, file = Path(index) if index else settings.index, Path(file)
    blobs = _read(file)
    manifest, chunks, ids, vectors = _check(blobs, file, (embedder or default_embedder(settings)).checksum)
    articles = Path(corpus or manifest.get("corpus", "")).absolute()
    if not articles.is_dir():
        raise InputError(f"the articles of this index are not in {articles}: copy its corpus folder and pass "
                         "--corpus DIR (answers quote the article files)")
    missing = [s for s in manifest["articles"] if not (articles / s).is_file()]
    if missing:
        log.warning("%d of %d articles are not in %s; `veille index build` will drop them",
                    len(missing), len(manifest["articles"]), articles)
    keyword = {n.split("/", 1)[1]: b for n, b in blobs.items() if n.startswith("keyword/")}
    with locked(folder, wait):
        recover(folder)
        store = new_store(settings, vectors.shape[1], folder)
        store.add(ids, vectors)
        store.prepare(settings)
        kept = {k: v for k, v in manifest.items() if k not in ("format", "files", "vector_store")}
        kept.update(corpus=str(articles), vector_store=store.describe(),
                    imported={"from": file.name, "at": datetime.now(UTC).isoformat(timespec="seconds")})
        write_index(folder, store, sorted(chunks, key=lambda c: c.id), kept, extra={"keyword": _writer(keyword)})
        store.commit()
    return {"index": str(folder), "store": store.kind, "chunks": len(chunks), "articles": len(manifest["articles"]),
            "missing_articles": missing}


def _writer(files: dict[str, bytes]) -> Callable[[Path], None]:
    def save(dest: Path) -> None:
        dest.mkdir(parents=True, exist_ok=True)
        for name, data in files.items():
            (dest / name).write_bytes(data)

    return save
