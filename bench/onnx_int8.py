"""torch against onnx-int8 (VEILLE_BACKEND): embedding speed, agreement of the vectors, retrieval quality.

- Speed: the same chunks of OrangeSum news (chunked as veille chunks them) embedded by both backends in
  turn, torch then onnx-int8, round after round; the median of the rounds. Whatever else loads the machine
  falls on both alike, so read the ratio. Query latency likewise, alternating question by question.
- Agreement: cosine between the two backends' vectors of the same text, documents and queries.
- Quality: PIAF recall@5 and MRR@10 (veille's hybrid search, and its dense half alone) over its 1,518
  paragraphs, and the golden questions over the seeds (`veille eval tests/golden.jsonl`); each backend
  searches an index it built itself.

    python bench/onnx_int8.py [--chunks 500] [--rounds 3] [--questions 1000] [--speed-only]

Named onnx_int8.py, not onnx.py: a script's folder comes first on sys.path, and bench/onnx.py would then
stand in for the onnx package. Needs the int8 model: `veille model build --onnx-int8` (`make onnx`).
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import shutil
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from piaf import load, rank_of, scores

from veille import build_index, open_index
from veille.chunk import chunk_spans
from veille.embed import SentenceTransformerEmbedder
from veille.evaluate import evaluate, read_golden
from veille.settings import ROOT, Settings, load_settings
from veille.store import load_store

ORANGESUM = ROOT.parent / "shared" / "data" / "orangesum" / "orangesum.jsonl.gz"
GOLDEN = ROOT / "tests" / "golden.jsonl"
COMPARED = ("torch", "onnx-int8")  # fp32 torch against the int8 copy (bf16: bench/gemma_speed.py)


def news_chunks(n: int, settings: Settings) -> list[str]:
    """The first n chunks of OrangeSum's articles, in file order."""
    out: list[str] = []
    with gzip.open(ORANGESUM, "rt", encoding="utf-8") as f:
        for line in f:
            text = json.loads(line)["article"].strip()
            spans = chunk_spans(text, ((0, len(text)),), settings.chunk_chars, settings.chunk_overlap_sentences)
            out += [text[a:b] for a, b in spans]
            if len(out) >= n:
                break
    return out[:n]


def speed(embedders: dict, texts: list[str], rounds: int, batch: int) -> tuple[dict, dict]:  # noqa: ANN001
    """Documents/s of each backend (median of interleaved rounds) and the vectors of the last round."""
    for e in embedders.values():
        e.embed_documents(texts[:batch], batch)  # load the model, warm its caches
    runs: dict[str, list[float]] = {name: [] for name in embedders}
    vectors = {}
    for _ in range(rounds):
        for name, e in embedders.items():
            t = time.perf_counter()
            vectors[name] = e.embed_documents(texts, batch)
            runs[name].append(len(texts) / (time.perf_counter() - t))
    return {name: statistics.median(r) for name, r in runs.items()}, vectors


def queries(embedders: dict, questions: list[str]) -> tuple[dict, dict]:  # noqa: ANN001
    """Each question embedded by each backend in turn: median milliseconds a query, and the vectors."""
    ms: dict[str, list[float]] = {name: [] for name in embedders}
    vectors: dict[str, list[np.ndarray]] = {name: [] for name in embedders}
    for q in questions:
        for name, e in embedders.items():
            t = time.perf_counter()
            vectors[name].append(e.embed_query(q))
            ms[name].append((time.perf_counter() - t) * 1000)
    return {n: statistics.median(v) for n, v in ms.items()}, {n: np.stack(v) for n, v in vectors.items()}


def cosine(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    sims = (a * b).sum(axis=1)  # both sides are unit vectors
    return float(sims.mean()), float(sims.min())


def piaf(tmp: Path, settings: Settings, embedder, paragraphs: list[str], sample: list, qvecs: np.ndarray) -> dict:  # noqa: ANN001
    """PIAF scores of veille's search and of its dense half alone, on an index this backend built."""
    corpus, folder = tmp / "piaf", tmp / f"piaf-{embedder.backend}"
    if not corpus.is_dir():
        corpus.mkdir()
        for pid, text in enumerate(paragraphs):
            (corpus / f"p{pid:04d}.txt").write_text(text + "\n", encoding="utf-8")
    s = replace(settings, corpus=corpus, index=folder)
    t = time.perf_counter()
    build_index(corpus, folder, settings=s, embedder=embedder)
    build_s = time.perf_counter() - t
    index = open_index(folder, settings=s, embedder=embedder)
    pid_of = {c.id: int(c.source[1:5]) for c in index.chunks.values()}
    hybrid = [rank_of(pid, [int(h.chunk.source[1:5]) for h in index.search(q, 30)]) for q, pid, _ in sample]
    store = load_store(folder, index.manifest, s)
    dense = [rank_of(pid, [pid_of[i] for i, _ in store.search(v, 30)])
             for (_, pid, _), v in zip(sample, qvecs, strict=True)]
    return {"hybrid": scores(hybrid), "dense": scores(dense), "build_s": build_s, "chunks": len(index.chunks)}


def golden(tmp: Path, settings: Settings, embedder) -> dict:  # noqa: ANN001
    corpus, folder = tmp / "seeds", tmp / f"golden-{embedder.backend}"
    if not corpus.is_dir():
        shutil.copytree(ROOT / "seeds", corpus)
    s = replace(settings, corpus=corpus, index=folder)
    build_index(corpus, folder, settings=s, embedder=embedder)
    result = evaluate(open_index(folder, settings=s, embedder=embedder), read_golden(GOLDEN))
    return {**result.scores(), "failures": result.failures}


def report(args: argparse.Namespace, n_texts: int, settings: Settings, r: dict) -> str:
    t, o = r["torch"], r["onnx-int8"]
    rows = [(f"documents/s ({n_texts} OrangeSum chunks, batch {settings.batch_size}, median of {args.rounds})",
             t["docs_s"], o["docs_s"], ".1f"),
            (f"query embedding, ms (median of {args.questions} PIAF questions)", t["query_ms"], o["query_ms"], ".1f"),
            ]
    if "piaf" in t:
        rows.append(("PIAF index build, s (not interleaved)", t["piaf"]["build_s"], o["piaf"]["build_s"], ".0f"))
    for kind in ("hybrid", "dense") if "piaf" in t else ():
        for key in ("recall@5", "MRR@10"):
            rows.append((f"PIAF {key} ({'veille search' if kind == 'hybrid' else 'dense only'})",
                         t["piaf"][kind][key], o["piaf"][kind][key], ".3f"))
    for key in ("answer_accuracy", "cited_source_accuracy", "abstention_accuracy", "recall@5") if "golden" in t else ():
        rows.append((f"golden {key}", t["golden"][key], o["golden"][key], ".3f"))
    lines = [f"# torch against onnx-int8 ({time.strftime('%Y-%m-%d')}, {settings.threads} threads each)", "",
             "| | torch | onnx-int8 | int8 / torch |", "|---|---|---|---|"]
    lines += [f"| {name} | {a:{fmt}} | {b:{fmt}} | {b / a if a else float('nan'):.2f} |" for name, a, b, fmt in rows]
    lines += ["", f"Cosine torch/int8, same text: documents mean {r['cos_docs'][0]:.4f}, min {r['cos_docs'][1]:.4f}; "
              f"queries mean {r['cos_queries'][0]:.4f}, min {r['cos_queries'][1]:.4f}."]
    if "piaf" in t:
        lines += [f"PIAF: {r['questions']} questions sampled from {r['all_questions']}, {t['piaf']['chunks']} chunks.",
                  f"Golden failures: torch {len(t['golden']['failures'])}, onnx-int8 {len(o['golden']['failures'])}."]
        for name in COMPARED:
            lines += [f"  {name}: {f}" for f in r[name]["golden"]["failures"]]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chunks", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--questions", type=int, default=1000)
    parser.add_argument("--speed-only", action="store_true", help="speed and agreement, no PIAF or golden")
    args = parser.parse_args()
    settings = load_settings()
    embedders = {b: SentenceTransformerEmbedder(settings.model_path, settings.threads, b) for b in COMPARED}
    texts = news_chunks(args.chunks, settings)
    docs_s, doc_vecs = speed(embedders, texts, args.rounds, settings.batch_size)
    paragraphs, all_questions = load()
    sample = random.Random(0).sample(all_questions, args.questions)
    query_ms, q_vecs = queries(embedders, [q for q, _, _ in sample])
    results: dict = {"cos_docs": cosine(doc_vecs["torch"], doc_vecs["onnx-int8"]),
                     "cos_queries": cosine(q_vecs["torch"], q_vecs["onnx-int8"]),
                     "questions": len(sample), "all_questions": len(all_questions)}
    with tempfile.TemporaryDirectory() as tmp:
        for name, e in embedders.items():
            results[name] = {"docs_s": docs_s[name], "query_ms": query_ms[name]}
            if not args.speed_only:
                results[name]["piaf"] = piaf(Path(tmp), settings, e, paragraphs, sample, q_vecs[name])
                results[name]["golden"] = golden(Path(tmp), settings, e)
    text = report(args, len(texts), settings, results)
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"onnx_int8{'_speed' if args.speed_only else ''}.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
