"""Whether to answer at all: the articles may simply not say.

A question whose article is missing still gets candidates (the nearest passages always exist); what
gives it away is how weakly they match: a low best score and a thin lead over the rest, question words
that no passage holds or that the corpus never uses, a passage far from the question in meaning. A
logistic model over those numbers, fitted on PIAF dev by bench/fit_answer.py (answerable questions
against questions whose article was left out, weights/abstain.json), gives the probability that the
question is answerable; under the threshold chosen there (the most refusals of missing questions while
refusing at most 5% of answerable ones), veille says it does not know. One rule comes first, kept
because it measured well on dev: when over half the question's weighted words appear nowhere in the
corpus, it refuses (0.5% of answerable dev questions, 9% of missing ones; the model alone weighs that
signal too lightly against a passage on the same subject).

The names the question writes with a capital (« En quelle année Claude Bernard … ») say most plainly
what it is about: the share of them the evidence's passage lacks is one of the model's numbers (on dev
held out by article, it refuses 0.703 of missing questions at 5% of answerable ones refused, against
0.676 without it; on PIAF test, 0.661 against 0.636; docs/BENCHMARKS.md).
"""

from __future__ import annotations

import re

from .evidence import Candidate, Question, load_model
from .keyword import tokenize
from .terms import Vocabulary, coverage
from .types import Hit

FEATURES = ("best_score", "best_share", "margin", "best_lexical", "best_support", "best_kind_ok", "hits_coverage",
            "unknown_share", "top_dense", "top_keyword_found", "english", "rarest_missing", "rarest_missing_all",
            "names_missing")
# A capitalised word that does not open the question or a sentence of it: a name, mostly.
_NAME = re.compile(r"(?<![.?!] )(?<!^)\b[A-ZÀ-Ý][\w'’-]+")


def features(q: Question, cands: list[Candidate], hits: list[Hit], vocabulary: Vocabulary) -> dict[str, float]:
    best = cands[0] if cands else None
    every = set().union(*(set(tokenize(f"{h.chunk.title} {h.chunk.text}")) for h in hits)) if hits else set()
    total = sum(q.weights.values()) or 1.0
    unknown = sum(w for (stem, skel), w in q.weights.items()
                  if not (vocabulary.frequency(stem) or vocabulary.frequency(skel)))
    passage = best.tokens | best.passage if best else set()
    rarest = max(q.weights, key=q.weights.__getitem__) if q.weights else None
    names = [t for m in _NAME.finditer(q.text.strip()) for t in tokenize(m.group()) if not t.startswith("~")]
    return {
        # the question's rarest word, which says what it is about, absent from the evidence's passage
        "rarest_missing": float(rarest is not None and not {*rarest} & passage),
        "rarest_missing_all": float(rarest is not None and not {*rarest} & every),
        "names_missing": sum(t not in passage for t in names) / len(names) if names else 0.0,
        "best_score": best.score if best else -10.0,
        "best_share": best.share if best else 0.0,
        "margin": best.score - cands[1].score if len(cands) > 1 and best else 0.0,
        "best_lexical": best.features["lexical"] if best else 0.0,
        "best_support": best.features["support"] if best else 0.0,
        "best_kind_ok": best.features["kind_ok"] if best else 0.0,
        "hits_coverage": coverage(q.weights, every),
        "unknown_share": unknown / total,
        "top_dense": max((h.dense for h in hits if h.dense is not None), default=0.0),
        "top_keyword_found": float(bool(hits) and hits[0].keyword is not None),
        "english": float(q.english),
    }


def answerable(q: Question, cands: list[Candidate], hits: list[Hit], vocabulary: Vocabulary) -> tuple[bool, float]:
    """(whether to answer, the model's probability that the articles answer it)."""
    if not cands:
        return False, 0.0
    model = load_model("abstain", vocabulary.model)
    f = features(q, cands, hits, vocabulary)
    import numpy as np

    p = float(model.probability(np.array([[f[n] for n in model.names]]))[0])
    if f["unknown_share"] > float(model.extra.get("max_unknown_share", 1.0)):
        return False, p  # most of what the question is about, the corpus never mentions
    return p >= float(model.extra["min_probability"]), p
