"""Both vector stores at 100k chunks: insert time, opening, query latency, recall@10 against exact search,
disk size and process memory, through veille's own VectorStore interface (so FAISS's automatic exact/IVF
choice and Milvus's FLAT collection are what is measured).

The vectors are synthetic but shaped like real ones: 256 PIAF paragraphs (their first 600 characters, a
chunk) are embedded once with veille's model and cached; each of the N vectors mixes two of them at a
random weight, adds Gaussian noise and is normalised. The queries are real embeddings of 300 PIAF
questions. Each store writes in one process and answers in another, so each memory figure is that
process's own: the writer's peak, and what a process answering questions holds.

    python bench/stores.py [--n 100000] [--queries 300] [--stores faiss milvus]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from veille.settings import ROOT, Settings, load_settings

PIAF = ROOT.parent / "shared" / "data" / "piaf" / "piaf-v1.1.json"
RESULTS = ROOT / "bench" / "results"
BASE = RESULTS / "stores-base.npz"
WORK = Path("/tmp/veille-bench-stores")
PARAGRAPHS, QUESTIONS, CHARS = 256, 300, 600
NOISE = 0.25  # norm of the added noise, before normalising: near copies stay near, none is identical
K, CANDIDATES = 10, 30  # recall@10, measured on the 30 candidates veille's dense search asks for


def base_vectors() -> tuple[np.ndarray, np.ndarray]:
    """(paragraph vectors, question vectors): real embeddings, computed once and cached."""
    if BASE.is_file():
        with np.load(BASE, allow_pickle=False) as cached:
            return cached["paragraphs"], cached["questions"]
    from veille.index import default_embedder

    data = json.loads(PIAF.read_text(encoding="utf-8"))["data"]
    paras = [p for article in data for p in article["paragraphs"]]
    rng = np.random.default_rng(0)
    picked = [paras[i] for i in rng.choice(len(paras), PARAGRAPHS, replace=False)]
    questions = [qa["question"] for p in picked for qa in p["qas"]][:QUESTIONS]
    embedder = default_embedder(replace(load_settings(), threads=1))
    p = embedder.embed_documents([p["context"][:CHARS] for p in picked], progress=True)
    q = np.stack([embedder.embed_query(text) for text in questions])
    RESULTS.mkdir(parents=True, exist_ok=True)
    np.savez(BASE, paragraphs=p, questions=q)
    return p, q


def synthetic(n: int, paragraphs: np.ndarray, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    i, j = rng.integers(len(paragraphs), size=(2, n))
    w = rng.uniform(0.5, 1.0, size=(n, 1)).astype(np.float32)
    noise = rng.standard_normal((n, paragraphs.shape[1])).astype(np.float32) * (NOISE / np.sqrt(paragraphs.shape[1]))
    v = w * paragraphs[i] + (1 - w) * paragraphs[j] + noise
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def size_mb(path: Path) -> float:
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files) / 1e6


def settings_for(kind: str) -> Settings:
    folder = WORK / kind / "index"
    return replace(load_settings(), store=kind, index=folder, milvus_uri="", milvus_collection="bench")


def write(kind: str, n: int) -> dict[str, object]:
    from veille.store import new_store

    settings = settings_for(kind)
    folder = settings.index
    shutil.rmtree(WORK / kind, ignore_errors=True)
    folder.mkdir(parents=True)
    paragraphs, _ = base_vectors()
    vectors, ids = synthetic(n, paragraphs), np.arange(n, dtype=np.int64)
    before = rss_mb()
    store = new_store(settings, vectors.shape[1], folder)
    t = time.perf_counter()
    for s in range(0, n, 10_000):  # the way a build of many articles adds them
        store.add(ids[s : s + 10_000], vectors[s : s + 10_000])
    inserted = time.perf_counter() - t
    t = time.perf_counter()
    store.prepare(settings)
    store.save(folder)
    store.commit()
    prepared = time.perf_counter() - t
    disk = size_mb(folder) + (size_mb(folder.parent / "index.milvus.db") if kind == "milvus" else 0.0)
    return {"insert_s": inserted, "prepare_save_s": prepared, "disk_mb": disk, "writer_peak_mb": peak_mb(),
            "writer_data_mb": before, "described": store.describe()}


def read(kind: str, n: int, queries: int) -> dict[str, object]:
    from veille.store import load_store

    settings = settings_for(kind)
    paragraphs, questions = base_vectors()
    vectors = synthetic(n, paragraphs)
    questions = questions[:queries]
    truth = np.argsort(-(questions @ vectors.T), axis=1)[:, :K]  # exact top 10 (ids are row numbers)
    del vectors
    before = rss_mb()
    manifest: dict[str, Any] = {"model": {"dimension": paragraphs.shape[1]}, "vector_store": {"kind": kind},
                                "articles": {"synthetic": {"chunks": range(n)}}}
    t = time.perf_counter()
    store = load_store(settings.index, manifest, settings)
    opened = time.perf_counter() - t
    for q in questions[:5]:  # warm
        store.search(q, CANDIDATES)
    times, recalls = [], []
    for q, exact in zip(questions, truth, strict=True):
        t = time.perf_counter()
        hits = store.search(q, CANDIDATES)
        times.append((time.perf_counter() - t) * 1000)
        recalls.append(len({i for i, _ in hits[:K]} & set(exact.tolist())) / K)
    times.sort()
    return {"open_s": opened, "p50_ms": statistics.median(times), "p95_ms": times[round(0.95 * (len(times) - 1))],
            f"recall@{K}": float(np.mean(recalls)), "reader_rss_mb": rss_mb(), "reader_store_mb": rss_mb() - before,
            "queries": len(times)}


def child(*args: str) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(f"{' '.join(args)} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=QUESTIONS)
    ap.add_argument("--stores", nargs="+", default=["faiss", "milvus"])
    ap.add_argument("--child", nargs=2, metavar=("STEP", "STORE"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        step, kind = args.child
        print(json.dumps(write(kind, args.n) if step == "write" else read(kind, args.n, args.queries)))
        return
    base_vectors()  # embed once, before the timed children
    rows = {}
    for kind in args.stores:
        rows[kind] = {**child("--child", "write", kind, "--n", str(args.n)),
                      **child("--child", "read", kind, "--n", str(args.n), "--queries", str(args.queries))}
        print(kind, json.dumps(rows[kind]), flush=True)
    shutil.rmtree(WORK, ignore_errors=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "stores.json").write_text(json.dumps(rows, indent=1))
    print(f"\n| {args.n:,} vectors | insert (s) | prepare+save (s) | open (s) | p50 (ms) | p95 (ms) | recall@{K} "
          "| disk (MB) | writer peak (MB) | reader RSS (MB) |\n|---|---|---|---|---|---|---|---|---|---|")
    for kind, r in rows.items():
        print(f"| {kind} | {r['insert_s']:.1f} | {r['prepare_save_s']:.1f} | {r['open_s']:.2f} | {r['p50_ms']:.1f} "
              f"| {r['p95_ms']:.1f} | {r[f'recall@{K}']:.3f} | {r['disk_mb']:.0f} | {r['writer_peak_mb']:.0f} "
              f"| {r['reader_rss_mb']:.0f} |")


if __name__ == "__main__":
    main()
