"""Generated answers that quote before they claim: the model writes JSON (a short answer and verbatim quotes
with their passage numbers), veille finds each quote in its passage (veille.claims) and shows only what it
found: the short answer when the quotes hold its facts, each quote with [n] at its file offsets.

The model reads excerpts, not whole passages: the evidence selection's best sentences (or pairs of adjacent
sentences), best first, as many as EXCERPTS, AROUND sentences either side. On 2 cores the local model reads
about 13 ms a token and writes 50 (bench/llm.py), so what it reads and writes is the answer's time.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate

from .answer import DIVERGENCE, REFUSAL, closest, figures
from .ask import Reader
from .chunk import sentence_spans
from .claims import Checked, check_draft, locate, parse, schema
from .evidence import Candidate
from .generate import Reading, attribution, format_passages, read
from .synthesis import SYNTHESIS_MAX
from .types import Answer, Citation, Hit

# Chosen on PIAF dev (bench/llm_piaf.py --split dev --answerable 40 --missing 10, 2026-12-03): the 3 best
# sentences alone hold a gold answer as often as 2 whole passages (0.750 both, with short quotes asked), the
# first token as soon (4.5 s against 4.2), and beat them with a sentence either side (0.700, 6.4 s). Since
# the windows stop widening once 3 are taken: 0.800 (extractive 0.800), first token 3.3 s, checked 6.1 s.
EXCERPTS, AROUND = 3, 0
# A synthesis reads one excerpt an article, and is asked to quote each (issue 14: up to three claims from
# different articles).
SYNTHESIS_ASK = "une citation de chaque passage qui en parle"
# Whether the extractive gate's refusal stands without asking the model. On PIAF dev the gate refuses 5.0% of
# answerable questions (149) and 68% of missing ones (515; bench/fit_answer.py). Asked all the same, on 20 and
# 20 of those (bench/llm_piaf.py --split dev --ungated), the model gave a gold answer to 4 of the answerable
# and answered 5 of the missing: about 30 answers gained for 129 refusals lost. The gate stands.
GATED = True
_EXAMPLE = {"reponse": "300 millions d'euros",
            "preuves": [{"passage": 1, "citation": "annoncé mardi 300 millions d'euros"}]}
SYSTEM = (
    "Tu es veille. Tu réponds à la question uniquement à partir des passages numérotés, en JSON. "
    "« reponse » : la réponse elle-même, en quelques mots (un nombre, un nom, une date, un lieu), recopiée "
    "du passage. « preuves » : une à trois citations, chacune de cinq à dix mots recopiés mot pour mot d'un "
    "passage, avec le numéro de ce passage ; n'ajoute ni ne change aucun mot. "
    f"Si les passages ne permettent pas de répondre : {{\"reponse\": \"{REFUSAL}\", \"preuves\": []}}\n\n"
    "Exemple :\nPassages :\n[1] Le ministre Jean Dupont a annoncé mardi 300 millions d'euros pour les hôpitaux.\n"
    "[2] La grève continue.\nQuestion : Combien le ministre a-t-il annoncé ?\n"
    f"Réponse : {json.dumps(_EXAMPLE, ensure_ascii=False)}"
)
PROMPT = ChatPromptTemplate.from_messages(
    [("system", SYSTEM.replace("{", "{{").replace("}", "}}")),
     ("human", "Passages :\n{passages}\n\nQuestion : {question}\nRéponse :")])


def excerpts(candidates: Sequence[Candidate], k: int, around: int, apart: bool = False) -> list[tuple[Hit, Hit]]:
    """The k best candidates' windows (their sentences and `around` sentences either side, inside their
    passage), best first: a candidate already inside a window is skipped, one whose window overlaps another
    widens it, until k windows are taken; `apart`: one window an article. Each as (a hit whose chunk is the
    window, file offsets kept; the hit of the whole passage, which the citation shows)."""
    windows: list[list] = []  # [hit, start, end] with offsets in the hit's chunk text
    sentences: dict[int, list[tuple[int, int]]] = {}  # a chunk's sentences, split once
    for c in candidates:
        if len(windows) == k:  # later candidates would only widen what the model reads
            break
        chunk = c.hit.chunk
        if chunk.id not in sentences:
            sentences[chunk.id] = sentence_spans(chunk.text) or [(0, len(chunk.text))]
        spans = sentences[chunk.id]
        a, b = c.start - chunk.start, c.end - chunk.start
        inside = [i for i, (s, e) in enumerate(spans) if s < b and e > a] or [0]
        s, e = spans[max(0, inside[0] - around)][0], spans[min(len(spans) - 1, inside[-1] + around)][1]
        same = [w for w in windows if w[0].chunk.id == chunk.id]
        if any(w[1] <= a and b <= w[2] for w in same) or (
                apart and any(w[0].chunk.source == chunk.source for w in windows)):
            continue
        near = next((w for w in same if w[1] < e and s < w[2]), None)
        if near:
            near[1:] = [min(near[1], s), max(near[2], e)]
        elif len(windows) < k:
            windows.append([c.hit, s, e])
    return [(replace(h, chunk=replace(h.chunk, text=h.chunk.text[s:e], start=h.chunk.start + s,
                                      end=h.chunk.start + e)), h) for h, s, e in windows]


def compose(asked: str, question: str, top: list[Hit], checked: Checked, full: Sequence[Hit] = ()) -> Answer:
    """The shown answer: the short answer, then each kept quote with its [n] (numbered in order). `top`: what
    the model read; `full`: the passage each came from, when it read a window of it (the card shows that)."""
    citations, parts = [], []
    for n, claim in enumerate(checked.kept, 1):
        hit = top[claim.passage - 1]
        a, b = hit.chunk.start + claim.start, hit.chunk.start + claim.end
        inside = locate(checked.short, claim.quote) if checked.short and n == 1 else None
        short = (a + inside[0], a + inside[1]) if inside else None
        shown = full[claim.passage - 1] if full else hit
        citations.append(Citation.of(n, shown.chunk, hit.score, (a, b), short))
        parts.append(f"« {claim.quote} » [{n}]")
    sources = {top[c.passage - 1].chunk.source for c in checked.kept}
    split = [figures(c.quote) for c in citations]
    diverge = len(sources) > 1 and all(split) and not set.intersection(*split)
    text = (f"{DIVERGENCE} " if diverge else "") + (f"{checked.short} — " if checked.short else "") + " ; ".join(parts)
    return Answer(asked, text, tuple(citations), mode="llm", checked=True, short=checked.short,
                  understood=None if question == asked else question)


def finalize(r: Reading, draft: str, windows: Sequence[tuple[Hit, Hit]]) -> Answer:
    """The checked answer from the draft over the excerpts `windows`; the model's refusal; or, when it kept
    no quote, or no short answer its quotes hold (a synthesis needs none), the extractive answer the reading
    already holds (marked as a fallback): quotes that do not hold the answer would answer nothing."""
    named, context = attribution(r.question, [h for _, h in windows])  # whole passages, not the excerpts read
    checked = check_draft(parse(draft), {n: w.chunk.text for n, (w, _) in enumerate(windows, 1)}, named, context)
    if checked.kept and (checked.short or r.synthesis):
        return compose(r.asked, r.question, [w for w, _ in windows], checked, [h for _, h in windows])
    if checked.refusal:
        return Answer(r.asked, REFUSAL, closest(r.hits), abstained=True, mode="llm")
    return replace(r.gate, question=r.asked, mode="llm", fallback=True)


def stream_claims(index: Reader, question: str, model: Any, history: Sequence[str] = (), k: int = 0,
                  search_k: int = 5) -> Iterator[str | Answer]:
    """Yield the draft's tokens as they come, then the checked Answer (always last). k: how many excerpts the
    model reads (0: EXCERPTS)."""
    from .llm import constrained  # llama_cpp only when the local model is asked

    k = k or EXCERPTS
    r = read(index, question, history, k, search_k, GATED)
    if r.gate.abstained and GATED or r.quote:  # nothing here answers it, or the quote lookup did: no model
        yield replace(r.gate, question=r.asked, mode="llm")
        return
    windows = excerpts(r.candidates, max(k, SYNTHESIS_MAX) if r.synthesis else k, AROUND, apart=r.synthesis)
    chain = PROMPT | constrained(model, schema(len(windows))) | StrOutputParser()
    draft = []
    question = f"{r.question} ({SYNTHESIS_ASK})" if r.synthesis else r.question
    for token in chain.stream({"question": question, "passages": format_passages([w for w, _ in windows])}):
        draft.append(token)
        yield token
    yield finalize(r, "".join(draft), windows)
