"""One question, start to finish: complete a follow-up, look up a quotation, or search and answer.

It reads the index through `Reader`, the few calls it needs, so that it and the stages it drives
(answer.py, quotes.py) never import the Index.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Protocol

from .answer import answer_question, contextualize
from .embed import TokenStates
from .evidence import load_model
from .quotes import quote_answer, quote_from_question
from .retrieve import check_query
from .synthesis import SYNTHESIS_PASSAGES, synthesis_topic
from .terms import Vocabulary
from .types import Answer, Hit, QuoteMatch

MIN_FUZZY_QUOTE = 0.8


class Reader(Protocol):
    """What answering needs of an index."""

    @property
    def vocabulary(self) -> Vocabulary: ...

    def search(self, query: str, k: int | None = None) -> list[Hit]: ...

    def cite(self, text: str, limit: int = 10) -> list[QuoteMatch]: ...

    def passage_around(self, source: str, offset: int) -> tuple[int, int, str]: ...

    def token_states(self, text: str, layers: Sequence[int]) -> TokenStates | None: ...


def passages(k: int) -> int:
    """How many passages the answerer reads: as many as its evidence model was fitted on (bench/fit_answer.py
    --k; 8 reach the gold sentence for 0.90 of PIAF dev questions, 5 for 0.87), or search's k if more."""
    return max(k, int(load_model("evidence").extra.get("k", k)))


def ask(reader: Reader, question: str, history: Sequence[str] = (), k: int = 5) -> Answer:
    """Answer from the index: a quote lookup for « qui a dit … », otherwise extractive QA. `history`
    holds the conversation's earlier questions, so that follow-ups can lean on them."""
    asked = check_query(question)
    question = contextualize(asked, list(history))
    answer = quoted(reader, question)
    if answer is None:
        topic = synthesis_topic(question)
        hits = reader.search(topic, SYNTHESIS_PASSAGES) if topic else reader.search(question, passages(k))
        answer = answer_question(question, hits, reader.vocabulary, read=reader.token_states)
    return answer if question == asked else replace(answer, question=asked, understood=question)


def quoted(reader: Reader, question: str) -> Answer | None:
    """« Qui a dit … ? »: where the words appear and who the article says spoke them."""
    quote = quote_from_question(question)
    if not quote:
        return None
    matches = [m for m in reader.cite(quote, 5) if m.kind != "fuzzy" or m.score >= MIN_FUZZY_QUOTE]
    if not matches:
        return None
    m = matches[0]
    start, end, passage = reader.passage_around(m.source, m.start)
    return quote_answer(question, m, start, end, passage)
