"""Hybrid retrieval: dense FAISS hits and French BM25 hits, fused by reciprocal rank fusion.

Dense search finds paraphrases and English questions; keyword search finds rare names and exact
figures that a small embedding model blurs. RRF needs no score calibration between the two.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever

from .errors import InputError
from .types import Hit

if TYPE_CHECKING:
    from .embed import Embedder
    from .settings import Settings

MAX_QUERY_CHARS = 2000


def check_query(query: str) -> str:
    query = query.strip()
    if not query:
        raise InputError("the question is empty; type a question, e.g. « combien de soldats selon Blinken ? »")
    if len(query) > MAX_QUERY_CHARS:
        raise InputError(f"the question is {len(query):,} characters long; keep it under {MAX_QUERY_CHARS:,}")
    return query


def rrf(rankings: list[list[tuple[int, float]]], k: int) -> list[tuple[int, float]]:
    """Reciprocal rank fusion: each list adds 1/(k + rank) to the ids it ranks."""
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, (i, _) in enumerate(ranking, 1):
            fused[i] = fused.get(i, 0.0) + 1.0 / (k + rank)
    return sorted(fused.items(), key=lambda t: (-t[1], t[0]))


def hybrid_search(state: Any, embedder: Embedder, query: str, k: int, settings: Settings) -> list[Hit]:
    """The k best chunks for the query, each with its fused score and its dense and keyword scores."""
    query = check_query(query)
    dense = state.store.search(embedder.embed_query(query), settings.candidates)
    keyword = state.keyword.search(query, settings.candidates)
    dense_of, keyword_of = dict(dense), dict(keyword)
    return [
        Hit(state.chunks[i], score, dense_of.get(i), keyword_of.get(i))
        for i, score in rrf([dense, keyword], settings.rrf_k)[:k]
    ]


def hit_to_document(hit: Hit) -> Document:
    c = hit.chunk
    meta = {"source": c.source, "title": c.title, "date": c.date, "start": c.start, "end": c.end,
            "chunk_id": c.id, "score": hit.score}
    return Document(page_content=c.text, metadata=meta)


class VeilleRetriever(BaseRetriever):
    """veille's hybrid search as a LangChain retriever; metadata carry source, title, date, start, end."""

    index: Any  # a veille.Index
    k: int = 4

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        return [hit_to_document(h) for h in self.index.search(query, self.k)]
