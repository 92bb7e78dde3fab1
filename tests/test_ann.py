"""The FAISS index is chosen by size: exact up to `exact_limit` vectors, then IVF with an nprobe measured
against exact search, recorded in the manifest; incremental builds keep working on IVF."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np

from veille import Index, build_index, open_index
from veille.ann import all_vectors, choose, exact, recall_at, sample_queries

BLINKEN_Q = "combien de soldats selon Blinken ?"
BLINKEN = "004_b5e3709a28e5c677.txt"


def _clustered(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors in 40 clusters, the shape of a news archive's embeddings (topics)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((40, 384)).astype(np.float32)
    v = centres[rng.integers(40, size=n)] + 0.6 * rng.standard_normal((n, 384)).astype(np.float32)
    return np.arange(n, dtype=np.int64) * 3, (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def test_exact_up_to_the_limit_then_ivf_reaching_the_target_recall() -> None:
    ids, vectors = _clustered(3000)
    small, choice = choose(exact(ids[:1000], vectors[:1000]), exact_limit=1000, target=0.98)
    assert choice == {"index": "Flat", "search": "exact", "exact_limit": 1000} and small.ntotal == 1000
    big, choice = choose(exact(ids, vectors), exact_limit=1000, target=0.98)
    assert choice["index"].startswith("IVF") and choice["search"] == "approximate"
    assert choice["recall@10"] >= choice["recall_target"] == 0.98 and 1 <= choice["nprobe"] <= 256
    _, truth = exact(ids, vectors).search(queries := sample_queries(vectors, seed=1), 10)
    assert recall_at(big, queries, truth) >= 0.95  # other sample questions than the ones it chose with
    got_ids, got = all_vectors(big)  # what an export or a shrink reads back
    order = np.argsort(got_ids)
    assert np.array_equal(got_ids[order], ids) and np.allclose(got[order], vectors)
    big.remove_ids(ids[1000:])  # shrinking below the limit goes back to exact search
    back, choice = choose(big, exact_limit=1000, target=0.98)
    assert choice["search"] == "exact" and back.ntotal == 1000


def test_a_build_past_the_limit_records_ivf_and_still_answers_and_removes(
        own_index: Index, tmp_path: Path) -> None:
    corpus, folder = own_index.corpus, own_index.folder
    settings = replace(own_index.settings, exact_limit=32)  # the 64 seed chunks are past it
    (corpus / "breve.txt").write_text("Brève\n\nLe conseil municipal de Lille a voté un budget de 7 millions "
                                      "d’euros pour ses écoles.\n", encoding="utf-8")
    build_index(corpus, folder, settings=settings, embedder=own_index.embedder)
    index = open_index(folder, settings=settings, embedder=own_index.embedder)
    store = index.manifest["vector_store"]
    assert store["kind"] == "faiss" and store["index"].startswith("IVF") and store["exact_limit"] == 32
    assert store["recall@10"] >= store["recall_target"] == 0.98 and store["measured_on"] == "65 sample queries"
    assert index.status()["chunks"] == index._state.store.vectors()[0].size
    answer = index.ask(BLINKEN_Q)
    assert not answer.abstained and answer.citations[0].source == BLINKEN and "10.000" in answer.citations[0].text
    # Incremental builds remove vectors from the IVF index (why IVF and not HNSW)
    shutil.move(corpus / BLINKEN, tmp_path / BLINKEN)
    report = build_index(corpus, folder, settings=settings, embedder=own_index.embedder)
    assert report.removed == (BLINKEN,) and report.embedded_chunks == 0
    index = open_index(folder, settings=settings, embedder=own_index.embedder)
    assert index.manifest["vector_store"]["index"].startswith("IVF")
    ids, _ = index._state.store.vectors()
    assert sorted(ids.tolist()) == sorted(c.id for c in index.chunks.values())
    assert all(h.chunk.source != BLINKEN for h in index.search(BLINKEN_Q, 30))


def test_below_the_limit_the_manifest_says_exact(seed_index: Index) -> None:
    assert seed_index.status()["chunks"] <= seed_index.settings.exact_limit
    assert seed_index.manifest["vector_store"] == {"kind": "faiss", "index": "Flat", "search": "exact",
                                                   "exact_limit": seed_index.settings.exact_limit}
