"""Generated answers that quote before they claim: the model writes JSON (a short answer and verbatim quotes
with their passage numbers), veille finds each quote in its passage (veille.claims) and shows only what it
found: the short answer when the quotes hold its facts, each quote with [n] at its file offsets.

The passages are those of the extractive answerer's best sentences (evidence selection), best first.
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
from .claims import Checked, check_draft, locate, parse, schema
from .generate import Reading, format_passages, read
from .types import Answer, Citation, Hit

_EXAMPLE = {"reponse": "300 millions d'euros",
            "preuves": [{"passage": 1, "citation": "a annoncé mardi 300 millions d'euros pour les hôpitaux"}]}
SYSTEM = (
    "Tu es veille. Tu réponds à la question uniquement à partir des passages numérotés, en JSON. "
    "« reponse » : la réponse elle-même, en quelques mots (un nombre, un nom, une date, un lieu), recopiée "
    "du passage. « preuves » : une à trois citations recopiées mot pour mot d'un passage, chacune avec le "
    "numéro de ce passage ; n'ajoute ni ne change aucun mot. "
    f"Si les passages ne permettent pas de répondre : {{\"reponse\": \"{REFUSAL}\", \"preuves\": []}}\n\n"
    "Exemple :\nPassages :\n[1] Le ministre Jean Dupont a annoncé mardi 300 millions d'euros pour les hôpitaux.\n"
    "[2] La grève continue.\nQuestion : Combien le ministre a-t-il annoncé ?\n"
    f"Réponse : {json.dumps(_EXAMPLE, ensure_ascii=False)}"
)
PROMPT = ChatPromptTemplate.from_messages(
    [("system", SYSTEM.replace("{", "{{").replace("}", "}}")),
     ("human", "Passages :\n{passages}\n\nQuestion : {question}\nRéponse :")])


def compose(asked: str, question: str, top: list[Hit], checked: Checked) -> Answer:
    """The shown answer: the short answer, then each kept quote with its [n] (numbered in order)."""
    citations, parts = [], []
    for n, claim in enumerate(checked.kept, 1):
        hit = top[claim.passage - 1]
        a, b = hit.chunk.start + claim.start, hit.chunk.start + claim.end
        inside = locate(checked.short, claim.quote) if checked.short and n == 1 else None
        short = (a + inside[0], a + inside[1]) if inside else None
        citations.append(Citation.of(n, hit.chunk, hit.score, (a, b), short))
        parts.append(f"« {claim.quote} » [{n}]")
    sources = {top[c.passage - 1].chunk.source for c in checked.kept}
    split = [figures(c.quote) for c in citations]
    diverge = len(sources) > 1 and all(split) and not set.intersection(*split)
    text = (f"{DIVERGENCE} " if diverge else "") + (f"{checked.short} — " if checked.short else "") + " ; ".join(parts)
    return Answer(asked, text, tuple(citations), mode="llm", checked=True, short=checked.short,
                  understood=None if question == asked else question)


def finalize(r: Reading, draft: str) -> Answer:
    """The checked answer from the draft; the model's refusal; or, when it kept nothing, the extractive
    answer the reading already holds (marked as a fallback)."""
    checked = check_draft(parse(draft), {n: h.chunk.text for n, h in enumerate(r.top, 1)})
    if checked.kept:
        return compose(r.asked, r.question, r.top, checked)
    if checked.refusal:
        return Answer(r.asked, REFUSAL, closest(r.hits), abstained=True, mode="llm")
    return replace(r.gate, question=r.asked, mode="llm", fallback=True)


def stream_claims(index: Reader, question: str, model: Any, history: Sequence[str] = (), k: int = 2,
                  search_k: int = 5) -> Iterator[str | Answer]:
    """Yield the draft's tokens as they come, then the checked Answer (always last)."""
    from .llm import constrained  # llama_cpp only when the local model is asked

    r = read(index, question, history, k, search_k)
    if r.gate.abstained:  # the extractive answerer finds nothing here: the model is not asked
        yield replace(r.gate, question=r.asked, mode="llm")
        return
    chain = PROMPT | constrained(model, schema(len(r.top))) | StrOutputParser()
    draft = []
    for token in chain.stream({"question": r.question, "passages": format_passages(r.top)}):
        draft.append(token)
        yield token
    yield finalize(r, "".join(draft))
