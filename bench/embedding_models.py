"""The two embedding models side by side on PIAF's test split: hybrid retrieval and end-to-end answers.

    python bench/embedding_models.py [--models multilingual-e5-small embeddinggemma-300m] [--limit N]

For each model, the test split's index (veille/squad_eval.py's cache, one folder per model: built once,
the build timed) answers every test question. Reported: hybrid recall@1/5/10 and MRR@10 of the gold
paragraph over the answerable questions (search k=10), the end-to-end answer scores (`veille eval`'s),
query latency (search alone, p50), indexing chunks/s when this run built the index. Each model's answerer
weights are its own when bench/fit_answer.py was run under VEILLE_MODEL=<model> (weights/<model>/), else
e5-small's. Prints a Markdown table for docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import replace
from datetime import date

from veille.settings import ROOT, load_settings
from veille.squad_eval import cache_folder, evaluate_squad, prepare

PIAF = ROOT.parent / "shared" / "data" / "piaf" / "piaf-v1.1.json"
ROWS = ["recall@1", "recall@5", "recall@10", "MRR@10", "search p50 (ms)", "gold_in_answer", "answered",
        "gold_paragraph_cited", "abstained_when_missing", "false_refusals", "short_f1", "p50_ms", "index chunks/s"]


def run(model: str, limit: int) -> dict[str, float]:
    settings = replace(load_settings(), model_name=model)
    fresh = not (cache_folder(PIAF, "test", settings) / "index" / "manifest.json").is_file()
    t = time.perf_counter()
    dataset, index = prepare(PIAF, "test", settings=settings)
    built = time.perf_counter() - t
    questions = [q for q in dataset.questions if q.answerable][: limit or None]
    index.search("échauffement", 1)
    ranks, times = [], []
    for q in questions:
        t = time.perf_counter()
        hits = index.search(q.question, 10)
        times.append((time.perf_counter() - t) * 1000)
        ranks.append(next((n for n, h in enumerate(hits, 1) if h.chunk.source == q.source), None))
    n = len(ranks)
    out = {"recall@1": sum(r == 1 for r in ranks if r) / n, "recall@5": sum(r <= 5 for r in ranks if r) / n,
           "recall@10": sum(r is not None for r in ranks) / n, "MRR@10": sum(1 / r for r in ranks if r) / n,
           "search p50 (ms)": statistics.median(times)}
    asked = dataset.questions if not limit else [*questions, *[q for q in dataset.questions if not q.indexed][:limit]]
    out.update(evaluate_squad(index, asked).scores())
    out["index chunks/s"] = index.status()["chunks"] / built if fresh else float("nan")
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", nargs="+", default=["multilingual-e5-small", "embeddinggemma-300m"])
    parser.add_argument("--limit", type=int, default=0, help="only the first N answerable (and N missing) questions")
    args = parser.parse_args()
    results = {m: run(m, args.limit) for m in args.models}
    print(f"PIAF v1.1 test split, hybrid search and extractive answers ({date.today().isoformat()}, "
          f"`python bench/embedding_models.py{f' --limit {args.limit}' if args.limit else ''}`)\n")
    print("| measure | " + " | ".join(args.models) + " |")
    print("|---|" + "---|" * len(args.models))
    for row in ROWS:
        cells = [results[m].get(row, float("nan")) for m in args.models]
        fmt = "{:.0f}" if "ms" in row else "{:.1f}" if "/s" in row else "{:.3f}"
        print(f"| {row} | " + " | ".join("—" if c != c else fmt.format(c) for c in cells) + " |")


if __name__ == "__main__":
    main()
