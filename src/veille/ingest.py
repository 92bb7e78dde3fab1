"""Files -> Articles: decode, find title and date, drop site chrome, keep exact offsets.

Cleaning never rewrites text. It only decides which lines of the original belong to the article and
records them as spans, so every passage veille later shows can be sliced back out of the file.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from .dates import parse_date
from .errors import CorpusError, InputError
from .extract import pdf_article, read_meta
from .types import Article

log = logging.getLogger(__name__)

SUFFIXES = (".txt", ".md", ".html", ".htm", ".pdf")
# Around a line's content: every Unicode space (str.isspace: U+2028, NEL...) and zero-width ones; no more is empty.
_WS = "".join(c for c in map(chr, range(0x3001)) if c.isspace()) + "\ufeff\u200b"

# Lines that are page furniture on news sites, whatever the site: reading prompts, comment counters,
# share buttons, loaders, image placeholders. Matched against the whole line, case-insensitively.
_CHROME = re.compile(
    r"^(?:"
    r"(?:à|a)?\s*lire (?:aussi|également|egalement)\b.*|(?:voir|lire) (?:aussi|la suite)\b.*"
    r"|read (?:more|also|next)\b.*|see also\b.*|en savoir plus\b.*"
    r"|(?:aucun|\d+|pas de) commentaires?\b.*|(?:\d+\s+)?comments?|commenter|réagir"
    r"|loading\W*|chargement(?: en cours)?\W*"
    r"|(?:news )?(?:image|photo|vidéo|video)|publicité|advertisement|sponsorisé"
    r"|partager(?: (?:sur|cet article|l'article))?\b.*|share(?: this)?\b.*|tweet|imprimer|print"
    r"|(?:abonnez-vous|s'abonner|inscrivez-vous|newsletter|subscribe)\b.*"
    r")$",
    re.IGNORECASE,
)
# Headers that open a block of links to other articles: everything after one of them is not the
# article (when it stands in the second half of the page).
_RELATED = re.compile(
    r"^(?:other (?:articles|stories|news)\b.*|more (?:from|stories|news|on)\b.*|related\b.*"
    r"|you (?:may|might) also like\b.*|most (?:read|popular)\b.*|top stories|recommended\b.*"
    r"|sur (?:le|la) même (?:sujet|thème)\b.*|dans la même rubrique\b.*|les plus (?:lus|partagés)\b.*"
    r"|(?:nos )?articles? (?:similaires|liés|recommandés)\b.*|vous (?:aimerez|pourriez aimer)\b.*"
    r"|à lire (?:sur le même sujet|ensuite)\b.*|dernières (?:actualités|infos)\b.*|à la une)$",
    re.IGNORECASE,
)
_DATE_LINE_WORDS = re.compile(r"^(?:publié|mis à jour|modifié|le|updated|published|posted|on|,|\s)*", re.I)


@dataclass(frozen=True)
class _Line:
    start: int  # offsets of the line's content, surrounding white space excluded
    end: int
    text: str


def _lines(original: str) -> list[_Line]:
    """Non-empty lines with the offsets of their stripped content."""
    out = []
    for m in re.finditer(r"[^\r\n]+", original):
        raw = m.group()
        left = len(raw) - len(raw.lstrip(_WS))
        content = raw.strip(_WS)
        if content:
            out.append(_Line(m.start() + left, m.start() + left + len(content), content))
    return out


def _words(text: str) -> int:
    return len(text.split())


def _is_sentence(text: str) -> bool:
    return text.rstrip("»”\"')] ").endswith((".", "!", "?", "…", ":"))


def _date_line(line: _Line) -> str | None:
    """The date if this line is a dateline (a date and little else), not a sentence mentioning one."""
    rest = _DATE_LINE_WORDS.sub("", line.text)
    date = parse_date(rest)
    if date and _words(rest) <= 8 and not _is_sentence(line.text.rstrip(".")):
        return date
    return None


def _tail_cut(lines: list[_Line]) -> int:
    """Index of the first line of a trailing block of links to other articles (len(lines) if none)."""
    half = len(lines) // 2
    counts = Counter(ln.text.lower() for ln in lines)
    for i in range(half, len(lines)):
        text = lines[i].text
        if _RELATED.match(text):
            return i
        # A short line that recurs (a "Read more" under every teaser) marks a list of teasers: the
        # list starts at its first occurrence, or at the header line just before it.
        if counts[text.lower()] >= 3 and _words(text) <= 4 and not _is_sentence(text):
            return i - 1 if i > half and not _is_sentence(lines[i - 1].text) else i
    return len(lines)


def clean(original: str) -> tuple[str, str | None, tuple[tuple[int, int], ...]]:
    """Title, date and the spans of the original that are the article."""
    lines = _lines(original)
    if not lines:
        return "", None, ()
    lines = lines[: _tail_cut(lines)]
    keep = [not _CHROME.match(ln.text) for ln in lines]
    # Trailing stubs ("Loading", a lone label): a real article does not end on a few unpunctuated words.
    i = len(lines) - 1
    while i > 0 and _words(lines[i].text) <= 3 and not _is_sentence(lines[i].text):
        keep[i] = False
        i -= 1
    head = [j for j, k in enumerate(keep) if k]
    date = None
    # A rubric label ("International") stands above the title: one or two words, then a real line.
    if len(head) > 1 and _words(lines[head[0]].text) <= 2 and not _is_sentence(lines[head[0]].text):
        if _words(lines[head[1]].text) >= 4:
            keep[head[0]] = False
            head = head[1:]
    for j in head[:6]:
        found = _date_line(lines[j])
        if found:
            date = date or found
            keep[j] = False
    kept = [ln for ln, k in zip(lines, keep, strict=True) if k]
    if not kept:
        return "", date, ()
    title = kept[0].text
    if date is None:  # a date in the opening lines of text, as a last resort
        date = next((d for ln in kept[:3] if (d := _date_line(ln))), None)
    # Merge consecutive kept lines into runs: a run is never interrupted by removed text.
    segments: list[tuple[int, int]] = []
    run_start = run_end = None
    for ln, k in zip(lines, keep, strict=True):
        if k:
            run_start = ln.start if run_start is None else run_start
            run_end = ln.end
        elif run_start is not None and run_end is not None:
            segments.append((run_start, run_end))
            run_start = run_end = None
    if run_start is not None and run_end is not None:
        segments.append((run_start, run_end))
    return title, date, tuple(segments)


def decode(data: bytes, name: str, max_bytes: int) -> str:
    """UTF-8 text of a file, or an InputError saying why it cannot be read as an article."""
    if len(data) > max_bytes:
        raise InputError(f"{name}: {len(data):,} bytes, over the {max_bytes:,}-byte limit; split the file")
    if not data.strip(b" \t\r\n"):
        raise InputError(f"{name}: the file is empty")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # a UTF-16 byte order mark: text, but not in UTF-8
        raise InputError(f"{name}: UTF-16 text, not UTF-8; convert it, e.g. `iconv -f utf-16 -t utf-8`")
    if b"\x00" in data[:8192]:
        raise InputError(f"{name}: binary file (NUL bytes), not a text article")
    try:
        text = data.decode("utf-8")  # a BOM stays as U+FEFF so offsets match a plain UTF-8 read
    except UnicodeDecodeError as e:
        raise InputError(
            f"{name}: not UTF-8 (byte 0x{data[e.start]:02x} at offset {e.start}); "
            f"convert it, e.g. `iconv -f latin1 -t utf-8`"
        ) from None
    if not text.strip(_WS):
        raise InputError(f"{name}: the file is empty (only spaces and line breaks)")
    return text


def html_to_text(html: str) -> str:
    """The article text of a web page, page chrome stripped by trafilatura; title and date on top."""
    import trafilatura

    doc = trafilatura.bare_extraction(html, include_comments=False, with_metadata=True)
    body = getattr(doc, "text", None) if doc is not None else None
    if not body:
        return ""
    head = [x for x in (getattr(doc, "title", None), getattr(doc, "date", None)) if x]
    return "\n\n".join([*head, body]) + "\n"


def read_article(path: Path, source: str, max_bytes: int = 5_000_000) -> Article:
    """One file as an Article (HTML is reduced to its article text, which offsets then refer to)."""
    data = path.read_bytes()
    corpus = path.parents[len(Path(source).parts) - 1]
    meta = read_meta(corpus, source)  # what a fetched page, a feed entry or a PDF said of itself
    if path.suffix.lower() == ".pdf":  # a PDF dropped in the folder: its text layer, which offsets refer to
        if len(data) > max_bytes:
            raise InputError(f"{source}: {len(data):,} bytes, over the {max_bytes:,}-byte limit")
        extracted = pdf_article(data, source)
        original, meta = extracted.text, {**extracted.meta, **meta}
    else:
        original = decode(data, source, max_bytes)
    if path.suffix.lower() in (".html", ".htm"):
        original = html_to_text(original)
    title, date, segments = clean(original)
    if not segments:
        raise InputError(f"{source}: no article text left after cleaning")
    pages = tuple(p for p in meta.get("pages", ()) if isinstance(p, int) and 0 <= p <= len(original))
    return Article(source, original, meta.get("title") or title, date or meta.get("date"),
                   hashlib.sha256(data).hexdigest(), segments, meta.get("url"), meta.get("site"), meta.get("author"),
                   pages)


def list_files(corpus: Path) -> list[tuple[Path, str]]:
    """Article files under the corpus folder as (path, source); hidden files and links are passed over."""
    if not corpus.is_dir():
        raise CorpusError(f"corpus folder {corpus} does not exist; create it or pass --corpus DIR")
    out = []
    for path in sorted(corpus.rglob("*")):
        rel = path.relative_to(corpus)
        if any(part.startswith(".") for part in rel.parts) or path.is_symlink() or not path.is_file():
            continue
        if path.suffix.lower() in SUFFIXES:
            out.append((path, rel.as_posix()))
    return out


def read_corpus(
    corpus: Path, max_bytes: int = 5_000_000, first: Collection[str] = ()
) -> tuple[list[Article], list[tuple[str, str]], list[tuple[str, str]]]:
    """Articles of a folder, plus (source, reason) of skipped files and (duplicate, original) pairs. The
    sources in `first` (those already indexed) are read first, so that a newcomer with the same text is the
    duplicate and never takes an indexed article's place, whatever the order of their names."""
    files = sorted(list_files(corpus), key=lambda f: f[1] not in first)
    if not files:
        raise CorpusError(f"no .txt, .md or .html article in {corpus}; add some or pass --corpus DIR")
    articles: list[Article] = []
    skipped: list[tuple[str, str]] = []
    duplicates: list[tuple[str, str]] = []
    seen: dict[str, str] = {}
    for path, source in files:
        try:
            article = read_article(path, source, max_bytes)
        except (InputError, OSError) as e:
            log.warning("skipped %s", e)
            skipped.append((source, str(e)))
            continue
        if article.sha256 in seen:
            log.warning("%s is identical to %s: indexed once", source, seen[article.sha256])
            duplicates.append((source, seen[article.sha256]))
            continue
        seen[article.sha256] = source
        articles.append(article)
    if not articles:
        raise CorpusError(f"none of the {len(files)} files in {corpus} could be read: " + "; ".join(
            reason for _, reason in skipped))
    return articles, skipped, duplicates
