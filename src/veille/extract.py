"""Web pages and PDFs as corpus articles: the text veille stores (which citations' offsets refer to) and
what their source says of them (url, site, author, date, a PDF's pages), kept in a sidecar.

A fetched page is reduced to its article by trafilatura and stored as text: its title, its date, then
its paragraphs. A PDF's text layer is read page by page with pypdf (bench/pdf_extract.py: as exact as
pdfminer.six on French text, 8 times faster) and stored the same way, with the offset where each page
starts. The sidecar is `.veille/meta/<source>.json` in the corpus folder: hidden, so never indexed.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import InputError

META_DIR = Path(".veille") / "meta"


@dataclass(frozen=True)
class Extracted:
    """An article's text as veille stores it, and its metadata."""

    name: str  # file name in the corpus folder
    text: str
    meta: dict[str, Any] = field(default_factory=dict)


def slug(text: str, limit: int = 60) -> str:
    import unicodedata

    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:limit].strip("-") or "article"


def _layout(title: str, date: str | None, body: str) -> str:
    return "\n\n".join(x for x in (title.strip(), (date or "").strip(), body.strip()) if x) + "\n"


def page_article(html: str, url: str) -> Extracted:
    """A fetched page as an article: title, date, text; url (canonical when the page gives one), site,
    author and date as metadata."""
    import trafilatura

    doc = trafilatura.bare_extraction(html, url=url, include_comments=False, with_metadata=True)
    body = getattr(doc, "text", None) if doc is not None else None
    if not body or not body.strip():
        raise InputError(f"{url}: no article text found in the page")
    canonical = getattr(doc, "url", None) or url
    host = urllib.parse.urlsplit(canonical).hostname or ""
    title = (getattr(doc, "title", None) or "").strip() or body.strip().splitlines()[0][:120]
    date = getattr(doc, "date", None)
    meta = {"url": canonical, "site": getattr(doc, "sitename", None) or host, "author": getattr(doc, "author", None),
            "date": date, "title": title, "fetched_from": url}
    name = f"{slug(host, 40)}-{slug(title, 50)}-{hashlib.sha256(url.encode()).hexdigest()[:8]}.txt"
    return Extracted(name, _layout(title, date, body), {k: v for k, v in meta.items() if v})


def pdf_article(data: bytes, name: str) -> Extracted:
    """A PDF's text layer, page by page, with the offset where each page starts; an image-only PDF (no
    text layer) is refused with the reason."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        pages = [(p.extract_text() or "").strip() for p in reader.pages]
        info: Any = reader.metadata or {}
    except (PdfReadError, ValueError, KeyError, OSError) as e:
        raise InputError(f"{name}: not a PDF veille can read ({e})") from None
    if not any(len(p) >= 20 for p in pages):
        raise InputError(f"{name}: no text layer (a scanned or image-only PDF); run it through OCR first "
                         "(e.g. `ocrmypdf in.pdf out.pdf`)")
    title = str(info.get("/Title") or "").strip() or next(p for p in pages if p).splitlines()[0].strip()[:120]
    author = str(info.get("/Author") or "").strip() or None
    head = title + "\n\n"
    text, starts = head, []
    for page in pages:
        starts.append(len(text))
        text += page + "\n\n"
    stem = Path(name).stem
    meta = {"title": title, "author": author, "pages": starts, "original": Path(name).name}
    return Extracted(f"{slug(stem)}.txt", text.rstrip("\n") + "\n", {k: v for k, v in meta.items() if v})


def meta_path(corpus: Path, source: str) -> Path:
    return corpus / META_DIR / f"{source}.json"


def read_meta(corpus: Path, source: str) -> dict[str, Any]:
    path = meta_path(corpus, source)
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        return {}  # a damaged sidecar loses the metadata, never the article
    return data if isinstance(data, dict) else {}


def write_meta(corpus: Path, source: str, meta: dict[str, Any]) -> None:
    path = meta_path(corpus, source)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.part")
    tmp.write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, path)


def drop_meta(corpus: Path, source: str) -> None:
    meta_path(corpus, source).unlink(missing_ok=True)
