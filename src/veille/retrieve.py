"""Hybrid retrieval: dense FAISS hits and French BM25 hits, fused on one scale.

Dense search finds paraphrases and English questions; keyword search finds rare names and exact
figures that a small embedding model blurs. Each list's scores become z-scores over its own candidates
(cosines and BM25 scores share no scale, but "how far above this question's other candidates" does),
and a chunk's fused score is their weighted sum. On PIAF that ranks better than reciprocal rank fusion,
which throws away how far ahead a list's first hit is (bench/piaf_fusion.py); RRF stays a setting.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever

from .errors import InputError
from .types import Hit

if TYPE_CHECKING:
    from .embed import Embedder
    from .settings import Settings

MAX_QUERY_CHARS = 2000
Ranking = list[tuple[int, float]]  # (chunk id, score), best first


def check_query(query: str) -> str:
    query = query.strip()
    if not query:
        raise InputError("the question is empty; type a question, e.g. « combien de soldats selon Blinken ? »")
    if len(query) > MAX_QUERY_CHARS:
        raise InputError(f"the question is {len(query):,} characters long; keep it under {MAX_QUERY_CHARS:,}")
    return query


def rrf(rankings: list[Ranking], k: int) -> Ranking:
    """Reciprocal rank fusion: each list adds 1/(k + rank) to the ids it ranks."""
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, (i, _) in enumerate(ranking, 1):
            fused[i] = fused.get(i, 0.0) + 1.0 / (k + rank)
    return sorted(fused.items(), key=lambda t: (-t[1], t[0]))


def zscores(ranking: Ranking) -> dict[int, float]:
    """Each candidate's score in standard deviations above the mean of its list (0 when all are equal)."""
    if not ranking:
        return {}
    scores = np.array([s for _, s in ranking], dtype=np.float64)
    sd = float(scores.std())
    z = (scores - scores.mean()) / sd if sd > 0 else np.zeros_like(scores)
    return {i: float(v) for (i, _), v in zip(ranking, z, strict=True)}


def zscore_fusion(rankings: list[Ranking], weights: list[float]) -> Ranking:
    """The weighted sum of each list's z-scores; a chunk one list did not return gets that list's lowest."""
    lists = [zscores(r) for r in rankings]
    floors = [min(z.values(), default=0.0) for z in lists]
    ids = {i for z in lists for i in z}
    fused = {i: sum(w * z.get(i, f) for w, z, f in zip(weights, lists, floors, strict=True)) for i in ids}
    return sorted(fused.items(), key=lambda t: (-t[1], t[0]))


def fuse(dense: Ranking, keyword: Ranking, settings: Settings) -> Ranking:
    """Both candidate lists as one ranking, best first. zscore sums are squashed into (0, 1) by the
    logistic function, so a Hit's score stays positive and comparable to the top hit's (answer.py's rank
    prior divides by it)."""
    if settings.fusion == "rrf":  # else "zscore": Settings refuses any other name
        return rrf([dense, keyword], settings.rrf_k)
    w = settings.fusion_dense_weight
    return [(i, 1.0 / (1.0 + math.exp(-s))) for i, s in zscore_fusion([dense, keyword], [w, 1.0 - w])]


def hybrid_search(state: Any, embedder: Embedder, query: str, k: int, settings: Settings,
                  allowed: np.ndarray | None = None, dense_query: str | None = None) -> list[Hit]:
    """The k best chunks for the query, each with its fused score and its dense and keyword scores; with
    `allowed` (chunk ids: a date or source filter), both searches rank only those. `dense_query`: what the
    embedding model reads instead, when it differs (the question respelt)."""
    query = check_query(query)
    dense = state.store.search(embedder.embed_query(dense_query or query), settings.candidates, allowed)
    keyword = state.keyword.search(query, settings.candidates, allowed)
    dense_of, keyword_of = dict(dense), dict(keyword)
    return [
        Hit(state.chunks[i], score, dense_of.get(i), keyword_of.get(i))
        for i, score in fuse(dense, keyword, settings)[:k]
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
