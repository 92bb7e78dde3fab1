"""Which chunk size retrieves best? PIAF's Wikipedia articles as long documents, questions as queries.

Each PIAF article (its paragraphs joined by blank lines) becomes one file, so chunking matters as it does
for news articles. A question counts as found at rank k when one of the top k chunks overlaps the gold
paragraph's span. Run: python bench/chunk_size.py [--questions 1500] [--sizes 300 600 1000 1500]
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from veille import build_index, open_index
from veille.settings import ROOT, load_settings

PIAF = ROOT.parent / "shared" / "data" / "piaf" / "piaf-v1.1.json"


def corpus(folder: Path) -> list[tuple[str, str, int, int]]:
    """Write one file per article; return (question, source, gold start, gold end)."""
    data = json.loads(PIAF.read_text(encoding="utf-8"))["data"]
    questions = []
    for n, article in enumerate(data):
        source = f"piaf_{n:03d}.txt"
        text, offset = article["title"] + "\n\n", len(article["title"]) + 2
        for para in article["paragraphs"]:
            start = offset
            text += para["context"] + "\n\n"
            offset = len(text)
            questions += [(qa["question"], source, start, start + len(para["context"])) for qa in para["qas"]]
        (folder / source).write_text(text, encoding="utf-8")
    return questions


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", type=int, default=1500)
    parser.add_argument("--sizes", type=int, nargs="+", default=[300, 600, 1000, 1500])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        docs = Path(tmp) / "docs"
        docs.mkdir()
        questions = corpus(docs)
        random.Random(0).shuffle(questions)
        questions = questions[: args.questions]
        print("| chunk chars | chunks | recall@1 | recall@5 | MRR@10 | build (s) |\n|---|---|---|---|---|---|")
        for size in args.sizes:
            folder = Path(tmp) / f"index-{size}"
            settings = replace(load_settings(), chunk_chars=size, corpus=docs, index=folder)
            t = time.perf_counter()
            build_index(docs, folder, settings=settings)
            build = time.perf_counter() - t
            index = open_index(folder, settings=settings)
            r1 = r5 = mrr = 0.0
            for q, source, a, b in questions:
                hits = index.search(q, 10)
                ranks = [i for i, h in enumerate(hits, 1)
                         if h.chunk.source == source and h.chunk.start < b and h.chunk.end > a]
                if ranks:
                    r1 += ranks[0] == 1
                    r5 += ranks[0] <= 5
                    mrr += 1 / ranks[0]
            n = len(questions)
            print(f"| {size} | {len(index.chunks)} | {r1 / n:.3f} | {r5 / n:.3f} | {mrr / n:.3f} | {build:.0f} |",
                  flush=True)


if __name__ == "__main__":
    main()
