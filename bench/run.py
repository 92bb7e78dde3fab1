"""Benchmarks of veille on this machine: warm question latency and embedding speed by thread count.

    python bench/run.py --quick    # a few minutes: the golden questions over the seeds
    python bench/run.py            # more repetitions

Prints a Markdown report and writes it to bench/results/latest.md. Medians of repeated runs, measured in
one process, one thing at a time (2 cores: nothing else model-heavy should run meanwhile).
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import torch

from veille import build_index, open_index
from veille.settings import ROOT, load_settings

GOLDEN = ROOT / "tests" / "golden.jsonl"


def _pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(p * (len(xs) - 1)))]


def latency(index, questions: list[str], rounds: int) -> dict[str, dict[str, float]]:  # noqa: ANN001
    out: dict[str, list[float]] = {"search": [], "ask": []}
    index.ask(questions[0])  # warm: model loaded, caches filled
    for _ in range(rounds):
        for q in questions:
            t = time.perf_counter()
            index.search(q, 5)
            out["search"].append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            index.ask(q)
            out["ask"].append((time.perf_counter() - t) * 1000)
    return {k: {"p50": statistics.median(v), "p95": _pct(v, 0.95), "n": len(v)} for k, v in out.items()}


def embedding_speed(index, rounds: int) -> dict[int, float]:  # noqa: ANN001
    """Chunks per second embedding the seed chunks, by torch thread count."""
    texts = [c.text for c in index.chunks.values()]
    speeds = {}
    for threads in (1, 2):
        torch.set_num_threads(threads)
        runs = []
        for _ in range(rounds):
            t = time.perf_counter()
            index.embedder.embed_documents(texts, batch_size=16)
            runs.append(len(texts) / (time.perf_counter() - t))
        speeds[threads] = statistics.median(runs)
    torch.set_num_threads(load_settings().threads)
    return speeds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    rounds = 3 if args.quick else 10
    questions = [json.loads(line)["question"] for line in GOLDEN.read_text().splitlines() if line.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        corpus, folder = Path(tmp) / "corpus", Path(tmp) / "index"
        shutil.copytree(ROOT / "seeds", corpus)
        t = time.perf_counter()
        build_index(corpus, folder)
        build_s = time.perf_counter() - t
        index = open_index(folder)
        lat = latency(index, questions, rounds)
        speeds = embedding_speed(index, 2 if args.quick else 5)
    lines = [
        f"# veille benchmarks ({time.strftime('%Y-%m-%d')}, {'quick' if args.quick else 'full'})",
        "",
        f"Machine: {platform.machine()}, {torch.get_num_threads()} torch threads by default, "
        f"Python {platform.python_version()}, torch {torch.__version__}.",
        "",
        f"Index build of the 5 seed articles ({len(index.chunks)} chunks), cold, model load included: "
        f"{build_s:.1f} s.",
        "",
        f"| warm, {len(questions)} golden questions x {rounds} | p50 (ms) | p95 (ms) |",
        "|---|---|---|",
    ]
    lines += [f"| {k} | {v['p50']:.0f} | {v['p95']:.0f} |" for k, v in lat.items()]
    lines += ["", "| embedding threads | chunks/s (median) |", "|---|---|"]
    lines += [f"| {k} | {v:.1f} |" for k, v in speeds.items()]
    lines += ["", f"Two threads / one thread: {speeds[2] / speeds[1]:.2f}x."]
    report = "\n".join(lines) + "\n"
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "latest.md").write_text(report)
    print(report)


if __name__ == "__main__":
    main()
