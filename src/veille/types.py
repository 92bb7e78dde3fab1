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
