"""Extractive answers: the few words that answer first, then the quoted evidence with its [n].

No language model writes anything here. The evidence is the sentence (or pair of adjacent sentences)
that evidence.py's fitted model finds most likely to hold the answer; the short answer is the span of
it that short.py's model picks. When the best sentence lacks the figure, the date or the name of a role
asked for and the sentence next to it holds it, both are quoted. When even the best candidate is unlikely
(under the threshold fitted on PIAF dev: the most refusals of questions whose article is missing, at no
more than 5% of answerable ones refused), veille says it does not know instead of quoting something
nearby. « Résume… » questions get up to three sentences from different articles (synthesis.py); two
figures for the same thing, both.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from .abstain import answerable
from .chunk import sentence_spans
from .evidence import Candidate, Question, load_model, select
from .keyword import fold, normalise_numbers, words
from .probe import ReadTokens, read_spans
from .short import as_date, best_span
from .synthesis import synthesis_topic, synthesize
from .terms import KIND_RE, NOT_NAMES, Vocabulary, has_kind, named_source
from .types import Answer, Citation, Hit

REFUSAL = "Je ne trouve pas cette information dans les articles indexés."
DIVERGENCE = "Les sources divergent :"
_FOLLOW_UP = re.compile(r"^\s*(?:et|and|mais|puis|ou|what about|and what about)\b[\s,]*", re.I)
_FIGURE = re.compile(r"\d[\d .]*\d|\d")
_PART_OF = re.compile(r"(?:jusqu['’]\s?à|dont|parmi eux|parmi elles|soit)\s*$", re.I)  # « …, jusqu'à 8.000 »
_RAW_FIGURE = re.compile(r"\d(?:[.,]?\d|[\u00a0\u202f ]\d{3})*")  # a figure as the article writes it
# Two figures are a divergence when the second sentence scores within this much of the best (in the
# evidence model's logit units) and matches as much of the question. PIAF has no such questions; the
# seeds' Rutte/Zelensky casualties set e5's (tests/test_answer.py), which is why it is a hand rule. Each
# model's fitted weights have their own scale: EmbeddingGemma's gap gives the same share of false divergences
# on PIAF dev's one-answer « combien » questions as e5's 2.0 (0.18 of those answered; bench/divergence_gap.py).
DIVERGENCE_GAPS = {"multilingual-e5-small": 2.0, "embeddinggemma-300m": 2.5}
DIVERGENCE_LEXICAL = 0.7  # and holds at least this share of what the best one matches of the question
# When the evidence model gives its best sentence less than even odds against the others, the runner-up
# is quoted too, after « Voir aussi ». Not fitted: the point where the best is likelier wrong than right.
# On PIAF dev it puts a gold answer in 0.672 of the answers (0.583 with one quote), a second quote in half.
RUNNER_UP_BELOW = 0.5
ALSO = "Voir aussi :"


def figures(text: str) -> set[str]:
    return {re.sub(r"\D", "", f) for f in _FIGURE.findall(normalise_numbers(text)) if len(re.sub(r"\D", "", f)) >= 3}


def _cite(n: int, cand: Candidate, short: tuple[int, int] | None = None) -> Citation:
    return Citation.of(n, cand.hit.chunk, cand.hit.score, (cand.start, cand.end), short)


def closest(hits: list[Hit]) -> tuple[Citation, ...]:
    """What a refusal still lists: the first sentence of each of the three best passages."""
    out = []
    for n, h in enumerate(hits[:3], 1):
        spans = sentence_spans(h.chunk.text) or [(0, len(h.chunk.text))]
        a, b = spans[0]
        out.append(Citation.of(n, h.chunk, h.score, (h.chunk.start + a, h.chunk.start + b)))
    return tuple(out)


def _divergent(best: Candidate, others: list[Candidate], question: Question) -> Candidate | None:
    """Another sentence giving a different figure for the same thing, nearly as likely to answer: another
    article, or another speaker in the same one (Rutte's 600 000 casualties against Zelensky's 650 000)."""
    if question.kind != "number" or best.pair or not figures(best.text):
        return None
    named = named_source(question.text)
    ours = figures(best.text)
    for c in others[:8]:
        if c.pair or c.start < best.end and best.start < c.end and c.hit.chunk.source == best.hit.chunk.source:
            continue
        gap = DIVERGENCE_GAPS.get(question.model, 2.0)
        if c.score < best.score - gap or c.features["lexical"] < DIVERGENCE_LEXICAL * best.features["lexical"]:
            continue
        if named and not named & c.tokens:
            continue  # the question asks what one person said; another's figure is no contradiction
        theirs = figures(c.text)
        if c.features["kind_ok"] and theirs and not theirs & ours:
            return c
    return None


def next_apart(best: Candidate, others: list[Candidate]) -> Candidate | None:
    """The first of the others that does not overlap the best candidate."""
    for c in others:
        if not (c.hit.chunk.source == best.hit.chunk.source and c.start < best.end and best.start < c.end):
            return c
    return None


def runner_up(best: Candidate, others: list[Candidate]) -> Candidate | None:
    """The next candidate that does not overlap the best one, when the best is not likely enough alone."""
    return None if best.share >= RUNNER_UP_BELOW else next_apart(best, others)


def short_answer(question: Question, cand: Candidate, read: ReadTokens | None = None
                 ) -> tuple[str, tuple[int, int]] | None:
    """The answer's words (a full date for a « quand » question) and their file offsets. `read`: the
    embedder's token states, for the reading probe (probe.py); without it the span model does without."""
    model = load_model("short", question.model)

    def probe(spans: Sequence[tuple[int, int]]) -> np.ndarray | None:
        return read_spans(read, question.text, cand.text, spans, question.model) if read else None

    span = best_span(cand.text, question.stems, question.kind, question.focus, model, probe)
    if span is None:
        return None
    a, b = cand.start + span.start, cand.start + span.end
    text = cand.text[span.start : span.end]
    if question.kind == "number":  # « jusqu'à 8.000 » of « 10.000 » soldiers: the figures it gives together
        a, b, text = _with_figures(cand, span.start, span.end, int(model.extra.get("figure_reach", 0)))
    if question.kind == "date" and (day := as_date(cand.text, span, cand.hit.chunk.date)):
        text, a, b = day[0], cand.start + day[1], cand.start + day[2]
    return text, (a, b)


def _with_figures(cand: Candidate, start: int, end: int, reach: int) -> tuple[int, int, str]:
    """A figure's span widened to the figures (three digits or more) that follow it closely: « 10.000
    soldats nord-coréens qui, selon Washington, sont entrés en Russie, jusqu'à 8.000 ». On PIAF dev's 206
    « combien » questions it changes little (F1 0.277 against 0.279 without, exact match 0.117 both); the seeds'
    Blinken answer needs it. A figure given as a part of the one before it (« jusqu'à 8.000 », « dont 300 »)
    takes that one in too: with the reading probe, the Blinken answer is « 8.000 » without it; on those 206
    questions F1 is 0.372 with it and without (taking in any figure before: 0.327). `reach`: how close
    (characters), from weights/short.json."""
    for m in _RAW_FIGURE.finditer(cand.text, end):
        if m.start() - end > reach:
            break
        if len(re.sub(r"\D", "", m.group())) >= 3:
            end = m.end()
    if _PART_OF.search(cand.text[:start]):
        before = [m for m in _RAW_FIGURE.finditer(cand.text, 0, start) if len(re.sub(r"\D", "", m.group())) >= 3]
        if before and start - before[-1].end() <= reach:
            start = before[-1].start()
    return cand.start + start, cand.start + end, cand.text[start:end]


# A figure, a date or a person's name asked for that the best sentence lacks may be in the sentence next to it: the
# role in one, the name in the next (« le ministre nord-coréen des Affaires étrangères » / « a déclaré Choe Son
# Hui »). On PIAF dev (e5, 2,985 answerable questions) the pair is quoted for 81 of them when any kind may go on:
# a gold answer in 6 more answers, short-answer F1 +0.88 summed over « combien », +0.33 over dates, -0.05 over
# places and -3.16 over persons, whose gold answers are often not names (« Qui est Laura ? » -> entremetteuse).
# So: figures and dates, and a person's name (two capitalised words or more) for a role (« Qui est la … »).
_CONTINUED = ("person", "number", "date")
_ROLE = re.compile(r"^\s*qui\s+(?:est|était|sont|étaient|fut|a été)\s+(?:le|la|les|l['’]|un|une)\b", re.I)
_PERSON_NAME = re.compile(r"[A-ZÀ-Ý][\w'’-]+(?:\s+(?:(?:de|du|des|von|van|der|al|ben|bin|el|d['’])\s*)?"
                          r"[A-ZÀ-Ý][\w'’-]+)+")


def looks_like(span: str, kind: str) -> bool:
    """Whether a short answer is of the kind asked for: a figure, a date, a person's full name."""
    if kind == "person":
        return bool(_PERSON_NAME.fullmatch(span.strip())) and not any(fold(w) in NOT_NAMES for w in span.split())
    return has_kind(span, kind)


def continued(q: Question, best: Candidate, cands: list[Candidate], lead: tuple[str, tuple[int, int]] | None,
              read: ReadTokens | None) -> tuple[Candidate, tuple[str, tuple[int, int]]] | None:
    """The best sentence with the one before or after it, and the pair's short answer, when the best one's
    short answer is not of the kind asked and the pair's is, in the added sentence."""
    if best.pair or q.kind not in _CONTINUED or q.kind == "person" and not _ROLE.match(q.text):
        return None
    if lead and looks_like(lead[0], q.kind):
        return None
    pairs = [c for c in cands if c.pair and c.hit.chunk.source == best.hit.chunk.source and best.spans[0] in c.spans]
    for pair in sorted(pairs, key=lambda c: -c.score):
        got = short_answer(q, pair, read)
        if got and looks_like(got[0], q.kind) and not (best.start <= got[1][0] < best.end):
            return pair, got
    return None


def answer_question(question: str, hits: list[Hit], vocabulary: Vocabulary,
                    cands: list[Candidate] | None = None, read: ReadTokens | None = None) -> Answer:
    """The answer from the retrieved passages: short answer, quote, [n]; or the refusal. `cands`: the
    evidence selection over these hits for the question (for a synthesis, its topic), when already made;
    `read`: the embedder's token states, for the short answer's reading probe."""
    topic = synthesis_topic(question)
    if topic is not None:
        summary = synthesize(topic, hits, vocabulary, cands)
        return Answer(question, summary.text, summary.citations) if summary else Answer(
            question, REFUSAL, closest(hits), abstained=True)
    q = Question.read(question, vocabulary)
    cands = select(q, hits) if cands is None else cands
    if not answerable(q, cands, hits, vocabulary)[0]:
        return Answer(question, REFUSAL, closest(hits), abstained=True)
    best = cands[0]
    other = _divergent(best, cands[1:], q)
    if other is not None:
        s1, s2 = short_answer(q, best, read), short_answer(q, other, read)
        figures = f" {s1[0]} [1] ; {s2[0]} [2]." if s1 and s2 else ""
        text = f"{DIVERGENCE}{figures} « {best.text} » [1] ; « {other.text} » [2]"
        return Answer(question, text, (_cite(1, best, s1[1] if s1 else None), _cite(2, other, s2[1] if s2 else None)))
    lead = short_answer(q, best, read)
    more = continued(q, best, cands, lead, read)
    if more is not None:
        best, lead = more
    short, span = lead if lead else (None, None)
    text = f"{short} — « {best.text} » [1]" if short else f"« {best.text} » [1]"
    cites: tuple[Citation, ...] = (_cite(1, best, span),)
    if more is None and (second := runner_up(best, cands[1:])) is not None:
        text += f" {ALSO} « {second.text} » [2]"
        cites += (_cite(2, second),)
    return Answer(question, text, cites, short=short)


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
    if any(p.search(question) for k, p in KIND_RE.items() if k in ("number", "date", "place", "person")):
        for k in ("number", "date", "place", "person"):  # a new kind of answer asked replaces the previous one
            base = KIND_RE[k].sub(" ", base)
        return f"{rest} {base.strip()} ?"
    return f"{base} {rest} ?"
