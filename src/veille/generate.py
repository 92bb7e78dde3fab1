"""Generated answers with checked citations: retriever -> French prompt -> chat model -> check.

The extractive answerer's abstention gate runs first: when the passages do not hold the question's
words, veille refuses without asking the model anything. Otherwise a few numbered passages (short
contexts keep a 1.5B model right) go to the model; its answer streams out token by token; the check
(veille.check, a pure function) then keeps only cited, supported sentences, or falls back to the
extractive answer when none survive.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import Runnable, RunnableLambda, RunnablePassthrough

from .answer import REFUSAL, answer_question, contextualize
from .ask import Reader, passages, quoted
from .check import check_answer
from .chunk import sentence_spans
from .evidence import Candidate, Question, select
from .keyword import tokenize
from .retrieve import check_query
from .synthesis import SYNTHESIS_PASSAGES, synthesis_topic
from .terms import Vocabulary, named_source
from .types import Answer, Citation, Hit

# Measured with bench/llm.py on 6 golden questions (docs/BENCHMARKS.md): 2 passages 5/6 right, first token
# 6.8 s; 3 passages 4/6, 11.5 s; 4 passages 3/6, 14.6 s. The 1.5B model does best with short contexts.
PASSAGES = 2
SYSTEM = (
    "Tu es veille. Tu réponds en français, en une ou deux phrases complètes, uniquement à partir des "
    "passages numérotés. Chaque phrase se termine par le numéro du passage qui la justifie entre crochets. "
    "Recopie les chiffres et les noms exactement comme dans les passages ; n'ajoute rien qui n'y figure pas. "
    f"Si les passages ne permettent pas de répondre, écris exactement : « {REFUSAL} »\n\n"
    "Exemple :\nPassages :\n[1] Le ministre Jean Dupont a annoncé mardi 300 millions d'euros pour les hôpitaux.\n"
    "[2] La grève continue.\nQuestion : Combien le ministre a-t-il annoncé ?\n"
    "Réponse : Jean Dupont a annoncé 300 millions d'euros pour les hôpitaux [1]."
)
PROMPT = ChatPromptTemplate.from_messages(
    [("system", SYSTEM), ("human", "Passages :\n{passages}\n\nQuestion : {question}\nRéponse :")]
)


def format_passages(hits: list[Hit]) -> str:
    return "\n\n".join(f"[{n}] {h.chunk.text}" for n, h in enumerate(hits, 1))


def build_chain(index: Reader, model: Any, k: int = PASSAGES) -> Runnable:
    """The whole LCEL chain, question -> checked Answer (no streaming; `stream_answer` streams)."""
    retrieve: Runnable = RunnableLambda(lambda q: {"question": q, "hits": index.search(q, k)})
    generate = (RunnableLambda(lambda x: {"question": x["question"], "passages": format_passages(x["hits"])})
                | PROMPT | model | StrOutputParser())
    check: Runnable = RunnableLambda(lambda x: finalize(index.vocabulary, x["question"], x["hits"], x["generated"]))
    return retrieve | RunnablePassthrough.assign(generated=generate) | check


def _quote_span(claim: str, hit: Hit) -> tuple[int, int]:
    """The sentence of the passage that shares most words with the claim (what the card highlights)."""
    words = set(tokenize(claim))
    spans = sentence_spans(hit.chunk.text) or [(0, len(hit.chunk.text))]
    a, b = max(spans, key=lambda s: len(words & set(tokenize(hit.chunk.text[s[0]:s[1]]))))
    return hit.chunk.start + a, hit.chunk.start + b


def attribution(question: str, hits: Sequence[Hit]) -> tuple[frozenset[str], dict[int, str] | None]:
    """The source the question names (« selon Blinken »), and, when it names one, each numbered passage's
    title and whole text: what must name that source for a claim citing the passage to stand."""
    named = named_source(question)
    return named, {n: f"{h.chunk.title}\n{h.chunk.text}" for n, h in enumerate(hits, 1)} if named else None


def finalize(vocabulary: Vocabulary, question: str, hits: list[Hit], generated: str,
             asked: str | None = None) -> Answer:
    """Check the generated text against its passages; renumber citations in order of use."""
    # Small models often state the right fact without its marker: the check then cites the passage that
    # holds every number and name of the sentence, or removes the sentence.
    named, context = attribution(question, hits)
    checked = check_answer(generated, {n: h.chunk.text for n, h in enumerate(hits, 1)}, attribute=True,
                           named=named, context=context)
    asked = asked or question
    if checked.refusal or checked.empty:
        extractive = answer_question(question, hits, vocabulary)
        if checked.refusal and extractive.abstained:
            return replace(extractive, question=asked, mode="llm")
        return replace(extractive, question=asked, mode="llm", fallback=True)
    order = {old: new for new, old in enumerate(checked.cited, 1)}
    text = re.sub(r"\[(\d+)\]", lambda m: f"[{order[int(m.group(1))]}]", checked.text)
    citations = []
    for old, new in order.items():
        hit = hits[old - 1]
        claims = " ".join(v.sentence for v in checked.verdicts if v.supported and old in v.cited)
        qa, qb = _quote_span(claims, hit)
        citations.append(Citation.of(new, hit.chunk, hit.score, (qa, qb)))
    return Answer(asked, text, tuple(citations), mode="llm", checked=True, fallback=False)


@dataclass(frozen=True)
class Reading:
    """What both generative modes read before the model writes: the question as asked and as understood, the
    passages searched, the extractive answer from them (the gate, and the fallback), and the passages given."""

    asked: str
    question: str
    hits: list[Hit]
    gate: Answer
    top: list[Hit]
    candidates: tuple[Candidate, ...] = ()  # the evidence selection's sentences, best first
    synthesis: bool = False  # « résume… », « que sait-on de… »: the sentences are about the topic it names
    quote: bool = False  # « qui a dit « … » ? » found by the quote lookup: its answer is the gate, no model asked


def read(index: Reader, question: str, history: Sequence[str], k: int, search_k: int, gated: bool = True) -> Reading:
    """Search, answer extractively, and pick the k passages holding the best sentences, best first: the model
    reads the evidence the extractive answerer found (when the gate refuses, only if not `gated`)."""
    asked = check_query(question)
    question = contextualize(asked, list(history))
    found = quoted(index, question)  # the words are in an article: who spoke them is read there, not generated
    if found is not None:
        return Reading(asked, question, [], found, [], quote=True)
    topic = synthesis_topic(question)  # as the extractive answerer reads a synthesis: search the topic, wider
    hits = index.search(topic, SYNTHESIS_PASSAGES) if topic else index.search(question, passages(search_k))
    candidates = select(Question.read(topic or question, index.vocabulary), hits)
    # the same selection, made once
    gate = answer_question(question, hits, index.vocabulary, candidates, index.token_states)
    if gate.abstained and gated:  # the model will not be asked
        return Reading(asked, question, hits, gate, [])
    top = list({id(c.hit): c.hit for c in candidates}.values())[:k]
    return Reading(asked, question, hits, gate, top, tuple(candidates), topic is not None)


def stream_answer(index: Reader, question: str, model: Any, history: Sequence[str] = (),
                  k: int = PASSAGES, search_k: int = 5) -> Iterator[str | Answer]:
    """Yield the model's tokens as they come, then the checked Answer (always last)."""
    r = read(index, question, history, k, search_k)
    if r.gate.abstained or r.quote:  # nothing here answers it, or the quote lookup did: no need to ask the model
        yield replace(r.gate, question=r.asked, mode="llm")
        return
    generated = []
    for token in (PROMPT | model | StrOutputParser()).stream({"question": r.question,
                                                              "passages": format_passages(r.top)}):
        generated.append(token)
        yield token
    yield finalize(index.vocabulary, r.question, r.top, "".join(generated), r.asked)
