"""Articles into the corpus folder and out of it, before the index is brought up to date.

A change (an upload of several files, a paste, fetched pages, a removal) is checked whole before any file
is written: a usable name, a type veille reads, text it can decode, no two incoming files stored under one
name, no stored article overwritten with other content, and nothing identical to an article the index
already holds under another name (the build indexes such content once, so the newcomer would either be
dropped silently or take the other's place). Then every file is written beside its final name and renamed;
the returned `undo` puts the corpus back as it was, for when writing or indexing fails half way.
A removed article moves to the corpus's .removed/ folder with its metadata, so nothing is lost.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import InputError
from .extract import meta_path
from .ingest import SUFFIXES, decode, html_to_text

# File systems allow 255 bytes a name; an article is first written as ".<name>.part", so stay well below.
MAX_NAME_BYTES = 200
Undo = Callable[[], None]
Change = Callable[[dict[str, Any]], tuple[Undo, list[tuple[str, str]]]]  # the index's articles -> undo, skipped


@dataclass(frozen=True)
class Incoming:
    """One article about to be stored: its file name in the corpus, its bytes, its metadata sidecar (None:
    a plain file), what the editor gave (a file name, a URL) for the messages, and whether it is a fetched
    `page`: a stored page of the same name is overwritten (it changed), and a page whose text another
    article already holds is skipped (a feed must not stall on it); a file an editor sends is refused."""

    name: str
    data: bytes
    meta: dict[str, Any] | None
    given: str
    page: bool = False


def stage_file(name: str, data: bytes, max_bytes: int) -> tuple[str, bytes]:
    """Check an incoming article and give its safe file name in the corpus and its bytes (HTML -> text)."""
    base = name.strip()
    if not base or base.startswith(".") or "/" in base or "\\" in base or ".." in base or "\x00" in base:
        raise InputError(f"{name!r} is not a usable file name; use a plain name like article.txt")
    size = len(base.encode("utf-8", "surrogateescape"))
    if size > MAX_NAME_BYTES:
        raise InputError(f"{base[:40]}…: a file name of {size} bytes, over {MAX_NAME_BYTES}; give it a shorter name")
    suffix = Path(base).suffix.lower()
    if suffix not in SUFFIXES:
        raise InputError(f"{base}: veille reads {', '.join(SUFFIXES)} files; save it as .txt")
    text = decode(data, base, max_bytes)
    if suffix in (".html", ".htm"):
        text = html_to_text(text)
        if not text.strip():
            raise InputError(f"{base}: no article text found in this page")
        return Path(base).with_suffix(".txt").name, text.encode("utf-8")
    return base, data


def incoming(items: list[Any], max_bytes: int, pages: bool = False) -> list[Incoming]:
    """(file name, content) pairs and extract.Extracted articles (a page, a feed entry, a PDF), checked;
    `pages`: fetched pages (Incoming.page)."""
    out = []
    for item in items:
        if isinstance(item, tuple):
            name, data = stage_file(item[0], item[1], max_bytes)
            out.append(Incoming(name, data, None, item[0]))
        else:
            name, data = stage_file(item.name, item.text.encode("utf-8"), max_bytes)
            given = item.meta.get("fetched_from") or item.meta.get("original") or item.name
            out.append(Incoming(name, data, dict(item.meta), str(given), pages))
    return out


def check(corpus: Path, items: list[Incoming], indexed: dict[str, Any]) -> tuple[list[Incoming], list[tuple[str, str]]]:
    """What to write, and (name, indexed article) of the pages skipped as the same text as an article the
    index holds under another name. `indexed`: the manifest's articles as they are now."""
    by_name: dict[str, Incoming] = {}
    by_hash: dict[str, Incoming] = {}
    for it in items:
        digest = hashlib.sha256(it.data).hexdigest()
        if (other := by_name.get(it.name)) is not None and other.data != it.data:
            raise InputError(f"{other.given} and {it.given} would both be stored as {it.name}; rename one "
                             "and send them again")
        if (twin := by_hash.get(digest)) is not None and twin.name != it.name:
            raise InputError(f"{twin.given} and {it.given} hold the same text; send only one of them")
        by_name[it.name], by_hash[digest] = it, it
    owner = {a["sha256"]: source for source, a in indexed.items()}
    keep, skipped = [], []
    for digest, it in by_hash.items():
        target = corpus / it.name
        if target.is_symlink() or (target.exists() and not target.is_file()):
            raise InputError(f"{it.name} in the corpus folder is not a plain file; give the article another name")
        if not it.page and target.is_file() and target.read_bytes() != it.data:
            raise InputError(f"{it.name} exists with other content; rename the new file or "
                             f"`veille index remove {it.name}` first")
        same = owner.get(digest)
        if same is not None and same != it.name:
            if it.page:
                skipped.append((it.name, same))
                continue
            raise InputError(f"{it.given} holds the same text as {same}, already in the index: nothing was "
                             f"added; to store it under this name, `veille index remove {same}` first")
        keep.append(it)
    return keep, skipped


def write(corpus: Path, items: list[Incoming]) -> Undo:
    """Write the checked articles and their metadata; `undo` restores every file as it was before."""
    saved: list[tuple[Path, bytes | None]] = []

    def undo() -> None:
        for path, old in reversed(saved):
            if old is None:
                path.unlink(missing_ok=True)
            else:
                _put(path, old)

    try:
        for it in items:
            files = [(corpus / it.name, it.data)]
            if it.meta is not None:  # written first: the article is never seen without what it says of itself
                meta = json.dumps(it.meta, ensure_ascii=False, indent=1).encode("utf-8")
                files.insert(0, (meta_path(corpus, it.name), meta))
            for path, data in files:
                saved.append((path, path.read_bytes() if path.is_file() else None))
                _put(path, data)
    except BaseException:
        undo()
        raise
    return undo


def move_out(corpus: Path, sources: list[str], indexed: dict[str, Any]) -> Undo:
    """The articles' files, and their metadata, into the corpus's .removed/ folder; all or none."""
    unknown = [s for s in sources if s not in indexed]
    if unknown:
        raise InputError(f"not in the index: {', '.join(unknown)}; `veille index status` lists what is")
    if gone := [s for s in sources if not (corpus / s).is_file()]:
        raise InputError(f"no longer in the corpus folder: {', '.join(gone)}; `veille index update` catches up")
    moved: list[tuple[Path, Path]] = []

    def undo() -> None:
        for src, dest in reversed(moved):
            shutil.move(dest, src)

    try:
        for s in sources:
            pairs = [(corpus / s, corpus / ".removed" / s)]
            if (meta := meta_path(corpus, s)).is_file():  # its metadata goes with it, so moving it back restores both
                pairs.append((meta, meta_path(corpus / ".removed", s)))
            for src, dest in pairs:
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(src, dest)
                moved.append((src, dest))
    except BaseException:
        undo()
        raise
    return undo


def _put(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.part")
    tmp.write_bytes(data)
    os.replace(tmp, path)
