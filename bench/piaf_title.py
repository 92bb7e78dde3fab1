"""Does an article's title help find its passages? PIAF paragraphs indexed three ways, one per run.

    python bench/piaf_title.py none  [--questions 2000]  # the paragraph alone, as bench/piaf.py does
    python bench/piaf_title.py line  [--questions 2000]  # its Wikipedia article's title as the file's first line
    python bench/piaf_title.py embed [--questions 2000]  # that, and the title before every chunk it embeds

"embed" is not what veille does today: it wraps the model so that each chunk not starting with its title is
embedded as "title\\n chunk". The same sample of questions (seed 0) is asked through `Index.search`.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from piaf import PIAF, rank_of, scores

from veille import build_index, open_index
from veille.embed import Embedder, Kind
from veille.index import default_embedder
from veille.settings import load_settings


class Titled(Embedder):
    """The real model, with each document text preceded by the title of the paragraph it comes from."""

    def __init__(self, real: Embedder, title_of: dict[str, str]) -> None:
        super().__init__()
        self.real, self.title_of = real, title_of
        self.name, self.checksum, self.dimension = real.name, real.checksum, real.dimension

    def embed_batch(self, texts: Sequence[str], kind: Kind) -> np.ndarray:
        if kind == "document":
            texts = [t if t.startswith(title := self._title(t)) else f"{title}\n{t}" for t in texts]
        return self.real.embed_batch(texts, kind)

    def _title(self, chunk: str) -> str:
        return next((title for text, title in self.title_of.items() if chunk.strip() in text), "")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("variant", choices=["none", "line", "embed"])
    parser.add_argument("--questions", type=int, default=2000)
    args = parser.parse_args()
    paragraphs, titles, questions = [], [], []
    for article in json.loads(PIAF.read_text(encoding="utf-8"))["data"]:
        for para in article["paragraphs"]:
            questions += [(qa["question"], len(paragraphs)) for qa in para["qas"]]
            paragraphs.append(para["context"])
            titles.append(article["title"])
    questions = random.Random(0).sample(questions, min(args.questions, len(questions)))
    with tempfile.TemporaryDirectory() as tmp:
        corpus, folder = Path(tmp) / "piaf", Path(tmp) / "index"
        corpus.mkdir()
        files = {}
        for pid, (text, title) in enumerate(zip(paragraphs, titles, strict=True)):
            content = (f"{title}\n\n" if args.variant != "none" else "") + text + "\n"
            files[content] = title
            (corpus / f"p{pid:04d}.txt").write_text(content, encoding="utf-8")
        real = default_embedder(load_settings(corpus=corpus, index=folder))
        t = time.perf_counter()
        build_index(corpus, folder, embedder=Titled(real, files) if args.variant == "embed" else real)
        built = time.perf_counter() - t
        index = open_index(folder, embedder=real)
        ranks = [rank_of(pid, [int(h.chunk.source[1:5]) for h in index.search(q, 30)]) for q, pid in questions]
    s = scores(ranks)
    print(f"| {args.variant} | {len(questions)} | {s['recall@1']:.3f} | {s['recall@5']:.3f} | {s['recall@10']:.3f} "
          f"| {s['MRR@10']:.3f} | {built:.0f} |")


if __name__ == "__main__":
    main()
