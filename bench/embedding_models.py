"""The embedding models side by side: PIAF retrieval and answers, serving cost. Issue 15's table.

    python bench/embedding_models.py [--models multilingual-e5-small embeddinggemma-300m:torch-bf16 ...]
                                     [--parts all test serve] [--questions 1000] [--limit N]

A model is `name[:backend][@dimension]` (VEILLE_MODEL, VEILLE_BACKEND, VEILLE_DIMENSION). Parts:

- all: PIAF's 1,518 paragraphs, each indexed as an article (as bench/piaf.py does), and 1,000 fixed
  questions (random.Random(0), as `bench/piaf.py --questions 1000`): hybrid recall@1/5/10 and MRR@10 of
  the question's own paragraph, and the dense half alone; indexing chunks/s and tokens/s (the model's own
  token count) when this run built the index (cached in ~/.cache/veille/bench/piaf-all-<model>).
- test: PIAF's test split (veille/squad_eval.py's cache, one folder per model) answers every test
  question: hybrid recall of the gold paragraph (search k=10), the end-to-end answer scores (`veille
  eval`'s), search p50. Each model's answerer weights are its own when bench/fit_answer.py was run under
  VEILLE_MODEL=<model> (weights/<model>/), else e5-small's.
- serve: the seeds' first `make serve` in fresh processes: `veille index build` of the 5 seed articles
  (model load included), then `veille serve` to its first cited answer (bench/startup.py's measure); the
  peak resident memory of each process (/usr/bin/time of the build, VmHWM of the server after its answer).

Prints Markdown tables for docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import tempfile
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

from piaf import load, rank_of, scores
from startup import VEILLE, serve_to_answer

from veille import build_index, open_index
from veille.settings import ROOT, Settings, load_settings
from veille.squad_eval import evaluate_squad, prepare
from veille.store import load_store

PIAF = ROOT.parent / "shared" / "data" / "piaf" / "piaf-v1.1.json"
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "veille" / "bench"


def settings_of(spec: str) -> Settings:
    name, _, dim = spec.partition("@")
    model, _, backend = name.partition(":")
    return replace(load_settings(), model_name=model, backend=backend or "torch", dimension=int(dim or 0))


def environ(s: Settings) -> dict[str, str]:
    return {**os.environ, "VEILLE_MODEL": s.model_name, "VEILLE_BACKEND": s.backend,
            "VEILLE_DIMENSION": str(s.dimension), "GRADIO_ANALYTICS_ENABLED": "False"}


def tokens_of(index, texts: list[str]) -> int:  # noqa: ANN001
    tokenizer = index.embedder._load().tokenizer
    return sum(len(tokenizer(t)["input_ids"]) for t in texts)


def part_all(spec: str, s: Settings, n_questions: int) -> dict[str, float]:
    paragraphs, questions = load()
    questions = random.Random(0).sample(questions, n_questions) if n_questions else questions
    folder = CACHE / f"piaf-all-{spec.replace(':', '-').replace('@', '-')}"
    corpus, index_dir = folder / "corpus", folder / "index"
    fresh = not (index_dir / "manifest.json").is_file()
    corpus.mkdir(parents=True, exist_ok=True)
    for pid, text in enumerate(paragraphs):
        if not (corpus / f"p{pid:04d}.txt").is_file():
            (corpus / f"p{pid:04d}.txt").write_text(text + "\n", encoding="utf-8")
    s = replace(s, corpus=corpus, index=index_dir)
    t = time.perf_counter()
    build_index(corpus, index_dir, settings=s)
    built = time.perf_counter() - t
    index = open_index(index_dir, settings=s)
    hybrid = [rank_of(pid, [int(h.chunk.source[1:5]) for h in index.search(q, 30)]) for q, pid, _ in questions]
    pid_of = {c.id: int(c.source[1:5]) for c in index.chunks.values()}
    store = load_store(index_dir, index.manifest, s)
    dense = [rank_of(pid, [pid_of[i] for i, _ in store.search(index.embedder.embed_query(q), 30)])
             for q, pid, _ in questions]
    out = {f"all {k}": v for k, v in scores(hybrid).items()}
    out.update({f"all dense {k}": v for k, v in scores(dense).items()})
    out["chunks"] = len(index.chunks)
    if fresh:
        out["index chunks/s"] = len(index.chunks) / built
        out["index tokens/s"] = tokens_of(index, [c.text for c in index.chunks.values()]) / built
    return out


def part_fusion(spec: str, s: Settings, n_questions: int, weights: list[float]) -> dict[str, float]:
    """Hybrid recall at other dense weights (settings.dense_weight), over the `all` index: chosen on PIAF
    dev questions (2,000 sampled, the split of veille/squad.py), shown on the 1,000 fixed questions' test
    half. Each question is embedded once (its vector is reused for every weight)."""
    import json

    from veille.squad import digest

    paragraphs, questions = load()
    titles = [a["title"] for a in json.loads(PIAF.read_text(encoding="utf-8"))["data"] for _ in a["paragraphs"]]
    fixed = random.Random(0).sample(questions, n_questions)
    dev = random.Random(1).sample([q for q in questions if digest(titles[q[1]])[0] in "01234567"], 2000)
    test = [q for q in fixed if digest(titles[q[1]])[0] not in "01234567"]
    index_dir = CACHE / f"piaf-all-{spec.replace(':', '-').replace('@', '-')}" / "index"
    vectors: dict[str, object] = {}
    out = {}
    for w in weights:
        index = open_index(index_dir, settings=replace(s, index=index_dir, dense_weight=w))
        embed = index.embedder.embed_query

        def cached(q: str, embed=embed) -> object:  # noqa: ANN001 - each weight's questions embedded once
            return vectors[q] if q in vectors else vectors.setdefault(q, embed(q))

        index.embedder.embed_query = cached  # type: ignore[method-assign]
        try:
            for name, qs in (("dev", dev), ("fixed test half", test), ("fixed", fixed)):
                r = scores([rank_of(pid, [int(h.chunk.source[1:5]) for h in index.search(q, 30)]) for q, pid, _ in qs])
                out.update({f"w={w} {name} {k}": v for k, v in r.items() if k in ("recall@5", "MRR@10")})
        finally:
            index.embedder.embed_query = embed  # type: ignore[method-assign]
        mine = (f"{k} {v:.3f}" for k, v in out.items() if k.startswith(f"w={w} "))
        print(f"{spec} dense weight {w}: " + ", ".join(mine), flush=True)
    return out


def part_test(s: Settings, limit: int) -> dict[str, float]:
    dataset, index = prepare(PIAF, "test", settings=s)
    questions = [q for q in dataset.questions if q.answerable][: limit or None]
    index.search("échauffement", 1)
    ranks, times = [], []
    for q in questions:
        t = time.perf_counter()
        hits = index.search(q.question, 10)
        times.append((time.perf_counter() - t) * 1000)
        ranks.append(next((n for n, h in enumerate(hits, 1) if h.chunk.source == q.source), None))
    out = {f"test {k}": v for k, v in scores(ranks).items()}
    out["search p50 (ms)"] = statistics.median(times)
    asked = dataset.questions if not limit else [*questions, *[q for q in dataset.questions if not q.indexed][:limit]]
    out.update(evaluate_squad(index, asked).scores())
    return out


def peak_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def part_serve(s: Settings) -> dict[str, float]:
    env = environ(s)
    with tempfile.TemporaryDirectory() as tmp:
        index = Path(tmp) / "index"
        t = time.perf_counter()
        subprocess.run(["/usr/bin/time", "-f", "%M", "-o", f"{tmp}/rss", str(VEILLE), "index", "build", "--index",
                        str(index)], check=True, capture_output=True, env=env)
        build = time.perf_counter() - t
        rss = int(Path(f"{tmp}/rss").read_text().split()[-1])  # KB; getrusage's children maximum spans them all
        peaks: list[float] = []
        page, first = serve_to_answer(index, env=env, on_answer=lambda proc: peaks.append(peak_mb(proc.pid)))
    return {"seeds: index build (s)": build, "seeds: serve to first answer (s)": first,
            "seeds: first `make serve` (s)": build + first,
            "peak memory, seeds build (MB)": rss / 1024,
            "peak memory, server after an answer (MB)": peaks[0]}


ROWS = ["all recall@1", "all recall@5", "all recall@10", "all MRR@10", "all dense recall@5", "all dense MRR@10",
        "chunks", "index chunks/s", "index tokens/s",
        "test recall@1", "test recall@5", "test recall@10", "test MRR@10", "search p50 (ms)",
        "gold_in_answer", "answered", "gold_paragraph_cited", "abstained_when_missing", "false_refusals",
        "short_f1", "p50_ms", "p95_ms",
        "seeds: index build (s)", "seeds: serve to first answer (s)", "seeds: first `make serve` (s)",
        "peak memory, seeds build (MB)", "peak memory, server after an answer (MB)"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", nargs="+", default=["multilingual-e5-small", "embeddinggemma-300m"])
    parser.add_argument("--parts", nargs="+", default=["all", "test", "serve"],
                        choices=["all", "test", "serve", "fusion"])
    parser.add_argument("--weights", type=float, nargs="+", default=[0.4, 0.5, 0.6, 0.7], help="fusion: dense weights")
    parser.add_argument("--questions", type=int, default=1000, help="PIAF questions sampled for `all` (0: 7,569)")
    parser.add_argument("--limit", type=int, default=0, help="test: only the first N answerable (and N missing)")
    args = parser.parse_args()
    results: dict[str, dict[str, float]] = {}
    for spec in args.models:
        s, out = settings_of(spec), {}
        for part in args.parts:
            t = time.perf_counter()
            out.update(part_all(spec, s, args.questions) if part == "all" else part_test(s, args.limit)
                       if part == "test" else part_fusion(spec, s, args.questions, args.weights)
                       if part == "fusion" else part_serve(s))
            print(f"{spec}: {part} done in {time.perf_counter() - t:.0f} s", flush=True)
        results[spec] = out
        print(f"{spec}: {out}", flush=True)  # kept even if a later model fails
    print(f"\nEmbedding models side by side ({date.today().isoformat()}, `python bench/embedding_models.py "
          f"--models {' '.join(args.models)} --parts {' '.join(args.parts)}`)\n")
    print("| measure | " + " | ".join(args.models) + " |")
    print("|---|" + "---|" * len(args.models))
    fusion = list(dict.fromkeys(k for m in args.models for k in results[m] if k.startswith("w=")))  # --parts fusion
    for row in [r for r in ROWS + fusion if any(r in results[m] for m in args.models)]:
        cells = [results[m].get(row, float("nan")) for m in args.models]
        fmt = "{:.0f}" if "ms" in row or "MB" in row or row == "chunks" or "tokens/s" in row else \
            "{:.1f}" if "/s" in row or "(s)" in row else "{:.3f}"
        print(f"| {row} | " + " | ".join("—" if c != c else fmt.format(c) for c in cells) + " |")


if __name__ == "__main__":
    main()
