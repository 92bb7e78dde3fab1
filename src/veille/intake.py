"""Articles into the corpus folder and out of it, before the index is brought up to date.

Every incoming file is checked (a usable name, a type veille reads, text it can decode) before any is
written, and each is written beside its final name first, then renamed: a failed add leaves the corpus as
it was. A removed article moves to the corpus's .removed/ folder with its metadata, so nothing is lost.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from .errors import InputError
from .extract import meta_path, write_meta
from .ingest import SUFFIXES, decode, html_to_text

# File systems allow 255 bytes a name; an article is first written as ".<name>.part", so stay well below.
MAX_NAME_BYTES = 200


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


def write_texts(corpus: Path, items: list[tuple[str, bytes]], max_bytes: int) -> None:
    """Articles given as (file name, content): every one is checked before any is written."""
    staged = [stage_file(name, data, max_bytes) for name, data in items]
    for name, data in staged:
        target = corpus / name
        if target.exists() and target.read_bytes() != data:
            raise InputError(f"{target.name} exists with other content; rename the new file or "
                             f"`veille index remove {name}` first")
    for name, data in staged:
        _write(corpus, name, data)


def write_extracted(corpus: Path, items: list[Any], max_bytes: int, replace: bool = False) -> None:
    """extract.Extracted articles (a page, a feed entry, a PDF) with their metadata sidecar; `replace`: a
    stored article of the same name is overwritten (a page that changed)."""
    for item in items:
        name, data = stage_file(item.name, item.text.encode("utf-8"), max_bytes)
        target = corpus / name
        if not replace and target.exists() and target.read_bytes() != data:
            raise InputError(f"{name} exists with other content; `veille index remove {name}` first")
    for item in items:
        write_meta(corpus, item.name, item.meta)
        _write(corpus, item.name, item.text.encode("utf-8"))


def move_out(corpus: Path, sources: list[str]) -> None:
    """The articles' files, and their metadata, into the corpus's .removed/ folder."""
    for s in sources:
        dest = corpus / ".removed" / s
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(corpus / s, dest)
        meta = meta_path(corpus, s)
        if meta.is_file():  # its metadata goes with it, so that moving it back restores both
            (dest_meta := meta_path(corpus / ".removed", s)).parent.mkdir(parents=True, exist_ok=True)
            shutil.move(meta, dest_meta)


def _write(corpus: Path, name: str, data: bytes) -> None:
    tmp = corpus / f".{name}.part"
    tmp.write_bytes(data)
    os.replace(tmp, corpus / name)
