"""Reading and writing an index folder's contents: the loaded state, and the incremental build.

A build compares each article's content hash with the manifest's: only new or changed articles are
chunked and embedded, deleted ones lose their chunks, and an unchanged corpus writes nothing. The Index
(index.py) holds a `State` and swaps in a new one after each build, so readers never see a mix.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np

from .chunk import chunk_article
from .embed import Embedder
from .errors import IndexMismatchError, IndexMissingError, VeilleError
from .ingest import read_corpus
from .keyword import KeywordIndex
from .settings import Settings
from .store import (
    FIX,
    VectorStore,
    generation,
    load_store,
    new_store,
    read_chunks,
    read_manifest,
    recover,
    verify_files,
    write_index,
)
from .types import BuildReport, Chunk

log = logging.getLogger(__name__)


def _versions() -> dict[str, str]:
    out = {}
    for pkg in ("veille", "faiss-cpu", "sentence-transformers", "transformers", "torch", "bm25s"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "?"
    return out


@dataclass(frozen=True)
class State:
    """Everything a loaded index answers from; replaced whole on update, so readers never see a mix."""

    manifest: dict[str, Any]
    store: VectorStore
    chunks: dict[int, Chunk]
    keyword: KeywordIndex


def _use(name: str) -> str:
    """The settings that open an index built with `name` (« embeddinggemma-300m@256 »)."""
    model, _, size = name.replace(" (onnx-int8)", "").replace(" (bf16)", "").partition("@")
    fix = f"set VEILLE_MODEL={model}" + (f" VEILLE_DIMENSION={size}" if size else "")
    backend = "onnx-int8" if "(onnx-int8)" in name else "torch-bf16" if "(bf16)" in name else "torch"
    return f"{fix} VEILLE_BACKEND={backend} to answer from it"


def load_state(folder: Path, embedder: Embedder, settings: Settings) -> State:
    """The index in the folder. A build that swaps a new one in while we read leaves us files of two
    generations that disagree (or none, for a moment): then we read again, the new one."""
    attempt = 0
    while True:
        seen = generation(folder)
        try:
            return _read_state(folder, embedder, settings)
        except (IndexMismatchError, IndexMissingError, OSError):
            now = generation(folder)
            attempt += 1
            if attempt == 5 or (now is not None and now == seen):
                raise
            time.sleep(0.02 * attempt)


def _read_state(folder: Path, embedder: Embedder, settings: Settings) -> State:
    manifest = read_manifest(folder)
    model = manifest.get("model", {})
    if model.get("checksum") != embedder.checksum:
        raise IndexMismatchError(
            f"{folder} was built with model {model.get('name')} ({str(model.get('checksum'))[:12]}), "
            f"this veille uses {embedder.name} ({embedder.checksum[:12]}); {_use(str(model.get('name')))}, "
            f"or {FIX} with {embedder.name}"
        )
    verify_files(folder, manifest)
    store = load_store(folder, manifest, settings)
    chunks = {c.id: c for c in read_chunks(folder / "chunks.jsonl")}
    if len(store) != len(chunks):
        raise IndexMismatchError(f"{folder} holds {len(store)} vectors for {len(chunks)} chunks; {FIX}")
    return State(manifest, store, chunks, KeywordIndex.load(folder / "keyword", chunks))


def build(corpus: Path, folder: Path, settings: Settings, embedder: Embedder, progress: bool) -> BuildReport:
    recover(folder)
    prev = None
    if (folder / "manifest.json").is_file():
        try:
            prev = load_state(folder, embedder, settings)
        except VeilleError as e:
            log.warning("rebuilding from scratch: %s", e)
    chunker = {"max_chars": settings.chunk_chars, "overlap_sentences": settings.chunk_overlap_sentences}
    if prev and prev.manifest.get("chunker") != chunker:
        log.warning("chunker settings changed: rebuilding from scratch")
        prev = None
    old: dict[str, Any] = prev.manifest["articles"] if prev else {}
    # an article already indexed wins over a newcomer with its text, whatever the order of their names
    articles, skipped, duplicates = read_corpus(corpus, settings.max_file_bytes, first=set(old))
    current = {a.source: a for a in articles}
    added = [s for s in current if s not in old]
    updated = [s for s in current if s in old and old[s]["sha256"] != current[s].sha256]
    removed = [s for s in old if s not in current]
    store = prev.store if prev else new_store(settings, embedder.dimension, folder)
    chunks = dict(prev.chunks) if prev else {}
    next_id = int(prev.manifest["next_id"]) if prev else 0
    # An older keyword folder is rewritten once (nothing re-embedded): until then every load lists the
    # corpus's words from all its chunks.
    if (prev and not (added or updated or removed) and prev.manifest.get("corpus") == str(corpus)
            and KeywordIndex.is_current(folder / "keyword")):
        return BuildReport(unchanged=len(current), skipped=tuple(skipped), duplicates=tuple(duplicates),
                           total_chunks=len(chunks), articles=len(current))
    gone = np.array([i for s in updated + removed for i in old[s]["chunks"]], dtype=np.int64)
    store.remove(gone)
    for i in gone.tolist():
        chunks.pop(i, None)
    fresh: list[Chunk] = []
    for s in added + updated:
        new = chunk_article(current[s], settings.chunk_chars, settings.chunk_overlap_sentences, next_id)
        next_id += len(new)
        fresh.extend(new)
    if fresh:
        vectors = embedder.embed_documents([c.text for c in fresh], settings.batch_size, progress)
        store.add(np.array([c.id for c in fresh], dtype=np.int64), vectors)
    chunks.update((c.id, c) for c in fresh)
    ids_of: dict[str, list[int]] = {}
    for c in chunks.values():
        ids_of.setdefault(c.source, []).append(c.id)
    manifest = {
        "model": {"name": embedder.name, "checksum": embedder.checksum, "dimension": embedder.dimension},
        "chunker": chunker,
        "articles": {
            s: {"sha256": a.sha256, "title": a.title, "date": a.date, "chunks": sorted(ids_of.get(s, [])),
                **{k: v for k, v in (("url", a.url), ("site", a.site), ("author", a.author),
                                     ("pages", list(a.pages))) if v}}
            for s, a in sorted(current.items())
        },
        "duplicates": dict(duplicates),
        "next_id": next_id,
        "corpus": str(corpus),
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "versions": _versions(),
    }
    ordered = [chunks[i] for i in sorted(chunks)]
    keyword = KeywordIndex.build(ordered)
    store.prepare(settings)
    manifest["vector_store"] = store.describe()
    write_index(folder, store, ordered, manifest, extra={"keyword": keyword.save})
    store.commit()
    return BuildReport(
        added=tuple(added), updated=tuple(updated), removed=tuple(removed),
        unchanged=len(current) - len(added) - len(updated), duplicates=tuple(duplicates),
        skipped=tuple(skipped), embedded_chunks=len(fresh), total_chunks=len(chunks), articles=len(current),
    )
