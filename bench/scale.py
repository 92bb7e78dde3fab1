"""Question latency against corpus size: search and ask, warm, at 1k, 10k, 100k and 1M chunks.

Texts are real: OrangeSum articles chunked by veille; past the 36k articles, copies of them with their
sentences shuffled (so each copy chunks and ranks differently). Vectors are real where the OrangeSum
benchmark embedded the chunk (its cached index, bench/orangesum.py); the rest are synthetic: the sum of
two real chunk vectors plus noise, normalised, so they cluster like real ones. Questions are real: the
test-split titles, embedded by the real model. Each size is built by veille's own build (keyword index,
FAISS index choice, manifest, atomic write), with an embedder that replays those vectors instead of running
the model, and timed; then questions are asked through the public API.

    python bench/scale.py [--sizes 1000 10000 100000 1170000] [--questions 200] [--json F] [--plot F]

Writes bench/results/scale.json and docs/latency.png (or --json, --plot). Rows of sizes not asked for
this time are kept from the earlier file (each row carries its date), so one size can be re-measured on
its own and the plot still has every size. Sizes are estimates of the chunks written; near-duplicate articles (and their
copies) are indexed once, so 100,000 gives about 86k chunks and 1,170,000 about a million.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import random
import re
import shutil
import statistics
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from flops import sample_chunks
from orangesum import CACHE, load

from veille import build_index, open_index
from veille.embed import Embedder, Kind
from veille.index import default_embedder
from veille.settings import ROOT, load_settings

RESULTS = ROOT / "bench" / "results"
CHARS_PER_CHUNK = 375  # OrangeSum with 600-character chunks and one sentence of overlap, measured
_SENTENCE = re.compile(r"(?<=[.!?])\s*(?=[A-ZÀ-Ý«\"])")


class ReplayEmbedder(Embedder):
    """Documents get their real vector when the OrangeSum benchmark embedded them, else a synthetic one;
    questions go to the real model. Same name and checksum as the real model, so the index is veille's."""

    def __init__(self, real: Embedder, known: dict[str, np.ndarray], pool: np.ndarray) -> None:
        super().__init__()
        self.real, self.known, self.pool = real, known, pool
        self.name, self.checksum, self.dimension = real.name, real.checksum, real.dimension

    def embed_batch(self, texts: Sequence[str], kind: Kind) -> np.ndarray:
        if kind == "query":
            return self.real.embed_batch(texts, kind)
        out = []
        for t in texts:
            v = self.known.get(t)
            if v is None:
                rng = np.random.default_rng(int.from_bytes(hashlib.blake2b(t.encode(), digest_size=8).digest()))
                a, b = self.pool[rng.integers(len(self.pool), size=2)]
                v = a + b + 0.5 * rng.standard_normal(len(a)).astype(np.float32) / np.sqrt(len(a))
            out.append(v / np.linalg.norm(v))
        return np.asarray(out, dtype=np.float32)


def real_vectors(embedder: Embedder, sample: int) -> dict[str, np.ndarray]:
    """Chunk text -> vector from the largest cached OrangeSum index, else from embedding a sample."""
    folders = sorted(CACHE.glob("orangesum-*/index"), key=lambda p: int(p.parent.name.split("-")[1]))
    if folders:
        index = open_index(folders[-1])
        ids, vectors = index._state.store.vectors()
        return {index.chunks[int(i)].text: v for i, v in zip(ids, vectors, strict=True)}
    texts = sample_chunks(sample)
    return dict(zip(texts, embedder.embed_documents(texts, progress=True), strict=True))


def write_corpus(folder: Path, articles: list[dict], target_chunks: int) -> int:
    """Write articles (then shuffled copies) until their chunks should reach the target (an estimate)."""
    folder.mkdir(parents=True, exist_ok=True)
    chunks, copy = 0, 0
    while chunks < target_chunks:
        rng = random.Random(copy)
        for a in articles:
            text = a["article"]
            if copy:
                sentences = _SENTENCE.split(text)
                rng.shuffle(sentences)
                text = " ".join(sentences)
            path = folder / f"{copy}-{a['id']}.txt"
            path.write_text(text + "\n", encoding="utf-8")
            chunks += max(1, round(len(text) / CHARS_PER_CHUNK))
            if chunks >= target_chunks:
                break
        copy += 1
    return chunks


def _pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(p * (len(xs) - 1)))]


def measure(size: int, articles: list[dict], replay: ReplayEmbedder, questions: list[str]) -> dict:
    folder = CACHE / "scale" / str(size)
    shutil.rmtree(folder, ignore_errors=True)
    written = write_corpus(folder / "corpus", articles, size)
    t = time.perf_counter()
    report = build_index(folder / "corpus", folder / "index", embedder=replay)
    build = time.perf_counter() - t
    t = time.perf_counter()
    index = open_index(folder / "index", embedder=replay.real)
    load_s = time.perf_counter() - t
    t = time.perf_counter()
    index.ask(questions[0])
    first_ask = time.perf_counter() - t
    times: dict[str, list[float]] = {"search": [], "ask": []}
    for q in questions:
        for name, call in (("search", index.search), ("ask", index.ask)):
            t = time.perf_counter()
            call(q)
            times[name].append((time.perf_counter() - t) * 1000)
    store = index.manifest["vector_store"]
    row = {"chunks": report.total_chunks, "articles": report.articles, "written": written, "questions": len(questions),
           "date": datetime.date.today().isoformat(),
           "build_s_without_embedding": build, "load_s": load_s, "first_ask_s": first_ask, "store": store,
           **{f"{k}_p50": statistics.median(v) for k, v in times.items()},
           **{f"{k}_p95": _pct(v, 0.95) for k, v in times.items()}}
    print(json.dumps(row), flush=True)
    shutil.rmtree(folder / "corpus")
    shutil.rmtree(folder)
    return row


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4))
    xs = [r["chunks"] for r in rows]
    for key, style in (("search", "o-"), ("ask", "s-")):
        ax.plot(xs, [r[f"{key}_p50"] for r in rows], style, label=f"{key} p50")
        ax.plot(xs, [r[f"{key}_p95"] for r in rows], style, alpha=0.4, label=f"{key} p95")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("chunks in the index")
    ax.set_ylabel("milliseconds per question (warm)")
    ax.set_title("veille question latency against corpus size (2 cores)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000, 1_170_000])
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--real", type=int, default=500, help="chunks to embed when no OrangeSum index is cached")
    parser.add_argument("--plot", type=Path, default=ROOT / "docs" / "latency.png")
    parser.add_argument("--json", type=Path, default=RESULTS / "scale.json", help="rows kept and merged here")
    args = parser.parse_args()
    articles, _ = load(40_000)
    real = default_embedder(load_settings())
    known = real_vectors(real, args.real)
    pool = np.asarray(list(known.values()))
    replay = ReplayEmbedder(real, known, pool)
    questions = [a["title"] for a in articles[: args.questions]]
    rows = [measure(size, articles, replay, questions) for size in args.sizes]
    earlier = json.loads(args.json.read_text()) if args.json.is_file() else []
    rows += [r for r in earlier if not any(abs(r["written"] - size) <= size // 100 for size in args.sizes)]
    rows.sort(key=lambda r: r["chunks"])
    print("\nOrangeSum titles as questions, warm, one process, 2 threads\n")
    print("| chunks | FAISS index | search p50 / p95 (ms) | ask p50 / p95 (ms) | build without embedding (s) "
          "| open (s) | first ask after open (s) | questions | date |\n|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        s = r["store"]
        kind = s["index"] + (f", nprobe {s['nprobe']}, recall@10 {s['recall@10']:.3f}" if "nprobe" in s else "")
        first = f"{r['first_ask_s']:.1f}" if "first_ask_s" in r else "-"
        print(f"| {r['chunks']:,} | {kind} | {r['search_p50']:.0f} / {r['search_p95']:.0f} "
              f"| {r['ask_p50']:.0f} / {r['ask_p95']:.0f} | {r['build_s_without_embedding']:.0f} | {r['load_s']:.1f} "
              f"| {first} | {r.get('questions', 200)} | {r.get('date', '2026-11-22')} |")
    args.json.parent.mkdir(exist_ok=True)
    args.json.write_text(json.dumps(rows, indent=1))
    plot(rows, args.plot)


if __name__ == "__main__":
    main()
