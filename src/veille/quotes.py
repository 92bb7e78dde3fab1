"""Quote lookup: where a quotation appears in the corpus, the sentence around it, and who said it.

Three tiers, tried in order until one finds something in an article body (ingest.clean): the text as
given ("exact"); the text with case, accents, quote marks, apostrophes, dashes and spacing folded away
("normalised"); word overlap with each sentence or pair of sentences, for paraphrased or misspelt quotes
("fuzzy"). The folded copy of an article keeps a map back to the original, so every span is an offset
into the file text: ``original[start:end] == text`` whatever tier found it.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator
from difflib import SequenceMatcher
from functools import cache, lru_cache
from typing import Any

from .chunk import sentence_spans
from .errors import InputError
from .ingest import clean
from .speakers import speaker_of
from .types import Answer, Citation, QuoteMatch

log = logging.getLogger(__name__)

MAX_QUOTE_CHARS = 2000
CONTEXT_CHARS = 600  # article text before a sentence handed to speaker_of, to resolve "a-t-il ajouté"
# Calibrated on the seeds (tests/test_quotes.py): reworded or misspelt quotes score 0.81-1.0, unrelated
# phrases at most 0.67 ("le président américain a parlé de la guerre"; "le budget de la défense française"
# 0.47). A phrase whose content words all stand in one sentence passes, as a paraphrase would. Both the
# weighted word overlap alone and the final score must reach it.
FUZZY_THRESHOLD = 0.75
TOKEN_SIMILARITY = 0.8  # difflib ratio from which two words of 5+ letters count as one word misspelt
STOP_WEIGHT = 0.2  # function words count, but too little to make a match on their own
_TIERS = {"exact": 0, "normalised": 1, "fuzzy": 2}
_FOLDS = {**dict.fromkeys("'’‘`´ʼ′", "'"), **dict.fromkeys("-–—‐‑‒−", "-"),
          **dict.fromkeys("«»“”„‟\"‹›\ufeff\u200b\u200c\u200d\u00ad", "")}  # quote marks, invisibles: dropped
_STRIP = " \t\r\n\u00a0\u202f\u2009«»“”„\"'‘’‹›"
_WORD = re.compile(r"\w+")
_SPECIAL = re.compile(r'[^\x00-\x7f]|"')  # the only characters that may fold to other than one character
_SPACES = re.compile(r"^ +| {2,}")
_STOP = frozenset(
    "le la les l un une des de du d et ou a au aux en dans sur pour par avec sans ce cet cette ces c est sont "
    "ete etre qui que qu ne pas n se s y il elle ils elles on nous vous je j me m te t lui leur leurs son sa "
    "ses notre nos votre vos mon ma mes ont avait plus tres mais donc car tout tous the of and to in is it".split()
)
_TABLE: dict[int, str] = {}  # str.translate table of _fold, filled as characters are met


@cache
def _fold(ch: str) -> str:
    """What one character becomes in the normalised text ("" when it should not count)."""
    if ch in _FOLDS or ch.isspace():
        return _FOLDS.get(ch, " ")
    bare = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c)).casefold()
    # Fold what the decomposition gave too ("＂" -> '"' -> ""), so folding a folded text changes nothing.
    return "".join(c if c == ch else _fold(c) for c in bare.replace("œ", "oe").replace("æ", "ae"))


@lru_cache(maxsize=2048)
def _normalise(text: str) -> tuple[str, array]:
    """The folded text, and for each of its characters the offset in `text` it comes from.

    Cached on the text itself: a session folds each article once, and an edited file is a new key. Runs
    of characters that fold one-to-one are translated whole; only the others are handled one by one.
    """
    _TABLE.update((ord(c), _fold(c)) for c in set(text) if ord(c) not in _TABLE)
    parts: list[str] = []
    starts, prev = array("i"), 0
    for m in _SPECIAL.finditer(text):
        j, f = m.start(), _fold(m.group())
        if len(f) != 1:
            parts += (text[prev:j], f)
            starts.extend(range(prev, j))
            starts.extend([j] * len(f))
            prev = j + 1
    parts.append(text[prev:])
    starts.extend(range(prev, len(text)))
    flat, out, keep, prev = "".join(parts).translate(_TABLE), [], array("i"), 0
    for m in _SPACES.finditer(flat):  # one space for any run, so "« x »" and "«x»" read alike
        cut = m.start() + (m.start() > 0)
        out.append(flat[prev:cut])
        keep.extend(starts[prev:cut])
        prev = m.end()
    out.append(flat[prev:])
    keep.extend(starts[prev:])
    return "".join(out), keep


@lru_cache(maxsize=2048)
def _layout(original: str) -> tuple[tuple[tuple[int, int], ...], tuple[tuple[int, int, int], ...]]:
    """The body segments, and the sentences in them as (start, end, segment number)."""
    segments = clean(original)[2]
    return segments, tuple((a, b, n) for n, (s, e) in enumerate(segments) for a, b in sentence_spans(original, s, e))


@lru_cache(maxsize=2048)
def _vocab(original: str) -> frozenset[str]:
    return frozenset(_WORD.findall(_normalise(original)[0]))


def _end(original: str, starts: array, b: int) -> int:
    """Original offset after folded character b-1, taking in the accents that decomposed text puts after it."""
    end = starts[b - 1] + 1
    while end < len(original) and unicodedata.combining(original[end]):
        end += 1
    return end


def _occurrences(haystack: str, needle: str) -> Iterator[tuple[int, int]]:
    """Where needle stands in haystack, never starting or ending inside a word ("pays" in "paysage")."""
    i = haystack.find(needle)
    while i >= 0:
        b = i + len(needle)
        if (i == 0 or not (haystack[i - 1].isalnum() and needle[0].isalnum())) and (
                b == len(haystack) or not (haystack[b].isalnum() and needle[-1].isalnum())):
            yield i, b
        i = haystack.find(needle, i + 1)


def _placed(original: str, a: int, b: int) -> tuple[int, int] | None:
    """The span of the sentences [a, b) touches, or None when it is not inside the article body."""
    segments, sentences = _layout(original)
    if not any(s <= a and b <= e for s, e in segments):
        return None
    touched = [(s, e) for s, e, _ in sentences if s < b and a < e]
    return (touched[0][0], touched[-1][1]) if touched else (a, b)


def _fuzzy(original: str, qnorm: str, weights: dict[str, float],
           equiv: dict[str, tuple[str, float]]) -> Iterator[tuple[float, int, int]]:
    """(score, start, end) of the stretch of each window of 1-2 sentences that reads like the quote."""
    (folded, starts), sents, total = _normalise(original), _layout(original)[1], sum(weights.values())
    toks = [[(equiv.get(m.group()), m.start(), m.end())
             for m in _WORD.finditer(folded, bisect_left(starts, s), bisect_left(starts, e))] for s, e, _ in sents]
    for i in range(len(sents)):
        for last in (i, i + 1) if i + 1 < len(sents) and sents[i + 1][2] == sents[i][2] else (i,):
            words = [t for k in range(i, last + 1) for t in toks[k]]
            best: dict[str, float] = {}
            for key, _, _ in words:
                if key:
                    best[key[0]] = max(best.get(key[0], 0.0), key[1])
            recall = sum(weights[q] * sim for q, sim in best.items()) / total
            content = [j for j, (key, _, _) in enumerate(words) if key and weights[key[0]] == 1.0]
            if recall < FUZZY_THRESHOLD or not content:
                continue
            lo = content[0]
            while lo > 0 and words[lo - 1][0]:  # take in the function words that open the quote ("Il ne")
                lo -= 1
            a, b = words[lo][1], words[content[-1]][2]
            score = 0.8 * recall + 0.2 * SequenceMatcher(None, qnorm, folded[a:b], autojunk=False).ratio()
            if score >= FUZZY_THRESHOLD:  # mostly which words, a little in what order
                yield score, starts[a], _end(original, starts, b)


def _search(texts: list[str], quote: str) -> list[tuple[str, float, int, int, int, int, int]]:
    """(kind, score, article number, start, end, sentence start, sentence end) from the first tier that
    finds anything in an article body."""
    def placed(kind: str, hits: Iterable[tuple[float, int, int, int]]) -> list:
        return [(kind, sc, n, a, b, *where) for sc, n, a, b in hits if (where := _placed(texts[n], a, b))]

    found = placed("exact", ((1.0, n, a, b) for n, t in enumerate(texts) for a, b in _occurrences(t, quote)))
    if found or not (qnorm := _normalise(quote)[0].strip()):
        return found
    folded = [_normalise(t) for t in texts]
    found = placed("normalised", ((1.0, n, s[a], _end(texts[n], s, b))
                                  for n, (f, s) in enumerate(folded) for a, b in _occurrences(f, qnorm)))
    words = _WORD.findall(qnorm)
    if found or len(words) < 3 or all(w in _STOP for w in words):
        return found  # two words are no quotation to paraphrase: fuzzy would match half the corpus
    weights = {w: STOP_WEIGHT if w in _STOP or len(w) < 3 else 1.0 for w in words}
    vocab = set().union(*map(_vocab, texts))
    equiv = {q: (q, 1.0) for q in weights if q in vocab}  # corpus word -> (query word it stands for, similarity)
    for q in (q for q in weights if len(q) >= 5 and weights[q] == 1.0):
        for v in (v for v in vocab if v[0] == q[0] and abs(len(v) - len(q)) <= 2 and v not in equiv):
            if (r := SequenceMatcher(None, q, v).ratio()) >= TOKEN_SIMILARITY:
                equiv[v] = (q, r)
    need = FUZZY_THRESHOLD * sum(weights.values())  # articles without enough of the words are skipped whole
    return placed("fuzzy", ((sc, n, a, b) for n, t in enumerate(texts)
                            if sum(weights[equiv[v][0]] for v in _vocab(t) & equiv.keys()) >= need
                            for sc, a, b in _fuzzy(t, qnorm, weights, equiv)))


def _check(text: str) -> str:
    quote = text.strip(_STRIP) if isinstance(text, str) else ""
    if not quote:
        raise InputError("collez une citation à rechercher / paste a quotation to look up")
    if len(text) > MAX_QUOTE_CHARS:
        raise InputError(f"citation trop longue ({len(text)} caractères, maximum {MAX_QUOTE_CHARS}) / "
                         f"quotation too long: paste at most {MAX_QUOTE_CHARS} characters")
    return quote


def find_in_articles(articles: Iterable[tuple[Any, ...]], text: str,
                     limit: int = 10) -> list[QuoteMatch]:
    """Where the quotation appears in (source, original_text, title, date[, metadata]) articles, best first;
    the metadata ({"url", "site", "author", "pages"}, any of them) is carried into the matches."""
    quote, arts = _check(text), list(articles)
    found = sorted(_search([a[1] for a in arts], quote), key=lambda m: (_TIERS[m[0]], -m[1], m[2], m[4] - m[3], m[3]))
    out: list[QuoteMatch] = []
    kept: list[tuple[int, int, int]] = []
    for kind, score, n, a, b, ss, se in found:
        if len(out) >= limit:
            break
        if any(n == k and a < kb and ka < b for k, ka, kb in kept):
            continue  # an overlapping, better match in the same article is already in
        kept.append((n, a, b))
        src, orig, title, date = arts[n][:4]
        meta: dict[str, Any] = arts[n][4] if len(arts[n]) > 4 else {}
        speaker = speaker_of(orig[ss:se], orig[max(0, ss - CONTEXT_CHARS) : ss])
        page = max(1, bisect_right(meta["pages"], ss)) if meta.get("pages") else None
        out.append(QuoteMatch(src, title, a, b, orig[a:b], ss, se, orig[ss:se], speaker, kind, round(score, 4), date,
                              meta.get("url"), meta.get("site"), meta.get("author"), page))
    log.debug("quote %r: %d match(es)", quote[:60], len(out))
    return out


def check_quote(text: str) -> str:
    """The quotation as searched, or the error saying why it cannot be (before any article is read)."""
    return _check(text)


def quote_answer(question: str, m: QuoteMatch, start: int, end: int, passage: str) -> Answer:
    """« Qui a dit … ? »: who the article says spoke the words, citing the passage start:end around them."""
    citation = Citation(1, m.source, m.title, m.date, start, end, passage, m.score,
                        max(start, m.sentence_start), min(end, m.sentence_end), url=m.url, site=m.site,
                        author=m.author, page=m.page)
    who = f"{m.speaker} l'a dit" if m.speaker else "L'article ne dit pas qui l'a dit"
    return Answer(question, f"{who} : « {citation.quote} » [1]", (citation,), short=m.speaker)


# -- Questions that are quote lookups: "qui a dit « ... » ?", "who said 'x'", "où apparaît « ... »".
_ASK = re.compile(
    r"\b(?:qui\s+(?:a|avait)\s+(?:dit|déclaré|affirmé|écrit|prononcé|lancé)|qui\s+(?:dit|déclare|affirme)"
    r"|who\s+(?:said|wrote|says)|o[uù]\s+(?:appara[iî]t|figure|trouve-t-on|lit-on)|d['’]o[uù]\s+vient"
    r"|dans\s+quel\s+article|where\s+(?:does|did|is)|citation)", re.IGNORECASE)
_QUOTED = re.compile(r"«\s*(.+?)\s*»|“(.+?)”|\"(.+?)\"|(?<!\w)['‘](.+?)['’](?!\w)", re.DOTALL)
_UNQUOTED = re.compile(r"(?:qui\s+a\s+(?:dit|déclaré)|who\s+said|(?:la|cette)\s+citation)\s*:?\s+"
                       r"(?:qu(?:e\s+|['’]))?(.+)", re.IGNORECASE | re.DOTALL)


def quote_from_question(question: str) -> str | None:
    """The quotation a question asks about ("qui a dit « C'est notre affaire » ?"), else None."""
    if not question or not _ASK.search(question):
        return None
    m = _QUOTED.search(question)
    text = next(g for g in m.groups() if g) if m else (u.group(1) if (u := _UNQUOTED.search(question)) else "")
    return text.strip(_STRIP + "?!.;:") or None
