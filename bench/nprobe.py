"""Does `ann.py`'s recall estimate (sample questions made from stored vectors) hold for real questions?

For each nprobe, recall@10 against exact search on `ann.py`'s own sample questions and on real questions,
over two sets of vectors: the real OrangeSum chunks cached by bench/orangesum.py with 300 titles as
questions, and bench/stores.py's 100k synthetic vectors with its real PIAF questions.

    python bench/nprobe.py
"""

from __future__ import annotations

import time

import faiss
import numpy as np
from orangesum import CACHE, load
from stores import base_vectors, synthetic

from veille import ann, open_index


def study(name: str, vectors: np.ndarray, questions: np.ndarray) -> None:
    ids = np.arange(len(vectors), dtype=np.int64)
    ivf = ann.train_ivf(ids, vectors)  # as ann.choose trains it
    flat, samples = ann.exact(ids, vectors), ann.sample_queries(vectors)
    _, sample_truth = flat.search(samples, ann.TOP)
    _, real_truth = flat.search(questions, ann.TOP)
    print(f"\n{name}: {len(vectors):,} vectors, IVF{ivf.nlist}\n")
    print("| nprobe | recall@10, sample questions | recall@10, real questions | ms a question |\n|---|---|---|---|")
    for probe in (8, 16, 32, 64, 128, 256, 512):
        ivf.nprobe = probe
        faiss.omp_set_num_threads(2)
        sample, real = ann.recall_at(ivf, samples, sample_truth), ann.recall_at(ivf, questions, real_truth)
        faiss.omp_set_num_threads(1)  # as a single question is searched
        t = time.perf_counter()
        for q in questions[:100]:
            ivf.search(q[None], 30)
        print(f"| {probe} | {sample:.3f} | {real:.3f} | {(time.perf_counter() - t) * 10:.2f} |")


def main() -> None:
    paragraphs, questions = base_vectors()
    study("bench/stores.py synthetic vectors, PIAF questions", synthetic(100_000, paragraphs), questions)
    folders = sorted(CACHE.glob("orangesum-*/index"), key=lambda p: int(p.parent.name.split("-")[1]))
    if not folders:
        raise SystemExit("run bench/orangesum.py first: it embeds the OrangeSum chunks this study reads")
    index = open_index(folders[-1])
    _, vectors = index._state.store.vectors()
    articles, _ = load(300)
    titles = np.stack([index.embedder.embed_query(a["title"]) for a in articles]).astype(np.float32)
    study("OrangeSum real chunks, titles as questions", np.ascontiguousarray(vectors, dtype=np.float32), titles)


if __name__ == "__main__":
    main()
