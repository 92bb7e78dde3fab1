"""How close indexing comes to this machine's limit for the model.

The limit: e5-small's FLOPs per token (its 12 transformer layers: 2 x 21.3M weights, plus attention over
the chunk's own tokens) times the tokens of the chunks, against the rate a large float32 matrix product
reaches here with the same threads. The fraction reached is embedding's FLOP rate over that rate.

    python bench/flops.py [--chunks 500]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
from orangesum import load

from veille.chunk import chunk_article
from veille.index import default_embedder
from veille.ingest import clean
from veille.settings import load_settings
from veille.types import Article

LAYERS, HIDDEN, FFN = 12, 384, 1536


def flops_per_token(seq: int) -> float:
    """Multiply-adds x 2: Q, K, V, output projections and the two feed-forward matrices, plus the
    attention scores and their weighted sum over `seq` tokens, in each layer (embedding lookups are free)."""
    weights = 4 * HIDDEN * HIDDEN + 2 * HIDDEN * FFN
    return LAYERS * 2 * (weights + 2 * seq * HIDDEN)


def matmul_rate(threads: int, size: int = 2048, rounds: int = 5) -> float:
    """GFLOP/s of float32 matrix products at this thread count (median of rounds)."""
    torch.set_num_threads(threads)
    a, b = torch.randn(size, size), torch.randn(size, size)
    torch.mm(a, b)
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        torch.mm(a, b)
        times.append(time.perf_counter() - t)
    return 2 * size**3 / statistics.median(times) / 1e9


def sample_chunks(n: int) -> list[str]:
    settings = load_settings()
    texts: list[str] = []
    for a in load(2_000)[0][1500:]:  # articles outside the test split
        original = a["article"] + "\n"
        title, date, segments = clean(original)
        article = Article(f"{a['id']}.txt", original, title, date, "", segments)
        texts += [c.text for c in chunk_article(article, settings.chunk_chars, settings.chunk_overlap_sentences, 0)]
        if len(texts) >= n:
            return texts[:n]
    return texts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chunks", type=int, default=500)
    args = parser.parse_args()
    settings = load_settings()
    embedder = default_embedder(settings)
    texts = sample_chunks(args.chunks)
    embedder.embed_documents(texts[:16], settings.batch_size)  # load the model
    tokenizer = embedder._load().tokenizer
    lengths = [len(ids) for ids in tokenizer(["passage: " + t for t in texts])["input_ids"]]
    work = sum(n * flops_per_token(n) for n in lengths)
    t = time.perf_counter()
    embedder.embed_documents(texts, settings.batch_size)
    seconds = time.perf_counter() - t
    rate = matmul_rate(settings.threads)
    achieved = work / seconds / 1e9
    print(f"| measure | value |\n|---|---|\n| chunks | {len(texts)} |")
    print(f"| tokens a chunk (mean, with prefix and special tokens) | {np.mean(lengths):.0f} |")
    print(f"| model FLOPs a token at that length | {flops_per_token(int(np.mean(lengths))) / 1e6:.1f} M |")
    print(f"| embedding: chunks/s | {len(texts) / seconds:.1f} |")
    print(f"| embedding: GFLOP/s achieved | {achieved:.1f} |")
    print(f"| float32 matmul 2048x2048, {settings.threads} threads: GFLOP/s | {rate:.1f} |")
    print(f"| fraction of the machine's rate reached | {achieved / rate:.2f} |")
    print(f"| limit at that rate: chunks/s | {rate * 1e9 / (work / len(texts)):.1f} |")


if __name__ == "__main__":
    main()
