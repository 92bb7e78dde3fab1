"""Extractive answers: pick the sentence or two that answer the question, quote them, cite them.

No language model writes anything here. A sentence earns its place by sharing the question's specific
words (weighted by rarity, names first), by holding the kind of thing asked for (a number for
« combien », a person for « qui », a date for « quand », a place for « où »), and by standing in a
passage that retrieval ranked high. Sentences are not embedded one by one: that cost a second a
question, and word coverage decides better whether the answer is there. When even the best sentence
misses the question's rare words, veille says it does not know instead of quoting something nearby.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from .chunk import sentence_spans
from .keyword import fold, normalise_numbers, tokenize, words
from .retrieve import check_query
from .types import Answer, Citation, Hit

if TYPE_CHECKING:
    from .index import Index
    from .keyword import KeywordIndex

REFUSAL = "Je ne trouve pas cette information dans les articles indexés."
DIVERGENCE = "Les sources divergent :"
# Calibrated on tests/golden.jsonl with bench/answer_features.py: answerable French questions score at
# least 0.53 (sentence) and 0.55 (passage), unanswerable ones at most 0.27 and 0.39; the thresholds sit in
# that gap. English questions match only on names, so they also need the passage to be close in meaning:
# answerable ones scored 0.79-0.85, "What is the population of Japan?" 0.755.
MIN_COVERAGE = 0.45
MIN_SUPPORT = 0.5
MIN_DENSE_ENGLISH = 0.78
_KINDS = {
    "number": re.compile(r"\b(?:combien|how (?:many|much)|quel (?:nombre|montant|chiffre)|nombre de)\b", re.I),
    "person": re.compile(r"\b(?:qui|who|quel (?:responsable|dirigeant|ministre|président))\b", re.I),
    "date": re.compile(r"\b(?:quand|when|quel jour|quelle date|en quelle année|what (?:day|date))\b", re.I),
    "place": re.compile(r"(?:\boù\b|\bou (?:sont|se|est|ont)\b|\bwhere\b|\bdans quelle (?:région|ville)\b)", re.I),
}
_NUMBER = re.compile(r"\d|\b(?:millier|milliers|million|millions|milliard|centaines|dizaines)\b", re.I)
_DATE = re.compile(
    r"\b(?:lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche|janvier|février|mars|avril|mai|juin|juillet|"
    r"août|septembre|octobre|novembre|décembre|semaine|mois|année|hier|aujourd|(?:19|20)\d\d)\b", re.I)
_PLACE = re.compile(r"\b(?:à|en|au|aux|dans|vers|depuis|de la région de|région de)\s+(?:l['’]|la |le )?[A-ZÉ]\w+")
_PERSON = re.compile(r"(?:\b(?:M\.|Mme|président|ministre|secrétaire|porte-parole|chef)\s+)?"
                     r"\b[A-ZÉ][a-zéèëïöüç]+(?:[- ](?:[A-ZÉ][a-zéèëïöüç]+|von|der|de|al))*\s[A-ZÉ][a-zéèëïöüç]+")
_FOLLOW_UP = re.compile(r"^\s*(?:et|and|mais|puis|ou|what about|and what about)\b[\s,]*", re.I)
_SELON = re.compile(r"\b(?:selon|d['’]après|according to)\s+([A-ZÉ][\w-]+)")
_FIGURE = re.compile(r"\d[\d .]*\d|\d")
_STRUCTURE = {t for t in tokenize("selon dit déclaré affirmé indiqué article articles source sources") if t[0] != "~"}
_CACHE: dict[int, tuple[object, dict[tuple[str, int], list[str]]]] = {}
_ENGLISH = set("how many much who what which where when the is are of did does according was were said".split())


@dataclass
class _Candidate:
    hit: Hit
    start: int  # sentence span, file offsets
    end: int
    text: str
    lexical: float = 0.0  # share of the question's term weight found in the sentence
    support: float = 0.0  # share found in the sentence's whole passage
    dense: float = 0.0
    kind_ok: bool = True
    score: float = 0.0


def question_kind(question: str) -> str | None:
    for kind, pattern in _KINDS.items():
        if pattern.search(question):
            return kind
    return None


def _has_kind(sentence: str, kind: str | None) -> bool:
    """Whether the sentence holds the kind of thing asked for (any sentence does when none is asked)."""
    pattern = {"number": _NUMBER, "date": _DATE, "place": _PLACE, "person": _PERSON}.get(kind or "")
    return pattern is None or bool(pattern.search(normalise_numbers(sentence) if kind == "number" else sentence))


def is_english(question: str) -> bool:
    """Two or more English function words: a question asked in English."""
    return len(set(re.findall(r"[a-z]+", question.lower())) & _ENGLISH) >= 2


def _vocabulary(index: Index) -> tuple[KeywordIndex, dict[tuple[str, int], list[str]]]:
    """The keyword index (chunk frequency of every token), and the corpus's words bucketed by (first
    letter, length), bucketed once per loaded index."""
    state = index._state
    cached = _CACHE.get(id(state))
    if cached is None or cached[0] is not state:
        buckets: dict[tuple[str, int], list[str]] = {}
        for f in state.keyword.spelled:
            buckets.setdefault((f[0], len(f)), []).append(f)
        _CACHE.clear()
        cached = _CACHE[id(state)] = (state, buckets)
    return state.keyword, cached[1]


def _correct(word: str, buckets: dict[tuple[str, int], list[str]]) -> str:
    """A word the corpus never uses, replaced by the corpus word it is most likely a misspelling of."""
    f = fold(word)
    if len(f) < 5 or f.isdigit():
        return word
    pool = [w for n in range(len(f) - 2, len(f) + 3) for w in buckets.get((f[0], n), ())]
    best = difflib.get_close_matches(f, pool, n=1, cutoff=0.8)
    return best[0] if best else word


def _term_weights(index: Index, question: str) -> dict[tuple[str, str], float]:
    """Question words (stem, skeleton) with IDF weights. A French word the corpus never uses weighs the
    most: it is what the question is about and nothing here speaks of it. In an English question such
    a word is just English, so it weighs nothing and the names carry the match."""
    keyword, buckets = _vocabulary(index)
    n_docs = max(1, len(index.chunks))
    english = is_english(question)
    weights: dict[tuple[str, str], float] = {}
    for w in words(question):
        toks = tokenize(w)
        if not toks or toks[0] in _STRUCTURE:
            continue
        stem, skel = toks[0], toks[-1]
        if not (keyword.frequency(stem) or keyword.frequency(skel)):
            fixed = tokenize(_correct(w, buckets))
            if fixed and (keyword.frequency(fixed[0]) or keyword.frequency(fixed[-1])):
                stem, skel = fixed[0], fixed[-1]
        freq = max(keyword.frequency(stem), keyword.frequency(skel))
        if freq == 0 and english:
            continue
        weights[(stem, skel)] = math.log(1 + n_docs / (1 + freq))
    return weights


def _coverage(weights: dict[tuple[str, str], float], tokens: set[str]) -> float:
    """Weighted share of the question's words present, by stem or by spelling skeleton."""
    total = sum(weights.values())
    got = sum(w for (stem, skel), w in weights.items() if stem in tokens or skel in tokens)
    return got / total if total else 0.0


def _candidates(hits: list[Hit]) -> list[_Candidate]:
    """The sentences of the passages, each once (overlapping chunks repeat a sentence: the higher-ranked
    passage keeps it)."""
    out = []
    seen: set[tuple[str, int]] = set()
    for h in hits:
        c = h.chunk
        for a, b in sentence_spans(c.text):
            if b - a >= 15 and (c.source, c.start + a) not in seen:
                seen.add((c.source, c.start + a))
                out.append(_Candidate(h, c.start + a, c.start + b, c.text[a:b]))
    return out


def _figures(text: str) -> set[str]:
    return {re.sub(r"\D", "", f) for f in _FIGURE.findall(normalise_numbers(text)) if len(re.sub(r"\D", "", f)) >= 3}


def _cite(n: int, cand: _Candidate) -> Citation:
    c = cand.hit.chunk
    return Citation(n, c.source, c.title, c.date, c.start, c.end, c.text, cand.hit.score, cand.start, cand.end)


def _closest(hits: list[Hit]) -> tuple[Citation, ...]:
    out = []
    for n, h in enumerate(hits[:3], 1):
        spans = sentence_spans(h.chunk.text) or [(0, len(h.chunk.text))]
        a, b = spans[0]
        out.append(Citation(n, h.chunk.source, h.chunk.title, h.chunk.date, h.chunk.start, h.chunk.end,
                            h.chunk.text, h.score, h.chunk.start + a, h.chunk.start + b))
    return tuple(out)


def score_candidates(index: Index, question: str, hits: list[Hit]) -> list[_Candidate]:
    """Every sentence of the retrieved passages, scored and sorted best first."""
    weights = _term_weights(index, question)
    kind = question_kind(question)
    top = hits[0].score if hits else 1.0
    cands = _candidates(hits)
    # Each passage's tokens once, not once per sentence of it: this runs on every question.
    passage_tokens = {h.chunk.id: set(tokenize(f"{h.chunk.title} {h.chunk.text}")) for h in hits}
    for cand in cands:
        sent_tokens = set(tokenize(cand.text))
        cand.lexical = _coverage(weights, sent_tokens)
        cand.support = _coverage(weights, sent_tokens | passage_tokens[cand.hit.chunk.id])
        cand.dense = cand.hit.dense or 0.0
        cand.kind_ok = _has_kind(cand.text, kind)
        # Rank prior: among equally matching sentences, the passage retrieval put first wins.
        cand.score = cand.lexical + (0.3 if cand.kind_ok else -0.5) + 0.3 * cand.hit.score / top
    return sorted(cands, key=lambda c: -c.score)


def _named_source(question: str) -> set[str]:
    """Tokens of the person a question attributes the figure to (« selon Blinken »), if it names one."""
    m = _SELON.search(question)
    return set(tokenize(m.group(1))) if m else set()


def _divergent(best: _Candidate, others: list[_Candidate], kind: str | None, question: str) -> _Candidate | None:
    """Another sentence giving a different figure for the same thing, if one scores close: another
    article, or another speaker in the same one (Rutte's 600 000 casualties against Zelensky's 650 000)."""
    if kind != "number" or not _figures(best.text):
        return None
    named = _named_source(question)
    for c in others:
        if (c.start, c.end) == (best.start, best.end) or not c.kind_ok:
            continue
        if c.score < best.score - 0.35 or c.lexical < best.lexical * 0.7:
            continue
        if named and not named & set(tokenize(c.text)):
            continue  # the question asks what one person said; another's figure is no contradiction
        theirs, ours = _figures(c.text), _figures(best.text)
        if theirs and not theirs & ours:
            return c
    return None


def compose(question: str, cands: list[_Candidate], hits: list[Hit]) -> Answer:
    """The answer text with its [n] markers, or the refusal with the closest passages."""
    best = cands[0] if cands else None
    if (best is None or best.support < MIN_SUPPORT or best.lexical < MIN_COVERAGE
            or (is_english(question) and best.dense < MIN_DENSE_ENGLISH)):
        return Answer(question, REFUSAL, _closest(hits), abstained=True)
    kind = question_kind(question)
    other = _divergent(best, cands[1:], kind, question)
    if other is not None:
        text = f"{DIVERGENCE} « {best.text} » [1] ; « {other.text} » [2]"
        return Answer(question, text, (_cite(1, best), _cite(2, other)))
    chosen = [best]
    # A second sentence when the first does not hold the kind of answer asked for and its neighbour does.
    if not best.kind_ok:
        nxt = next((c for c in cands[1:6] if c.kind_ok and c.lexical >= MIN_COVERAGE * 0.8), None)
        if nxt is not None:
            chosen.append(nxt)
    citations: list[Citation] = []
    parts = []
    for cand in chosen:
        n = next((c.n for c in citations if (c.source, c.start) == (cand.hit.chunk.source, cand.hit.chunk.start)
                  and (c.quote_start, c.quote_end) == (cand.start, cand.end)), None)
        if n is None:
            n = len(citations) + 1
            citations.append(_cite(n, cand))
        parts.append(f"« {cand.text} » [{n}]")
    return Answer(question, " ".join(parts), tuple(citations))


def contextualize(question: str, previous: Sequence[str]) -> str:
    """A follow-up completed from the question before it: after « combien de soldats selon Blinken ? »,
    « et selon Zelensky ? » becomes « combien de soldats selon Zelensky ? » and « quand ? » asks when.
    A question that stands on its own is returned as it is."""
    if not previous:
        return question
    content = words(question)
    if not _FOLLOW_UP.match(question) and len(content) > 2:
        return question
    base = previous[-1].strip().rstrip("?").strip()
    rest = _FOLLOW_UP.sub("", question).strip().rstrip("?").strip()
    if any(w[:1].isupper() for w in content):  # new names replace the previous question's names
        tokens = base.split()
        base = " ".join(t for i, t in enumerate(tokens) if i == 0 or not t[:1].isupper())
        base = re.sub(r"\b(?:selon|d['’]après|according to)\s*$", "", base).strip()
    if question_kind(question):  # a new kind of answer asked for replaces the previous one
        for pattern in _KINDS.values():
            base = pattern.sub(" ", base)
        return f"{rest} {base.strip()} ?"
    return f"{base} {rest} ?"


def answer_question(index: Index, question: str, history: Sequence[str] = ()) -> Answer:
    """Answer from the index: a quote lookup for « qui a dit … », otherwise extractive QA. `history`
    holds the conversation's earlier questions, so that follow-ups can lean on them."""
    from .quotes import quote_from_question

    asked = check_query(question)
    question = contextualize(asked, list(history))
    quote = quote_from_question(question)
    if quote:
        answer = answer_quote(index, question, quote)
        if answer is not None:
            return answer
    hits = index.search(question, max(index.settings.k, 6))
    answer = compose(question, score_candidates(index, question, hits), hits)
    return answer if question == asked else replace(answer, question=asked, understood=question)


def answer_quote(index: Index, question: str, quote: str) -> Answer | None:
    """« Qui a dit … ? »: where the words appear and who the article says spoke them."""
    matches = [m for m in index.cite(quote, 5) if m.kind != "fuzzy" or m.score >= 0.8]
    if not matches:
        return None
    m = matches[0]
    ids = index.manifest["articles"][m.source]["chunks"]  # the article's own chunks, not the whole index
    chunk = next((c for c in map(index.chunks.__getitem__, ids) if c.start <= m.start < c.end), None)
    start, end = (chunk.start, chunk.end) if chunk else (m.sentence_start, m.sentence_end)
    passage = index.original(m.source)[start:end]
    citation = Citation(1, m.source, m.title, m.date, start, end, passage, m.score,
                        max(start, m.sentence_start), min(end, m.sentence_end))
    who = f"{m.speaker} l'a dit" if m.speaker else "L'article ne dit pas qui l'a dit"
    text = f"{who} : « {citation.quote} » [1]"
    return Answer(question, text, (citation,))
