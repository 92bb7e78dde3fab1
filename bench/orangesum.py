"""OrangeSum known-item search and indexing speed, side by side with BM25 and the LangChain tutorial.

The corpus: the 1,500 test-split articles plus the first others by id, N articles in all (10,000 by
default), each written as a plain .txt file (the article body only: the title is the query). Known-item
search: each test article's title must find that article (any member of its near-duplicate group counts).

Indexing is measured on the way: `veille index build` runs in its own process in stages (about 1k chunks,
about 10k chunks, then the whole corpus), each stage embedding only the articles it adds; /usr/bin/time
gives the peak memory of each. The built index is cached in ~/.cache/veille/bench, so a second run only
measures the questions. `--grow-from M` starts from the cached M-article index (its stages kept) and adds
the rest as one more measured stage: how the 100k-chunk row was taken (M = 10,000, N = 21,300).

    python bench/orangesum.py [--articles 10000] [--grow-from M] [--langchain-articles N] [--no-langchain]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from piaf import scores

from veille import open_index
from veille.embed import resolve_backend
from veille.settings import ROOT, Settings, load_settings

DATA = ROOT.parent / "shared" / "data" / "orangesum"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "veille" / "bench"
STAGES = (1_000, 10_000)  # chunk counts at which a stage ends before the whole corpus


def load(n: int) -> tuple[list[dict], dict[str, set[str]]]:
    """The first n usable articles, test-split ones first, and each id's near-duplicate group."""
    test = [line.strip().removesuffix(".json") for line in (DATA / "splits_title_as_summary" / "test.txt").open()]
    by_id = {}
    with gzip.open(DATA / "orangesum.jsonl.gz", "rt", encoding="utf-8") as f:
        for line in f:
            a = json.loads(line)
            if a["article"].strip() and a["title"].strip():
                by_id[a["id"]] = a
    chosen = [by_id[i] for i in test if i in by_id][:n]
    rest = sorted((i for i in by_id if i not in set(test)), key=int)
    chosen += [by_id[i] for i in rest[: max(0, n - len(chosen))]]
    groups: dict[str, set[str]] = {}
    for line in (DATA / "list_of_duplicates.txt").open():
        ids = {x.strip().removesuffix(".json") for x in line.split(",") if x.strip()}
        for i in ids:
            groups[i] = ids
    return chosen, groups


def model_tag() -> str:
    """"" for the default model run in fp32 (the caches measured before issue 15), else its name and backend:
    VEILLE_MODEL, VEILLE_BACKEND and VEILLE_DIMENSION reach the `veille index build` processes too."""
    s = load_settings()
    tag = "" if s.model_name == Settings.model_name else f"-{s.model_name}"
    tag += f"@{s.dimension}" if s.dimension else ""
    return tag + ("" if resolve_backend(s.backend) == "torch" else f"-{resolve_backend(s.backend)}")


def rank_of(gold: str, groups: dict[str, set[str]], ranked: list[str]) -> int | None:
    seen: list[str] = []
    for i in ranked:
        if i not in seen:
            seen.append(i)
    good = groups.get(gold, {gold})
    return next((r for r, i in enumerate(seen[:10], 1) if i in good), None)


def build_stages(articles: list[dict], folder: Path, grow_from: int = 0) -> list[dict]:
    """Index the corpus in stages, each `veille index build` in its own measured process.

    With grow_from, the cached index of the first grow_from articles is copied and its stages kept;
    the remaining articles are one more stage.
    """
    corpus, index = folder / "corpus", folder / "index"
    done = folder / "stages.json"
    if done.is_file() and (index / "manifest.json").is_file():
        return json.loads(done.read_text())
    if grow_from:
        smaller = CACHE / f"orangesum-{grow_from}{model_tag()}"
        if not (smaller / "stages.json").is_file():
            sys.exit(f"no finished index at {smaller}: run `python bench/orangesum.py --articles {grow_from}` first")
        shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(smaller / "corpus", corpus)
        shutil.copytree(smaller / "index", index)
        stages, start, cuts = json.loads((smaller / "stages.json").read_text()), grow_from, [len(articles)]
    else:
        corpus.mkdir(parents=True, exist_ok=True)
        chars = [len(a["article"]) for a in articles]
        cuts, total, s = [], 0, 0
        for i, c in enumerate(chars):  # about 1 chunk per 450 characters of French news, measured on a sample
            total += c / 450
            if s < len(STAGES) and total >= STAGES[s]:
                cuts.append(i + 1)
                s += 1
        cuts.append(len(articles))
        stages, start = [], 0
    veille = Path(sys.executable).with_name("veille")
    for cut in cuts:
        for a in articles[start:cut]:
            (corpus / f"{a['id']}.txt").write_text(a["article"] + "\n", encoding="utf-8")
        start = cut
        t = time.perf_counter()
        out = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", str(folder / "rss"), str(veille), "index", "build",
                              "--corpus", str(corpus), "--index", str(index), "--json"],
                             check=True, capture_output=True, text=True)
        seconds = time.perf_counter() - t
        report = json.loads(out.stdout)
        stages.append({"articles": cut, "chunks": report["total_chunks"], "embedded": report["embedded_chunks"],
                       "seconds": seconds, "peak_mb": int((folder / "rss").read_text().split()[-1]) / 1024})
        print(f"stage: {stages[-1]}", flush=True)
        (folder / "stages-so-far.json").write_text(json.dumps(stages))
    done.write_text(json.dumps(stages))
    return stages


def run_veille(folder: Path, queries: list[tuple[str, str]], groups: dict) -> tuple[list, float]:
    index = open_index(folder / "index")
    index.search(queries[0][0])
    t = time.perf_counter()
    ranks = [rank_of(gold, groups, [h.chunk.source.removesuffix(".txt") for h in index.search(q, 30)])
             for q, gold in queries]
    return ranks, time.perf_counter() - t


def run_bm25(articles: list[dict], queries: list, groups: dict) -> tuple[list, float]:  # noqa: ANN001
    import bm25s

    t = time.perf_counter()
    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize([a["article"] for a in articles], stopwords="fr", show_progress=False),
                    show_progress=False)
    docs, _ = retriever.retrieve(bm25s.tokenize([q for q, _ in queries], stopwords="fr", show_progress=False),
                                 k=10, show_progress=False)
    ranks = [rank_of(gold, groups, [articles[int(d)]["id"] for d in row])
             for row, (_, gold) in zip(docs, queries, strict=True)]
    return ranks, time.perf_counter() - t


def run_langchain(articles: list[dict], queries: list, groups: dict, folder: Path) -> tuple[list, float]:
    """The tutorial pipeline: RecursiveCharacterTextSplitter(1000, 200), HuggingFaceEmbeddings, FAISS."""
    from langchain_community.vectorstores import FAISS
    from langchain_core.documents import Document
    from langchain_huggingface import HuggingFaceEmbeddings
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    embeddings = HuggingFaceEmbeddings(model_name=str(open_index(folder / "index").settings.model_path))
    cached = folder / f"langchain-{len(articles)}"
    t = time.perf_counter()
    if (cached / "index.faiss").is_file():
        store = FAISS.load_local(str(cached), embeddings, allow_dangerous_deserialization=True)  # our own file
    else:
        splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
        docs = splitter.split_documents([Document(a["article"], metadata={"id": a["id"]}) for a in articles])
        store = FAISS.from_documents(docs, embeddings)
        store.save_local(str(cached))
    build = time.perf_counter() - t
    t = time.perf_counter()
    ranks = [rank_of(gold, groups, [d.metadata["id"] for d in store.similarity_search(q, k=30)])
             for q, gold in queries]
    print(f"LangChain tutorial: built in {build:.0f} s", flush=True)
    return ranks, time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--langchain-articles", type=int, default=0, help="corpus size for LangChain (default: same)")
    parser.add_argument("--no-langchain", action="store_true")
    parser.add_argument("--grow-from", type=int, default=0, metavar="M",
                        help="start from the cached index of the first M articles; the rest is one more stage")
    args = parser.parse_args()
    articles, groups = load(args.articles)
    test = {line.strip().removesuffix(".json") for line in (DATA / "splits_title_as_summary" / "test.txt").open()}
    queries = [(a["title"], a["id"]) for a in articles if a["id"] in test]
    folder = CACHE / f"orangesum-{len(articles)}{model_tag()}"
    stages = build_stages(articles, folder, args.grow_from)
    results, times = {}, {}
    results["veille"], times["veille"] = run_veille(folder, queries, groups)
    results["BM25"], times["BM25"] = run_bm25(articles, queries, groups)
    if not args.no_langchain:
        lc = articles[: args.langchain_articles or len(articles)]
        results["LangChain tutorial"], times["LangChain tutorial"] = run_langchain(lc, queries, groups, folder)
    print(f"\nOrangeSum known-item search: {len(articles)} articles, {len(queries)} titles as queries\n")
    print("| system | recall@1 | recall@5 | recall@10 | MRR@10 | query time (s) |\n|---|---|---|---|---|---|")
    table = {name: scores(r) for name, r in results.items()}
    for name, s in table.items():
        print(f"| {name} | {s['recall@1']:.3f} | {s['recall@5']:.3f} | {s['recall@10']:.3f} | {s['MRR@10']:.3f} "
              f"| {times[name]:.0f} |")
    for base in [b for b in ("BM25", "LangChain tutorial") if b in table]:
        ratios = ", ".join(f"{k} {table['veille'][k] / table[base][k]:.2f}x" for k in ("recall@10", "MRR@10"))
        print(f"\nveille / {base}: {ratios}")
    print("\nIndexing in stages (`veille index build` in its own process; peak resident memory by /usr/bin/time)\n")
    print("| index size (chunks) | articles | chunks embedded | seconds | chunks/s | peak memory (MB) |")
    print("|---|---|---|---|---|---|")
    for s in stages:
        print(f"| {s['chunks']:,} | {s['articles']:,} | {s['embedded']:,} | {s['seconds']:.0f} "
              f"| {s['embedded'] / s['seconds']:.1f} | {s['peak_mb']:.0f} |")
    json.dump({"stages": stages, "table": table}, (folder / "results.json").open("w"))


if __name__ == "__main__":
    main()
