"""The few value types that flow between veille's stages.

Every span is a pair of character offsets into the article file as decoded from UTF-8 (BOM and CRLF
kept), so that ``original[start:end] == text`` holds wherever a span is shown to a reader.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Article:
    """One cleaned article: the original text plus the spans of it that are the article itself."""

    source: str  # path relative to the corpus folder, with "/" separators
    original: str  # the whole file, decoded, untouched
    title: str
    date: str | None  # ISO 8601 (YYYY-MM-DD or YYYY-MM-DDTHH:MM) when the text gives one
    sha256: str  # of the file's bytes: identical files share it
    segments: tuple[tuple[int, int], ...]  # kept runs of body text, in order, boilerplate between them
    # Where it came from, when its source said (a fetched page, a feed entry, a PDF): extract.py's sidecar
    url: str | None = None
    site: str | None = None
    author: str | None = None
    pages: tuple[int, ...] = ()  # a PDF's page starts, as offsets of `original` (page n starts at pages[n-1])

    @property
    def body(self) -> str:
        """The kept text, runs joined by blank lines (for display, not for offsets)."""
        return "\n\n".join(self.original[s:e] for s, e in self.segments)


@dataclass(frozen=True)
class Chunk:
    """A passage of a few sentences, the unit that is embedded and retrieved."""

    id: int
    source: str
    start: int
    end: int
    text: str
    title: str = ""
    date: str | None = None
    url: str | None = None
    site: str | None = None
    author: str | None = None
    page: int | None = None  # a PDF's page at `start`
    breaks: tuple[int, ...] = ()  # offsets inside the chunk where a next page starts

    def page_at(self, offset: int) -> int | None:
        """The PDF page an offset of this chunk is on."""
        return None if self.page is None else self.page + sum(b <= offset for b in self.breaks)

    def source_fields(self, offset: int | None = None) -> dict[str, Any]:
        """The metadata the JSON outputs carry beside source, title and date (None when unknown)."""
        return {"url": self.url, "site": self.site, "author": self.author,
                "page": self.page_at(self.start if offset is None else offset)}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk with its score (higher is better)."""

    chunk: Chunk
    score: float
    dense: float | None = None  # cosine similarity to the question, when the dense search found it
    keyword: float | None = None  # BM25 score, when the keyword search found it

    def to_dict(self) -> dict[str, Any]:
        c = self.chunk
        return {
            "source": c.source,
            "title": c.title,
            "date": c.date,
            "start": c.start,
            "end": c.end,
            "text": c.text,
            "score": round(float(self.score), 6),
            **c.source_fields(),
        }


@dataclass(frozen=True)
class Citation:
    """A numbered source of an answer: the passage, and inside it the quoted sentence."""

    n: int
    source: str
    title: str
    date: str | None
    start: int
    end: int
    text: str
    score: float
    quote_start: int  # span of the quoted sentence, in file offsets like start/end
    quote_end: int
    short_start: int | None = None  # span of the short answer, when this citation holds it
    short_end: int | None = None
    url: str | None = None  # where the article came from, when known (a page, a feed entry)
    site: str | None = None
    author: str | None = None
    page: int | None = None  # of a PDF, where the quote starts

    @classmethod
    def of(cls, n: int, chunk: Chunk, score: float, quote: tuple[int, int], short: tuple[int, int] | None = None,
           ) -> Citation:
        """The citation of a quote (file offsets) inside a chunk, with the chunk's article metadata."""
        a, b = short if short else (None, None)
        meta = chunk.source_fields(quote[0])
        return cls(n, chunk.source, chunk.title, chunk.date, chunk.start, chunk.end, chunk.text, score, quote[0],
                   quote[1], a, b, meta["url"], meta["site"], meta["author"], meta["page"])

    @property
    def quote(self) -> str:
        return self.text[self.quote_start - self.start : self.quote_end - self.start]

    @property
    def short(self) -> str | None:
        """The short answer's words as the article writes them, when this citation holds them."""
        if self.short_start is None or self.short_end is None:
            return None
        return self.text[self.short_start - self.start : self.short_end - self.start]

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["score"] = round(float(self.score), 6)
        d["quote"] = self.quote
        return d


@dataclass(frozen=True)
class Answer:
    """What `Index.ask` returns: a short French text whose [n] markers point into `citations`."""

    question: str
    text: str
    citations: tuple[Citation, ...] = ()
    abstained: bool = False
    mode: str = "extractive"
    checked: bool = True
    fallback: bool = False
    understood: str | None = None  # the question as completed from the conversation, when it was
    short: str | None = None  # the answer itself (a figure, a name, a date...), as the text opens with it

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "answer": self.text,
            "short": self.short,
            "abstained": self.abstained,
            "mode": self.mode,
            "checked": self.checked,
            "fallback": self.fallback,
            "understood": self.understood,
            "citations": [c.to_dict() for c in self.citations],
        }


@dataclass(frozen=True)
class QuoteMatch:
    """Where a quotation appears: the matched words, the sentence around them, and who said it."""

    source: str
    title: str
    start: int
    end: int
    text: str
    sentence_start: int
    sentence_end: int
    sentence: str
    speaker: str | None
    kind: str  # "exact", "normalised" or "fuzzy"
    score: float = 1.0
    date: str | None = None
    url: str | None = None
    site: str | None = None
    author: str | None = None
    page: int | None = None  # of a PDF, where the sentence starts

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class BuildReport:
    """What an index build did, so callers and tests can check it embedded only what changed."""

    added: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    unchanged: int = 0
    duplicates: tuple[tuple[str, str], ...] = ()  # (skipped source, source it duplicates)
    skipped: tuple[tuple[str, str], ...] = ()  # (source, reason)
    embedded_chunks: int = 0
    total_chunks: int = 0
    articles: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
