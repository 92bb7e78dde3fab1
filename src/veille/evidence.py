"""Evidence selection: which sentence, or pair of adjacent sentences, of the top passages answers.

Every candidate gets a few numbers (how much of the question's weighted vocabulary it holds, alone
and with its passage; how retrieval ranked its passage; whether it holds the kind of thing asked for;
its length and place) and a linear score fitted on PIAF dev by bench/fit_answer.py ranks them: fitted
listwise (the softmax over a question's candidates should land on those holding its answer), which
picks the first one better than a pointwise classifier did. The weights are a small JSON file in the
package (weights/evidence.json), written by that script and nothing else.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import numpy as np

from .chunk import sentence_spans
from .keyword import tokenize
from .terms import (
    KINDS,
    Vocabulary,
    Weights,
    coverage,
    has_kind,
    is_english,
    matched,
    new_kind,
    question_kind,
    term_weights,
)
from .types import Hit

FEATURES = (
    "lexical", "lexical_lead", "lexical_rest", "support", "lexical_gap", "matched_share", "bigrams", "new_share",
    "inv_rank", "score_ratio",
    "dense", "keyword_found", "kind_ok", "kind_new", "focus", "pair", "pair_kind_other", "position", "log_chars",
    "title_line",
    *(f"kind_ok:{k}" for k in KINDS), *(f"lexical:{k}" for k in KINDS),
)
MIN_CHARS = 15
# The noun after « quel(le)(s) » says what is asked for: « Quelle est la langue officielle … » -> langue.
FOCUS = re.compile(r"\b(?:quel|quelle|quels|quelles|lequel|laquelle)\s+(?:(?:est|sont|était|étaient|fut)\s+)?"
                    r"(?:(?:le|la|les|l['’])\s*)?(\w+)", re.I)


@dataclass
class Candidate:
    """A sentence or two adjacent sentences of a retrieved passage, with its features."""

    hit: Hit
    rank: int  # of its passage, from 1
    spans: tuple[tuple[int, int], ...]  # file offsets, one span a sentence
    text: str  # the sentences as the article writes them, file text from first start to last end
    features: dict[str, float] = field(default_factory=dict)
    tokens: set[str] = field(default_factory=set)
    lexicals: tuple[float, ...] = ()  # each sentence's own coverage of the question
    passage: set[str] = field(default_factory=set)  # tokens of its passage and the article's title
    score: float = 0.0  # the evidence model's: higher is likelier to hold the answer
    share: float = 0.0  # the softmax of the scores over the question's candidates

    @property
    def start(self) -> int:
        return self.spans[0][0]

    @property
    def end(self) -> int:
        return self.spans[-1][1]

    @property
    def pair(self) -> bool:
        return len(self.spans) > 1


@dataclass(frozen=True)
class Question:
    """The question as the answer stages read it: its weighted words and the kind of answer asked."""

    text: str
    weights: Weights
    kind: str
    bigrams: frozenset[tuple[str, str]]
    english: bool = False
    focus: frozenset[str] = frozenset()  # « Quelle ville … »: ville
    model: str = ""  # the index's embedding model: which fitted weights read its dense scores

    @property
    def stems(self) -> set[str]:
        """Every token the question's words match by: stems and spelling skeletons."""
        return {t for pair in self.weights for t in pair}

    @classmethod
    def read(cls, text: str, vocabulary: Vocabulary) -> Question:
        toks = [t for t in tokenize(text) if not t.startswith("~")]
        m = FOCUS.search(text)
        focus = frozenset(tokenize(m.group(1))) if m else frozenset()
        return cls(text, term_weights(vocabulary, text), question_kind(text),
                   frozenset(zip(toks, toks[1:], strict=False)), is_english(text), focus, vocabulary.model)


def candidates(hits: list[Hit]) -> list[Candidate]:
    """The sentences of the passages, each once (overlapping chunks repeat a sentence: the better-ranked
    passage keeps it), and each pair of adjacent sentences of a passage."""
    out: list[Candidate] = []
    seen: set[tuple[str, int]] = set()
    for rank, h in enumerate(hits, 1):
        c = h.chunk
        spans = [(c.start + a, c.start + b) for a, b in sentence_spans(c.text) if b - a >= MIN_CHARS]
        fresh = [s for s in spans if (c.source, s[0]) not in seen]
        seen.update((c.source, s[0]) for s in fresh)
        for n, s in enumerate(spans):
            if s in fresh:
                out.append(Candidate(h, rank, (s,), _slice(h, *s), {"position": n}))
            if n + 1 < len(spans) and (s in fresh or spans[n + 1] in fresh):
                pair = (s, spans[n + 1])
                out.append(Candidate(h, rank, pair, _slice(h, s[0], pair[1][1]), {"position": n}))
    return out


def _slice(hit: Hit, start: int, end: int) -> str:
    c = hit.chunk
    return c.text[start - c.start : end - c.start]


def featurize(question: Question, cands: list[Candidate]) -> None:
    """Fill every candidate's features (the same code runs at fit time and at question time)."""
    if not cands:
        return
    top = max(c.hit.score for c in cands) or 1.0
    passage_tokens: dict[int, set[str]] = {}
    n_terms = max(1, len(question.weights))
    question_stems = question.stems
    for cand in cands:
        h = cand.hit
        if h.chunk.id not in passage_tokens:
            passage_tokens[h.chunk.id] = set(tokenize(f"{h.chunk.title} {h.chunk.text}"))
        cand.passage = passage_tokens[h.chunk.id]
        toks = tokenize(cand.text)
        cand.tokens = set(toks)
        f = cand.features
        f["lexical"] = coverage(question.weights, cand.tokens)
        f["support"] = coverage(question.weights, cand.tokens | passage_tokens[h.chunk.id])
        f["matched_share"] = matched(question.weights, cand.tokens) / n_terms
        f["bigrams"] = (len(question.bigrams & set(zip(toks, toks[1:], strict=False))) / len(question.bigrams)
                        if question.bigrams else 0.0)
        f["new_share"] = len(cand.tokens - question_stems) / max(1, len(cand.tokens))
        f["inv_rank"] = 1.0 / cand.rank
        f["score_ratio"] = h.score / top
        f["dense"] = h.dense if h.dense is not None else 0.0
        f["keyword_found"] = float(h.keyword is not None)
        parts = [_slice(h, a, b) for a, b in cand.spans]
        cand.lexicals = tuple(coverage(question.weights, set(tokenize(p))) for p in parts) if cand.pair \
            else (f["lexical"],)
        f["lexical_lead"], f["lexical_rest"] = max(cand.lexicals), min(cand.lexicals)
        oks = [has_kind(p, question.kind) for p in parts]
        f["kind_ok"] = float(any(oks))
        f["kind_new"] = float(any(new_kind(p, question.kind, question.text) for p in parts))
        f["focus"] = float(bool(question.focus & cand.tokens))
        f["pair"] = float(cand.pair)
        # A pair earns its second sentence when that one holds the kind of answer the first lacks.
        f["pair_kind_other"] = float(cand.pair and oks[0] != oks[-1])
        f["position"] = math.log1p(f.get("position", 0.0))
        f["log_chars"] = math.log(max(1, len(cand.text)))
        f["title_line"] = float(cand.text.strip() == h.chunk.title.strip())
        for k in KINDS:
            f[f"kind_ok:{k}"] = f["kind_ok"] if question.kind == k else 0.0
            f[f"lexical:{k}"] = f["lexical"] if question.kind == k else 0.0
    best = max(c.features["lexical"] for c in cands)
    for cand in cands:
        cand.features["lexical_gap"] = cand.features["lexical"] - best


def matrix(cands: list[Candidate], names: tuple[str, ...] = FEATURES) -> np.ndarray:
    return np.array([[c.features[n] for n in names] for c in cands], dtype=np.float64).reshape(len(cands), len(names))


@dataclass(frozen=True)
class LogisticModel:
    """A fitted logistic regression over named features, with its standardisation."""

    names: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    extra: dict[str, Any]

    def score(self, x: np.ndarray) -> np.ndarray:
        return ((x - self.mean) / self.scale) @ self.coef + self.intercept

    def probability(self, x: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.score(x)))

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LogisticModel:
        return cls(tuple(d["features"]), np.array(d["mean"]), np.array(d["scale"]), np.array(d["coef"]),
                   float(d["intercept"]), d.get("extra", {}))


@cache
def load_model(name: str, embedding: str = "") -> LogisticModel:
    """weights/<name>.json of the package, as bench/fit_answer.py wrote it for the default embedding model
    (EmbeddingGemma); for another, weights/<model>/<name>.json (`fit_answer.py` under VEILLE_MODEL):
    cosines of another model sit on another scale, and its passages rank otherwise."""
    folder = resources.files("veille").joinpath("weights")
    own = folder.joinpath(embedding, f"{name}.json") if embedding else None
    text = (own if own is not None and own.is_file() else folder.joinpath(f"{name}.json")).read_text(encoding="utf-8")
    return LogisticModel.from_dict(json.loads(text))


def select(question: Question, hits: list[Hit], model: LogisticModel | None = None) -> list[Candidate]:
    """Every candidate of the passages with its score and share of the question's candidates, best first."""
    model = model or load_model("evidence", question.model)
    cands = candidates(hits)
    featurize(question, cands)
    if cands:
        scores = model.score(matrix(cands, model.names))
        shares = np.exp(scores - scores.max())
        shares /= shares.sum()
        for cand, z, p in zip(cands, scores, shares, strict=True):
            cand.score, cand.share = float(z), float(p)
    return sorted(cands, key=lambda c: (-c.score, c.rank, c.start))
