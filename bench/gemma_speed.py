"""How fast EmbeddingGemma-300M can embed on these cores: precision, threads, batch size, length sorting.

    python bench/gemma_speed.py [--chunks 192] [--rounds 2] [--questions 40] [--model embeddinggemma-300m]

Variants, each on the same OrangeSum news chunks (chunked as veille chunks them), interleaved round after
round so that whatever else loads the machine falls on all alike (read the ratios):

- fp32: sentence-transformers as shipped (backend "torch");
- bf16: the same modules in bfloat16 (backend "torch-bf16"; this CPU has AVX-512 BF16 and AMX);
- int8: torch's dynamic int8 quantisation of every Linear layer (torch.ao.quantization.quantize_dynamic),
  measured here only, as the cheapest int8 there is to try (the ONNX route is discussed in BENCHMARKS);

then, on the fastest precision, 1 against 2 threads, batch sizes, and veille's longest-first order against
the file order. Reported: documents/s and tokens/s (the model's own token count), query ms (median over
PIAF questions) and the cosine of each variant's vectors to fp32's (mean and minimum).
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from dataclasses import replace

import numpy as np
from onnx_int8 import news_chunks
from piaf import load

from veille.embed import SentenceTransformerEmbedder
from veille.settings import load_settings


class Int8(SentenceTransformerEmbedder):
    """fp32 loaded, then every torch.nn.Linear swapped for its dynamically quantised int8 twin."""

    def _load(self):  # noqa: ANN202
        if self._model is None:
            import torch

            model = super()._load()
            self._model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
        return self._model


class Unsorted(SentenceTransformerEmbedder):
    """Batches in the given order, padded to each batch's longest (what veille's longest-first order avoids)."""

    def embed_documents(self, texts, batch_size=16, progress=False):  # noqa: ANN001, ANN201
        out = [self.embed_batch(texts[b : b + batch_size], "document") for b in range(0, len(texts), batch_size)]
        return np.concatenate(out)


def rate(embedders: dict, texts: list[str], rounds: int, batch: int) -> tuple[dict, dict]:  # noqa: ANN001
    for e in embedders.values():
        e.embed_documents(texts[:4], 4)  # load, warm
    runs: dict[str, list[float]] = {n: [] for n in embedders}
    vectors = {}
    for _ in range(rounds):
        for name, e in embedders.items():
            t = time.perf_counter()
            vectors[name] = e.embed_documents(texts, batch)
            runs[name].append(time.perf_counter() - t)
    return {n: statistics.median(r) for n, r in runs.items()}, vectors


def query_ms(embedders: dict, questions: list[str]) -> dict:  # noqa: ANN001
    ms: dict[str, list[float]] = {n: [] for n in embedders}
    for q in questions:
        for name, e in embedders.items():
            t = time.perf_counter()
            e.embed_query(q)
            ms[name].append((time.perf_counter() - t) * 1000)
    return {n: statistics.median(v) for n, v in ms.items()}


def cos(a: np.ndarray, b: np.ndarray) -> str:
    sims = (a * b).sum(axis=1)
    return f"{sims.mean():.4f} / {sims.min():.4f}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="embeddinggemma-300m")
    parser.add_argument("--chunks", type=int, default=192)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--questions", type=int, default=40)
    parser.add_argument("--batches", type=int, nargs="+", default=[4, 16, 32])
    parser.add_argument("--tuning-only", action="store_true", help="skip the precision table: threads, batch, order")
    args = parser.parse_args()
    settings = replace(load_settings(), model_name=args.model)
    texts = news_chunks(args.chunks, settings)
    random.Random(0).shuffle(texts)  # file order would put an article's chunks together; mix the lengths
    questions = [q for q, _, _ in random.Random(0).sample(load()[1], args.questions)]
    path, batch = settings.model_path, settings.batch_size
    fp32 = SentenceTransformerEmbedder(path, 2, "torch")
    tokenizer = fp32._load().tokenizer
    tokens = sum(len(tokenizer(t)["input_ids"]) for t in texts)
    print(f"# {args.model}: {len(texts)} OrangeSum chunks ({tokens} tokens), {time.strftime('%Y-%m-%d')}\n")

    backend = "torch-bf16"  # --tuning-only: the precision the table below chose on 2026-12-02
    if not args.tuning_only:
        variants = {"fp32": fp32, "bf16": SentenceTransformerEmbedder(path, 2, "torch-bf16"), "int8": Int8(path, 2)}
        secs, vecs = rate(variants, texts, args.rounds, batch)
        qms = query_ms(variants, questions)
        print(f"| precision (2 threads, batch {batch}, longest first) | documents/s | tokens/s | query ms | "
              "cosine to fp32, mean / min |\n|---|---|---|---|---|")
        for name in variants:
            print(f"| {name} | {len(texts) / secs[name]:.2f} | {tokens / secs[name]:.0f} | {qms[name]:.0f} | "
                  f"{cos(vecs[name], vecs['fp32'])} |")
        # the fastest of the precisions whose vectors stay within a cosine of 0.999 of fp32's ("equal recall")
        kept = [n for n in ("fp32", "bf16") if float((vecs[n] * vecs["fp32"]).sum(axis=1).min()) >= 0.999]
        backend = {"fp32": "torch", "bf16": "torch-bf16"}[min(kept, key=secs.__getitem__)]
        for e in variants.values():
            e._model = None  # free the three copies before the next table
    one, two = SentenceTransformerEmbedder(path, 1, backend), SentenceTransformerEmbedder(path, 2, backend)
    ordered = {"1 thread": one, "2 threads": two}
    secs, _ = rate(ordered, texts, args.rounds, batch)
    print(f"\n| {backend}, batch {batch} | documents/s | tokens/s |\n|---|---|---|")
    for name in ordered:
        print(f"| {name} | {len(texts) / secs[name]:.2f} | {tokens / secs[name]:.0f} |")
    one._model = None
    rows = {}
    for b in args.batches:
        rows[f"batch {b}, longest first"] = rate({"x": two}, texts, args.rounds, b)[0]["x"]
    unsorted = Unsorted(path, 2, backend)
    unsorted._model = two._model
    rows[f"batch {batch}, as given"] = rate({"x": unsorted}, texts, args.rounds, batch)[0]["x"]
    print(f"\n| {backend}, 2 threads | documents/s | tokens/s |\n|---|---|---|")
    for name, s in rows.items():
        print(f"| {name} | {len(texts) / s:.2f} | {tokens / s:.0f} |")


if __name__ == "__main__":
    main()
