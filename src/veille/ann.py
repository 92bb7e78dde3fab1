"""Which FAISS index to search with: exact while it is fast enough, then IVF tuned by measured recall.

Exact search reads every vector for every question: about 15 ms per 100k vectors of 384 floats on these
machines, 1.4 s at a million (bench/scale.py). Past `Settings.exact_limit` vectors the store becomes an
IVF index (inverted lists around k-means centroids): a question only reads the `nprobe` nearest lists.
IVF, not HNSW: FAISS's HNSW cannot remove vectors, and an incremental build removes the chunks of every
changed or deleted article. `nprobe` is the smallest that finds, for sample questions, at least
`Settings.ann_recall` of what exact search finds in its top 10; the choice and its measured recall go to
the manifest.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

SAMPLE_QUERIES = 200
TOP = 10
# A question is not one of the stored passages: sample questions are stored vectors pushed off by noise
# of this norm (cosine about 0.7 to their source). Calibrated on real PIAF questions over 20k and 100k
# vectors: at every nprobe, their IVF recall was within 0.07 of these samples' (0.6 was too kind:
# it promised 0.99 where real questions got 0.84).
QUERY_NOISE = 1.0


def all_vectors(index: Any) -> tuple[np.ndarray, np.ndarray]:
    """(ids, vectors) of an IndexIDMap(Flat) or an IndexIVFFlat, in no particular order."""
    import faiss

    if isinstance(index, faiss.IndexIDMap):
        ids = faiss.vector_to_array(index.id_map).astype(np.int64)
        return ids, index.index.reconstruct_n(0, index.ntotal).astype(np.float32)
    ivf = faiss.extract_index_ivf(index)
    lists: Any = ivf.invlists
    parts_ids, parts_vecs = [], []
    for n in range(ivf.nlist):
        size = lists.list_size(n)
        if size:
            parts_ids.append(faiss.rev_swig_ptr(lists.get_ids(n), size).copy())
            codes = faiss.rev_swig_ptr(lists.get_codes(n), size * lists.code_size).copy()
            parts_vecs.append(codes.view(np.float32).reshape(size, ivf.d))
    if not parts_ids:
        return np.zeros(0, np.int64), np.zeros((0, ivf.d), np.float32)
    return np.concatenate(parts_ids).astype(np.int64), np.concatenate(parts_vecs)


def describe(index: Any) -> dict[str, Any]:
    import faiss

    if isinstance(index, faiss.IndexIDMap):
        return {"index": "Flat", "search": "exact"}
    ivf = faiss.extract_index_ivf(index)
    return {"index": f"IVF{ivf.nlist},Flat", "search": "approximate", "nprobe": int(ivf.nprobe)}


def sample_queries(vectors: np.ndarray, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    picked = vectors[rng.choice(len(vectors), min(SAMPLE_QUERIES, len(vectors)), replace=False)]
    noise = rng.standard_normal(picked.shape).astype(np.float32) * (QUERY_NOISE / math.sqrt(vectors.shape[1]))
    q = picked + noise
    return (q / np.linalg.norm(q, axis=1, keepdims=True)).astype(np.float32)


def recall_at(index: Any, queries: np.ndarray, truth: np.ndarray) -> float:
    _, found = index.search(queries, TOP)
    return float(np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found, truth, strict=True)]))


def exact(ids: np.ndarray, vectors: np.ndarray) -> Any:
    import faiss

    index = faiss.IndexIDMap(faiss.IndexFlatIP(vectors.shape[1]))
    if len(ids):
        index.add_with_ids(vectors, ids)
    return index


def lists_for(n: int) -> int:
    return max(16, int(4 * math.sqrt(n)))


def train_ivf(ids: np.ndarray, vectors: np.ndarray) -> Any:
    """An IVF index over these vectors, its lists trained on a sample of them."""
    import faiss

    n, nlist = len(ids), lists_for(len(ids))
    log.info("training IVF%d over %d vectors", nlist, n)
    trained = faiss.IndexIVFFlat(faiss.IndexFlatIP(vectors.shape[1]), vectors.shape[1], nlist,
                                 faiss.METRIC_INNER_PRODUCT)
    rng = np.random.default_rng(0)
    trained.train(vectors[rng.choice(n, min(n, 64 * nlist), replace=False)])
    trained.add_with_ids(vectors, ids)
    return trained


def choose(index: Any, exact_limit: int, target: float, threads: int = 2) -> tuple[Any, dict[str, Any]]:
    """The index to keep for this many vectors, and what the manifest records of the choice."""
    import faiss

    faiss.omp_set_num_threads(threads)  # training and measuring use the cores; one question uses one
    n = int(index.ntotal)
    flat = isinstance(index, faiss.IndexIDMap)
    if n <= exact_limit:
        if not flat:
            index = exact(*all_vectors(index))
        return index, {**describe(index), "exact_limit": exact_limit}
    ids, vectors = all_vectors(index)
    if flat or not 0.5 <= faiss.extract_index_ivf(index).nlist / lists_for(n) <= 2:  # trained for another size
        index = train_ivf(ids, vectors)
    queries = sample_queries(vectors)
    _, truth = exact(ids, vectors).search(queries, TOP)
    ivf = faiss.extract_index_ivf(index)
    nprobe, recall = ivf.nlist, 1.0
    probe = 1
    while probe < ivf.nlist:
        ivf.nprobe = probe
        r = recall_at(index, queries, truth)
        if r >= target:
            nprobe, recall = probe, r
            break
        probe *= 2
    ivf.nprobe = nprobe
    log.info("IVF%d: nprobe %d finds %.3f of exact search's top %d", ivf.nlist, nprobe, recall, TOP)
    return index, {**describe(index), "exact_limit": exact_limit, f"recall@{TOP}": round(recall, 4),
                   "recall_target": target, "measured_on": f"{len(queries)} sample queries"}
