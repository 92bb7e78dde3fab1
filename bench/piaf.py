"""PIAF v1.1, side by side: veille against plain BM25 and the LangChain tutorial pipeline.

Each of PIAF's 1,518 paragraphs is indexed as an article; each of its 7,569 questions must find its own
paragraph. Reports recall@1/5/10 and MRR@10 for the three systems in one run, the veille/baseline ratios,
and, on a sample, how often veille's extractive answer holds a gold answer (plus SQuAD exact match and
F1 against the quoted sentence, which are low by construction: veille quotes a sentence, not a span).

    python bench/piaf.py [--questions N] [--answers 1000]
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

from veille import build_index, open_index, squad
from veille.settings import ROOT

PIAF = ROOT.parent / "shared" / "data" / "piaf" / "piaf-v1.1.json"


def load() -> tuple[list[str], list[tuple[str, int, list[str]]]]:
    data = json.loads(PIAF.read_text(encoding="utf-8"))["data"]
    paragraphs, questions = [], []
    for article in data:
        for para in article["paragraphs"]:
            pid = len(paragraphs)
            paragraphs.append(para["context"])
            questions += [(qa["question"], pid, [a["text"] for a in qa["answers"]]) for qa in para["qas"]]
    return paragraphs, questions


def scores(ranks: list[int | None]) -> dict[str, float]:
    n = len(ranks)
    return {"recall@1": sum(r == 1 for r in ranks if r) / n, "recall@5": sum(r <= 5 for r in ranks if r) / n,
            "recall@10": sum(r <= 10 for r in ranks if r) / n, "MRR@10": sum(1 / r for r in ranks if r and r <= 10) / n}


def rank_of(gold: int, ranked: list[int]) -> int | None:
    seen: list[int] = []
    for pid in ranked:
        if pid not in seen:
            seen.append(pid)
        if len(seen) > 10:
            break
    return seen.index(gold) + 1 if gold in seen[:10] else None


def run_veille(folder: Path, paragraphs: list[str], questions: list) -> tuple[list, object]:  # noqa: ANN001
    corpus = folder / "piaf"
    corpus.mkdir()
    for pid, text in enumerate(paragraphs):
        (corpus / f"p{pid:04d}.txt").write_text(text + "\n", encoding="utf-8")
    build_index(corpus, folder / "index")
    index = open_index(folder / "index")
    ranks = [rank_of(pid, [int(h.chunk.source[1:5]) for h in index.search(q, 30)]) for q, pid, _ in questions]
    return ranks, index


def run_bm25(paragraphs: list[str], questions: list) -> list:  # noqa: ANN001
    import bm25s

    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize(paragraphs, stopwords="fr", show_progress=False), show_progress=False)
    tokens = bm25s.tokenize([q for q, _, _ in questions], stopwords="fr", show_progress=False)
    docs, _ = retriever.retrieve(tokens, k=10, show_progress=False)
    return [rank_of(pid, list(map(int, row))) for row, (_, pid, _) in zip(docs, questions, strict=True)]


def run_langchain(paragraphs: list[str], questions: list, model_path: Path) -> list:  # noqa: ANN001
    """The tutorial pipeline: RecursiveCharacterTextSplitter(1000, 200), HuggingFaceEmbeddings, FAISS."""
    from langchain_community.vectorstores import FAISS
    from langchain_core.documents import Document
    from langchain_huggingface import HuggingFaceEmbeddings
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
    docs = splitter.split_documents([Document(page_content=t, metadata={"pid": i}) for i, t in enumerate(paragraphs)])
    store = FAISS.from_documents(docs, HuggingFaceEmbeddings(model_name=str(model_path)))
    return [rank_of(pid, [d.metadata["pid"] for d in store.similarity_search(q, k=10)]) for q, pid, _ in questions]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", type=int, default=0, help="a random sample (0: all 7,569)")
    parser.add_argument("--answers", type=int, default=1000, help="questions sampled for the answer scores")
    args = parser.parse_args()
    paragraphs, questions = load()
    if args.questions:
        questions = random.Random(0).sample(questions, args.questions)
    results, times = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        results["veille"], index = run_veille(Path(tmp), paragraphs, questions)
        times["veille"] = time.perf_counter() - t
        t = time.perf_counter()
        results["BM25"] = run_bm25(paragraphs, questions)
        times["BM25"] = time.perf_counter() - t
        t = time.perf_counter()
        results["LangChain tutorial"] = run_langchain(paragraphs, questions, index.settings.model_path)
        times["LangChain tutorial"] = time.perf_counter() - t
        sample = random.Random(1).sample(questions, min(args.answers, len(questions)))
        holds = em = f = 0.0
        for q, _, golds in sample:
            answer = index.ask(q)
            text, short = ("", "") if answer.abstained else (answer.text, answer.short or "")
            holds += any(squad.holds(text, g) for g in golds)
            em += max(squad.exact_match(short, g) for g in golds)
            f += max(squad.f1(short, g) for g in golds)
    table = {name: scores(r) for name, r in results.items()}
    print(f"PIAF v1.1: {len(paragraphs)} paragraphs, {len(questions)} questions\n")
    print("| system | recall@1 | recall@5 | recall@10 | MRR@10 | time (s) |\n|---|---|---|---|---|---|")
    for name, s in table.items():
        print(f"| {name} | {s['recall@1']:.3f} | {s['recall@5']:.3f} | {s['recall@10']:.3f} | {s['MRR@10']:.3f} "
              f"| {times[name]:.0f} |")
    for base in ("BM25", "LangChain tutorial"):
        ratios = ", ".join(f"{k} {table['veille'][k] / table[base][k]:.2f}x" for k in ("recall@5", "MRR@10"))
        print(f"\nveille / {base}: {ratios}")
    n = len(sample)
    print(f"\nExtractive answers on {n} questions (every paragraph indexed; bench/piaf_answers.py has the split): "
          f"the answer holds a gold answer {holds / n:.3f}; short answer exact match {em / n:.3f}, F1 {f / n:.3f}.")


if __name__ == "__main__":
    main()
