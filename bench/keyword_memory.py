"""Peak memory of building the keyword index: bm25s given token strings, against veille's own build.

Reads the chunks of the largest cached OrangeSum index (bench/orangesum.py) and builds BM25 over them one
way, in this process; run it once per way so that each peak is its own.

    python bench/keyword_memory.py tokens   # bm25s.BM25().index(lists of token strings), the old way
    python bench/keyword_memory.py ids      # veille.keyword.KeywordIndex.build (its score matrix in place)
"""

from __future__ import annotations

import argparse
import resource
import time

from orangesum import CACHE

from veille.keyword import KeywordIndex, indexed_text, tokenize
from veille.store import read_chunks


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("way", choices=["tokens", "ids"])
    args = parser.parse_args()
    folders = sorted(CACHE.glob("orangesum-*/index"), key=lambda p: int(p.parent.name.split("-")[1]))
    if not folders:
        raise SystemExit("run bench/orangesum.py first: its cached index holds the chunks this reads")
    chunks = read_chunks(folders[-1] / "chunks.jsonl")
    before = peak_mb()
    t = time.perf_counter()
    if args.way == "tokens":
        import bm25s

        bm25s.BM25().index([tokenize(indexed_text(c)) or ["~"] for c in chunks], show_progress=False)
    else:
        KeywordIndex.build(chunks)
    print(f"| {args.way} | {len(chunks):,} | {time.perf_counter() - t:.0f} | {before:,.0f} | {peak_mb():,.0f} "
          f"| {peak_mb() - before:,.0f} |")


if __name__ == "__main__":
    main()
