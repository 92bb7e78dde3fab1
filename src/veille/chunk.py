"""French sentence splitting and chunking, on spans of the original text.

A sentence ends at . ! ? or … followed by a space and a capital (or an opening quote), except after an
abbreviation ("M.", "Mme", an initial) and never inside a « quotation ». Line breaks always end one.
Numbers need no rule: "10.000" has no space after its dot, and "1 500" no dot.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator

from .types import Article, Chunk

ABBREVIATIONS = frozenset(
    "m mm mme mmes mlle mlles dr pr me mgr st ste sts av bd cf ibid op vol no art chap fig p pp "
    "gén gal col cdt lt sgt cne adj jr sr etc env approx janv févr fév avr juil sept oct nov déc "
    "mr mrs ms prof rev".split()
)
_ENDERS = ".!?…"
_CLOSERS = "»”\"')]"
_OPEN_QUOTES = "«“"
_CLOSE_QUOTES = "»”"
_WS = " \t\r\n\ufeff\u00a0\u202f\u2009"
_QUOTE_MAX = 600  # an opening quote not closed within this many characters is a typo, not a quote


def _is_abbreviation(text: str, dot: int) -> bool:
    """True when the '.' at `dot` ends an abbreviation or an initial rather than a sentence."""
    i = dot
    while i > 0 and (text[i - 1].isalpha() or text[i - 1] == "°"):
        i -= 1
    word = text[i:dot]
    if not word:
        return False
    if len(word) == 1 and word.isupper():  # an initial: "J. Biden"
        return True
    return word.lower() in ABBREVIATIONS


def _starts_sentence(ch: str) -> bool:
    return ch.isupper() or ch.isdigit() or ch in "«“\"'–—-([¿¡"


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Spans (absolute offsets into `text`) of the sentences in text[start:end], white space trimmed."""
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    s = start
    depth, opened_at = 0, 0
    i = start
    while i < end:
        ch = text[i]
        if ch in _OPEN_QUOTES:
            depth, opened_at = depth + 1, i
        elif ch in _CLOSE_QUOTES and depth:
            depth -= 1
        elif ch in "\r\n":
            spans.append((s, i))
            s, depth = i + 1, 0
        elif ch in _ENDERS:
            j = i + 1
            while j < end and (text[j] in _ENDERS or text[j] in _CLOSERS):
                j += 1
            k = j
            while k < end and text[k] in " \t\u00a0\u202f":
                k += 1
            closes_quote = any(c in _CLOSE_QUOTES for c in text[i:j])
            inside = depth > 0 and i - opened_at < _QUOTE_MAX and not closes_quote
            boundary = k > j and (k == end or _starts_sentence(text[k]) or text[k] in "\r\n")
            if boundary and not inside and not (ch == "." and j == i + 1 and _is_abbreviation(text, i)):
                spans.append((s, j))
                s, depth = k, 0
                i = k
                continue
            if closes_quote:
                depth = max(0, depth - 1)
            i = j
            continue
        i += 1
    spans.append((s, end))
    return [t for t in (_trim(text, a, b) for a, b in spans) if t[1] > t[0]]


def _trim(text: str, a: int, b: int) -> tuple[int, int]:
    while a < b and text[a] in _WS:
        a += 1
    while b > a and text[b - 1] in _WS:
        b -= 1
    return a, b


def _split_long(text: str, a: int, b: int, limit: int) -> Iterator[tuple[int, int]]:
    """Cut a sentence longer than `limit` at spaces, so no chunk outgrows the model's window."""
    while b - a > limit:
        cut = text.rfind(" ", a, a + limit)
        cut = cut if cut > a else a + limit
        yield _trim(text, a, cut)
        a = _trim(text, cut, b)[0]
    if b > a:
        yield a, b


def chunk_spans(text: str, segments: tuple[tuple[int, int], ...], max_chars: int, overlap: int) -> list[
    tuple[int, int]
]:
    """Spans of chunks: whole sentences packed up to max_chars, the last `overlap` ones repeated."""
    out: list[tuple[int, int]] = []
    for seg_start, seg_end in segments:
        sentences = [
            piece
            for a, b in sentence_spans(text, seg_start, seg_end)
            for piece in _split_long(text, a, b, max_chars * 2)
        ]
        i = 0
        while i < len(sentences):
            j = i + 1
            while j < len(sentences) and sentences[j][1] - sentences[i][0] <= max_chars:
                j += 1
            out.append((sentences[i][0], sentences[j - 1][1]))
            if j >= len(sentences):
                break
            i = max(i + 1, j - overlap)
    return out


def chunk_article(article: Article, max_chars: int, overlap: int, first_id: int) -> list[Chunk]:
    """The article's chunks, numbered from first_id; each one's text is original[start:end]."""
    pages = article.pages
    return [
        Chunk(first_id + n, article.source, a, b, article.original[a:b], article.title, article.date, article.url,
              article.site, article.author, max(1, bisect_right(pages, a)) if pages else None,
              tuple(p for p in pages[1:] if a < p < b))  # the title above page 1 counts as page 1
        for n, (a, b) in enumerate(chunk_spans(article.original, article.segments, max_chars, overlap))
    ]
