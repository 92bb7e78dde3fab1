"""Synthesis questions: « Résume la position de la Corée du Sud », « que sait-on de … » get up to three
sentences that speak of the topic, from different articles, each with its [n], rather than one quote or a refusal.
"""

from __future__ import annotations

import re

from .evidence import Candidate, Question, select
from .keyword import words
from .terms import Vocabulary, coverage
from .types import Answer, Citation, Hit

SYNTHESIS = "D'après les articles :"
_SYNTHESIS = re.compile(r"^\s*(?:résume[rz]?|résumé|fais le point|faites le point|synthèse|que sait-on|"
                        r"qu['’]est-ce qu['’]on sait|que disent les articles|quelle est la position|"
                        r"quelles sont les positions|quel est le point de vue)\b[\s:,]*(?:de |du |des |sur )?",
                        re.I)
_ASPECT = re.compile(r"^(?:(?:la|les|le|l['’])\s*)?(?:positions?|points? de vue|rôle|réactions?|avis|"
                     r"déclarations?)\s+(?:de la |de l['’]|du |des |de |d['’])", re.I)
SYNTHESIS_MAX = 3
SYNTHESIS_PASSAGES = 10
SYNTHESIS_MIN_COVERAGE = 0.5  # of the topic's weighted words, in each sentence quoted


def synthesis_topic(question: str) -> str | None:
    """« Résume la position de la Corée du Sud » -> « la Corée du Sud »: a question asking for a summary."""
    m = _SYNTHESIS.match(question)
    if not m:
        return None
    rest = question[m.end():].strip(" ?.!")
    rest = _ASPECT.sub("", rest).strip()  # « la position de la Corée du Sud »: what it is about is the country
    return rest if words(rest) else None


def synthesize(topic: str, hits: list[Hit], vocabulary: Vocabulary,
               cands: list[Candidate] | None = None) -> Answer | None:
    """Up to three sentences from different articles that speak of the topic, best first (`cands`: the
    evidence selection for the topic, when already made)."""
    q = Question.read(topic, vocabulary)
    chosen: list[Candidate] = []
    for cand in select(q, hits) if cands is None else cands:
        if cand.pair or coverage(q.weights, cand.tokens) < SYNTHESIS_MIN_COVERAGE:
            continue
        if all(c.hit.chunk.source != cand.hit.chunk.source for c in chosen):
            chosen.append(cand)
        if len(chosen) == SYNTHESIS_MAX:
            break
    if not chosen:
        return None
    cites = tuple(Citation.of(n, c.hit.chunk, c.hit.score, (c.start, c.end)) for n, c in enumerate(chosen, 1))
    text = f"{SYNTHESIS} " + " ".join(f"« {c.text} » [{n}]" for n, c in enumerate(chosen, 1))
    return Answer(topic, text, cites)
