"""The short answer: the few words of the evidence that answer (a figure, a name, a date, a place).

Candidate spans are runs of up to MAX_TOKENS words of the chosen sentences that cross no punctuation.
Each gets features (its length; whether it repeats the question, which an answer rarely does; how
near it stands to the question's words; digits, years, months, capitals, the word before it) crossed
with the kind of answer asked for, and the reading probe's two scores (probe.py: how likely the embedding
model's token states say the answer starts at its first word and ends at its last); a logistic model fitted
on PIAF dev by bench/fit_answer.py (weights/short.json) picks the best. A relative day in the answer of a
« quand » question is given as its full date, read against the article's date (dates.py).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .dates import find_relative, resolve
from .evidence import LogisticModel, load_model
from .keyword import fold, tokenize
from .probe import FEATURES as PROBE_FEATURES
from .terms import KINDS, MONTHS

MAX_TOKENS = 10
ProbeSpans = Callable[[Sequence[tuple[int, int]]], "np.ndarray | None"]  # span offsets -> (spans, 2) or None
# A word (hyphens and a trailing elision kept: « l' », « aujourd' »), a number with its thousands
# separators or decimals (« 10.000 », « 1 500 », « 3,5 »), or one punctuation mark.
_TOKEN = re.compile(r"\d+(?:[.\u00a0\u202f ]\d{3})+(?:,\d+)?|\d+(?:[.,]\d+)?|\w+(?:-\w+)*['’]?|[^\w\s]")
_ARTICLES = {"le", "la", "les", "l'", "un", "une", "des", "du", "de", "d'"}
_STOPS = _ARTICLES | {"et", "ou", "à", "a", "au", "aux", "en", "dans", "par", "pour", "sur", "qui", "que", "qu'",
                      "dont", "se", "s'", "ne", "n'", "est", "sont", "son", "sa", "ses", "il", "elle", "ils",
                      "elles", "ce", "cette", "avec", "comme"}
_PREPOSITIONS = {"à", "a", "en", "au", "aux", "dans", "par", "de", "d'", "du", "des", "pour", "sur", "vers", "chez",
                 "depuis", "entre", "selon", "jusqu'", "avant", "après", "pendant", "contre", "sous"}
_COPULAS = {"est", "était", "sont", "étaient", "fut", "furent", "devient", "reste", "appelé", "appelée", "nommé",
            "nommée", "surnommé", "surnommée"}
_MONTH_RE = re.compile(rf"^(?:{MONTHS})$", re.I)
_NUMBER_WORDS = set("un une deux trois quatre cinq six sept huit neuf dix onze douze treize quatorze quinze seize "
                    "vingt "
                    "trente quarante cinquante soixante cent cents mille million millions milliard milliards "
                    "dizaine dizaines centaine centaines millier milliers douzaine moitié quart tiers".split())
_SHAPE = ("digit", "year", "month", "capital", "long", "near", "after_prep", "overlap", "numword", "starts_prep",
          "proper")
FEATURES = (
    "len1", "len2", "len3", "len4", "len5_6", "len7", "overlap", "any_overlap", "digit", "year", "month",
    "capital_share", "starts_capital", "near", "left_match", "right_match", "sentence_start", "sentence_end",
    "after_punct", "before_punct", "after_prep", "after_copula", "starts_stop", "in_parens", "position",
    "left_count", "right_count", "between", "focus_left", "focus_in", "next_stop", "after_article", "entity",
    "verb_left", "comma_in", "numword", "starts_prep", "proper", "initial_only",
    *(f"{k}:{s}" for k in KINDS for s in _SHAPE),
)


@dataclass(frozen=True)
class Token:
    text: str
    start: int  # offsets in the evidence text
    end: int
    word: bool
    stem: str  # "" for punctuation and stop words


@dataclass
class Span:
    start: int  # offsets in the evidence text
    end: int
    features: dict[str, float]
    score: float = 0.0
    words: tuple[int, int] = (0, 0)  # the answer words it holds, as a range of the text's (articles left out)


def tokens_of(text: str) -> list[Token]:
    out = []
    for m in _TOKEN.finditer(text):
        t = m.group()
        word = t[0].isalnum()
        toks = tokenize(t) if word and fold(t) not in _STOPS else []
        out.append(Token(t, m.start(), m.end(), word, toks[0] if toks else ""))
    return out


_VERB_END = re.compile(r"(?:é|ée|és|ées|ait|aient|a|ont|it|irent|èrent|ent|er|ir)$")


def spans(text: str, question_stems: set[str], kind: str, focus: frozenset[str] = frozenset()) -> list[Span]:
    """Every candidate span of the text with its features."""
    toks = tokens_of(text)
    # how many answer words (as SQuAD's F1 counts them: no article, no punctuation) come before each token
    counted = [0]
    for t in toks:
        counted.append(counted[-1] + (t.word and fold(t.text) not in _ARTICLES))
    matched = [i for i, t in enumerate(toks) if t.stem and t.stem in question_stems]
    focus_at = [i for i, t in enumerate(toks) if t.stem and t.stem in focus]
    out = []
    n = len(toks)
    for i in range(n):
        if not toks[i].word or fold(toks[i].text) in _ARTICLES:
            continue
        for j in range(i, min(n, i + MAX_TOKENS)):
            if not toks[j].word and not (toks[j].text == "," and j + 1 < n and toks[j + 1].word):
                break
            if not toks[j].word or fold(toks[j].text) in _STOPS:
                continue
            f = _features(toks, i, j, matched, question_stems, kind)
            f["focus_left"] = float(any(0 < i - m <= 3 for m in focus_at))
            f["focus_in"] = float(any(i <= m <= j for m in focus_at))
            out.append(Span(toks[i].start, toks[j].end, f, words=(counted[i], counted[j + 1])))
    return out


def _features(toks: list[Token], i: int, j: int, matched: list[int], stems: set[str], kind: str) -> dict[str, float]:
    words = [t for t in toks[i : j + 1] if t.word]
    length = len(words)
    content = [t for t in words if t.stem]
    overlap = sum(t.stem in stems for t in content) / len(content) if content else 0.0
    outside = [m for m in matched if m < i or m > j]
    near = min((i - m if m < i else m - j for m in outside), default=99)
    prev = fold(toks[i - 1].text) if i > 0 else ""
    nxt = toks[j + 1].text if j + 1 < len(toks) else ""
    capitals = sum(t.text[0].isupper() for t in words) / length
    f = {
        "len1": float(length == 1), "len2": float(length == 2), "len3": float(length == 3),
        "len4": float(length == 4), "len5_6": float(5 <= length <= 6), "len7": float(length >= 7),
        "overlap": overlap, "any_overlap": float(overlap > 0),
        "digit": float(any(t.text[0].isdigit() for t in words)),
        "year": float(any(re.fullmatch(r"1\d{3}|20\d\d", t.text) for t in words)),
        "month": float(any(_MONTH_RE.match(t.text) for t in words)),
        "capital_share": capitals, "starts_capital": float(words[0].text[0].isupper()),
        "near": 1.0 / (1.0 + near),
        "left_match": float(any(0 < i - m <= 3 for m in outside)),
        "right_match": float(any(0 < m - j <= 3 for m in outside)),
        "sentence_start": float(i == 0), "sentence_end": float(j + 1 >= len(toks) or nxt in ".!?…"),
        "after_punct": float(i > 0 and not toks[i - 1].word), "before_punct": float(bool(nxt) and not nxt[0].isalnum()),
        "after_prep": float(prev in _PREPOSITIONS), "after_copula": float(prev in _COPULAS),
        "starts_stop": float(fold(words[0].text) in _STOPS),
        "in_parens": float(prev == "(" and nxt == ")"),
        "position": math.log1p(i),
        "left_count": sum(0 < i - m <= 6 for m in outside) / 3.0,
        "right_count": sum(0 < m - j <= 6 for m in outside) / 3.0,
        "between": float(any(m < i for m in outside) and any(m > j for m in outside)),
        "next_stop": float(j + 1 < len(toks) and fold(nxt) in _STOPS),
        "after_article": float(prev in _ARTICLES),
        "entity": float(all(t.text[0].isupper() or t.text[0].isdigit() for t in words)
                        and not (i > 0 and toks[i - 1].text[0].isupper() and toks[i - 1].word)
                        and not (j + 1 < len(toks) and nxt[:1].isupper())),
        "verb_left": float(i > 0 and bool(_VERB_END.search(prev)) and prev not in _STOPS),
        "comma_in": float(any(t.text == "," for t in toks[i:j + 1])),
        "numword": float(any(fold(t.text) in _NUMBER_WORDS for t in words)),
        "starts_prep": float(fold(words[0].text) in _PREPOSITIONS),
        # capitals that are names, not the capital every sentence starts with
        "proper": sum(t.text[0].isupper() for t in words[1:]) / length
        + float(words[0].text[0].isupper() and i > 0 and toks[i - 1].text not in ".!?«\"“") / length,
        "initial_only": float(i == 0 and words[0].text[0].isupper()
                              and not any(t.text[0].isupper() for t in words[1:])),
    }
    shape = {"digit": f["digit"], "year": f["year"], "month": f["month"], "capital": capitals,
             "long": float(length >= 4), "near": f["near"], "after_prep": f["after_prep"], "overlap": overlap,
             "numword": f["numword"], "starts_prep": f["starts_prep"], "proper": f["proper"]}
    for k in KINDS:
        for s in _SHAPE:
            f[f"{k}:{s}"] = shape[s] if k == kind else 0.0
    return f


def best_span(text: str, question_stems: set[str], kind: str, focus: frozenset[str] = frozenset(),
              model: LogisticModel | None = None, probe: ProbeSpans | None = None) -> Span | None:
    """The span of the evidence text most likely to be the answer, or None if it has no word.

    `probe` gives the reading probe's two scores for each span (probe.py), or None; without them (no token
    states, no probe for the model) they take their mean and count for nothing.
    With the fitted temperature (weights/short.json's "mbr_temperature"), the span chosen is the one of
    highest expected F1 against the model's distribution over spans, not the single likeliest span: when
    the model hesitates between « Paris », « à Paris » and « Paris en 1889 », the words they share win."""
    model = model or load_model("short")
    cands = spans(text, question_stems, kind, focus)
    if not cands:
        return None
    if PROBE_FEATURES[0] in model.names:
        read = probe([(s.start, s.end) for s in cands]) if probe else None
        neutral = [model.mean[model.names.index(n)] for n in PROBE_FEATURES]
        for n, s in enumerate(cands):
            s.features.update(zip(PROBE_FEATURES, read[n] if read is not None else neutral, strict=True))
    x = np.array([[s.features[n] for n in model.names] for s in cands], dtype=np.float64)
    z = model.score(x)
    for s, v in zip(cands, z, strict=True):
        s.score = float(v)
    temperature = float(model.extra.get("mbr_temperature", 0.0))
    if temperature <= 0:
        return max(cands, key=lambda s: (s.score, -(s.end - s.start)))
    gain = expected_f1(cands, z, temperature)
    return cands[int(np.argmax(gain))]


def expected_f1(cands: list[Span], scores: np.ndarray, temperature: float) -> np.ndarray:
    """Each span's F1 against every other, weighted by the softmax of their scores at the temperature."""
    a = np.array([s.words[0] for s in cands])
    b = np.array([s.words[1] for s in cands])
    shared = np.clip(np.minimum(b[:, None], b[None, :]) - np.maximum(a[:, None], a[None, :]), 0, None)
    sizes = (b - a)[:, None] + (b - a)[None, :]
    f1 = 2.0 * shared / np.maximum(sizes, 1)
    p = np.exp((scores - scores.max()) / temperature)
    return f1 @ (p / p.sum())


def as_date(text: str, span: Span, article_date: str | None) -> tuple[str, int, int] | None:
    """The span's relative day (or the one nearest it in the text) as a full date, with the offsets of
    the words it reads in the text; None when the text has none or the article no date."""
    found = find_relative(text)
    if not found or not article_date:
        return None
    a, b, phrase = min(found, key=lambda t: (0 if t[0] < span.end and span.start < t[1] else 1,
                                             abs(t[0] - span.start)))
    if not (a < span.end and span.start < b) and (span.features["year"] or span.features["month"]):
        return None  # the span is a date already; a day named elsewhere in the sentence is another one
    resolved = resolve(phrase, article_date)
    return (resolved, a, b) if resolved else None
