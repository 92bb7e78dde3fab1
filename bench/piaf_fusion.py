"""How should dense and keyword search be fused? An offline study on PIAF, with no embedding after the first run.

The first run builds veille's index of PIAF (each of the 1,518 paragraphs an article, as in bench/piaf.py)
and embeds the 7,569 questions once, into ~/.cache/veille/bench/piaf/ (plain .npy and JSON files). Every
variant after that is numpy over two score matrices: question x chunk cosine and question x chunk BM25.

Variants are chosen on one half of the questions and reported on the other: the halves split PIAF's
Wikipedia articles (its "title" field), so no article's paragraphs are on both sides.

    python bench/piaf_fusion.py            # build the cache if needed, then the study
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import time
import warnings
from pathlib import Path

import numpy as np

from veille import build_index, open_index
from veille.settings import ROOT

PIAF = ROOT.parent / "shared" / "data" / "piaf" / "piaf-v1.1.json"
CACHE = Path.home() / ".cache" / "veille" / "bench" / "piaf"


def load() -> tuple[list[str], list[dict]]:
    """Paragraphs in PIAF order; questions as {question, pid, title} (the same order as bench/piaf.py)."""
    data = json.loads(PIAF.read_text(encoding="utf-8"))["data"]
    paragraphs: list[str] = []
    questions: list[dict] = []
    for article in data:
        for para in article["paragraphs"]:
            pid = len(paragraphs)
            paragraphs.append(para["context"])
            questions += [{"question": qa["question"], "pid": pid, "title": article["title"]} for qa in para["qas"]]
    return paragraphs, questions


def build_cache() -> None:
    """veille's index of PIAF, its chunk vectors, and the questions' query vectors, once."""
    paragraphs, questions = load()
    stamp = hashlib.sha256(PIAF.read_bytes()).hexdigest()
    meta = CACHE / "meta.json"
    if meta.is_file() and json.loads(meta.read_text()).get("piaf_sha256") == stamp:
        return
    import faiss

    corpus = CACHE / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    for pid, text in enumerate(paragraphs):
        (corpus / f"p{pid:04d}.txt").write_text(text + "\n", encoding="utf-8")
    t = time.perf_counter()
    build_index(corpus, CACHE / "index", progress=True)
    index = open_index(CACHE / "index")
    print(f"index: {len(index.chunks)} chunks in {time.perf_counter() - t:.0f} s", flush=True)
    idmap = index._state.store.index
    ids = faiss.vector_to_array(idmap.id_map).astype(np.int64)
    vectors = faiss.downcast_index(idmap.index).reconstruct_n(0, idmap.ntotal)
    order = np.argsort(ids)
    np.save(CACHE / "chunk_ids.npy", ids[order])
    np.save(CACHE / "chunk_vectors.npy", vectors[order].astype(np.float32))
    t = time.perf_counter()
    texts = [q["question"] for q in questions]
    from tqdm import tqdm

    out = np.zeros((len(texts), index.embedder.dimension), dtype=np.float32)
    for b in tqdm(range(0, len(texts), 32), desc="questions"):
        out[b : b + 32] = index.embedder.embed_batch(texts[b : b + 32], "query")
    np.save(CACHE / "query_vectors.npy", out)
    print(f"questions: {len(texts)} embedded in {time.perf_counter() - t:.0f} s", flush=True)
    (CACHE / "questions.json").write_text(json.dumps(questions, ensure_ascii=False))
    meta.write_text(json.dumps({"piaf_sha256": stamp, "model": index.manifest["model"],
                                "chunks": len(index.chunks), "questions": len(questions)}))


# -- the study: everything below reads the cache and embeds nothing


class Data:
    """The cached index as matrices: question x chunk cosine, chunk -> paragraph, the article split."""

    def __init__(self) -> None:
        from veille.store import read_chunks

        self.questions = json.loads((CACHE / "questions.json").read_text())
        self.gold = np.array([q["pid"] for q in self.questions])
        chunks = sorted(read_chunks(CACHE / "index" / "chunks.jsonl"), key=lambda c: c.id)
        assert [c.id for c in chunks] == np.load(CACHE / "chunk_ids.npy").tolist()
        self.chunks = chunks
        self.pid = np.array([int(c.source[1:5]) for c in chunks])
        self.npara = int(self.pid.max()) + 1
        # Columns grouped by paragraph, for reduceat: every paragraph has at least one chunk.
        self.by_paragraph = np.argsort(self.pid, kind="stable")
        pids, self.starts = np.unique(self.pid[self.by_paragraph], return_index=True)
        assert len(pids) == self.npara
        qv, cv = np.load(CACHE / "query_vectors.npy"), np.load(CACHE / "chunk_vectors.npy")
        self.dense = (qv @ cv.T).astype(np.float64)
        self.qv, self.cv = qv, cv
        titles = sorted({q["title"] for q in self.questions})
        random.Random(0).shuffle(titles)
        dev_titles = set(titles[: len(titles) // 2])
        self.dev = np.array([q["title"] in dev_titles for q in self.questions])
        self._bm25: dict[tuple, np.ndarray] = {}

    def bm25(self, tokenizer: str = "veille", k1: float = 1.5, b: float = 0.75, title: bool = True,
             unique_query: bool = False) -> np.ndarray:
        """Question x chunk BM25 scores (bm25s, as KeywordIndex scores them) for one tokenizer and k1, b."""
        key = (tokenizer, k1, b, title, unique_query)
        if key in self._bm25:
            return self._bm25[key]
        import bm25s
        from scipy.sparse import csr_matrix

        tok = TOKENIZERS[tokenizer]
        docs = [tok(f"{c.title}\n{c.text}" if title else c.text) or ["~"] for c in self.chunks]
        retriever = bm25s.BM25(k1=k1, b=b)
        retriever.index(docs, show_progress=False)
        sc, vocab = retriever.scores, retriever.vocab_dict
        per_token = csr_matrix((sc["data"], sc["indices"], sc["indptr"]), shape=(len(sc["indptr"]) - 1, len(docs)))
        rows, cols = [], []
        for n, q in enumerate(self.questions):
            toks = [vocab[t] for t in tok(q["question"]) if t in vocab]
            toks = sorted(set(toks)) if unique_query else toks
            rows += [n] * len(toks)
            cols += toks
        counts = csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(self.questions), per_token.shape[0]))
        scores = np.asarray((counts @ per_token).todense(), dtype=np.float64)
        if key == ("veille", 1.5, 0.75, True, False):  # only veille's own: each matrix takes 160 MB
            self._bm25[key] = scores
        return scores


def _tokenizer(skeletons: str = "long", stop: str = "veille", stem: bool = True):  # noqa: ANN202
    """veille's tokenizer with one thing changed: which words get a skeleton, which stop words, stems."""
    import re

    from bm25s.stopwords import STOPWORDS_FRENCH

    from veille import keyword as kw

    stops = {"veille": kw.stopwords(), "bm25s": frozenset(kw.fold(w) for w in STOPWORDS_FRENCH),
             "none": frozenset()}[stop]
    stemmer = kw._stemmer().stemWord

    def tokenize(text: str) -> list[str]:
        text = kw.normalise_numbers(kw._ELISION.sub(" ", text))
        out = []
        for w in re.findall(r"\w+", text):
            if kw.fold(w) in stops or not (len(w) > 1 or w.isdigit()):
                continue
            low = w.lower()
            out.append(kw.fold(stemmer(low)) if stem else kw.fold(low))
            if skeletons == "long" and not w.isdigit() and len(w) >= 4:
                out.append("~" + kw.skeleton(low))
            elif skeletons == "names" and w[:1].isupper() and len(w) >= 4:
                out.append("~" + kw.skeleton(low))
        return out

    return tokenize


def _bm25s_default(text: str) -> list[str]:
    import bm25s

    return bm25s.tokenize([text], stopwords="fr", show_progress=False, return_ids=False)[0] or []


TOKENIZERS = {
    "veille": _tokenizer(),
    "no skeleton": _tokenizer(skeletons="none"),
    "skeleton for names": _tokenizer(skeletons="names"),
    "bm25s stop words": _tokenizer(stop="bm25s"),
    "no stop words": _tokenizer(stop="none"),
    "no stemming": _tokenizer(stem=False),
    "bm25s default": _bm25s_default,
}


def ranks_of(scores: np.ndarray) -> np.ndarray:
    """1-based rank of every column in its row, best first (ties: lower column first, as veille sorts)."""
    order = np.argsort(-scores, axis=1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(1, scores.shape[1] + 1)[None, :].repeat(len(scores), 0), axis=1)
    return ranks


def rrf(ranks: list[np.ndarray], depth: int, k: float, weights: list[float] | None = None) -> np.ndarray:
    """Reciprocal rank fusion over each list's top `depth`; -inf where no list ranks the chunk."""
    weights = weights or [1.0] * len(ranks)
    fused = np.zeros(ranks[0].shape)
    seen = np.zeros(ranks[0].shape, dtype=bool)
    for r, w in zip(ranks, weights, strict=True):
        inside = r <= depth
        fused += np.where(inside, w / (k + r), 0.0)
        seen |= inside
    return np.where(seen, fused, -np.inf)


def normalise(scores: np.ndarray, inside: np.ndarray, how: str) -> np.ndarray:
    """Each row's candidate scores mapped to a common scale: min-max to [0, 1], z-score, or divided by the max."""
    warnings.filterwarnings("ignore", category=RuntimeWarning)  # rows with no BM25 candidate at all
    masked = np.where(inside, scores, np.nan)
    if how == "minmax":
        lo, hi = np.nanmin(masked, 1, keepdims=True), np.nanmax(masked, 1, keepdims=True)
        out = (scores - lo) / np.where(hi > lo, hi - lo, 1.0)
    elif how == "z":
        mu, sd = np.nanmean(masked, 1, keepdims=True), np.nanstd(masked, 1, keepdims=True)
        out = (scores - mu) / np.where(sd > 0, sd, 1.0)
    else:  # "max"
        hi = np.nanmax(masked, 1, keepdims=True)
        out = scores / np.where(hi > 0, hi, 1.0)
    return np.nan_to_num(out)


_TOP: list[tuple[np.ndarray, np.ndarray]] = []


def _top(scores: np.ndarray, n: int) -> np.ndarray:
    """Each row's n best scores, best first; the last few matrices' are kept, as a grid reuses them."""
    for matrix, top in _TOP:
        if matrix is scores and top.shape[1] >= n:
            return top[:, :n]
    n_ = min(max(n, 200), scores.shape[1])
    top = -np.sort(np.partition(-scores, n_ - 1, axis=1)[:, :n_], axis=1)
    _TOP.insert(0, (scores, top))
    del _TOP[3:]
    return top[:, :n]


def _scaled(scores: np.ndarray, depth: int, how: str, positive: bool) -> tuple[np.ndarray, np.ndarray]:
    """normalise() over each row's top `depth` (positive: those above 0), computed from the sorted top
    only; also the normalised score of the lowest candidate. Same numbers, a fraction of the time."""
    warnings.filterwarnings("ignore", category=RuntimeWarning)  # rows with no BM25 candidate at all
    block = _top(scores, depth)
    block = np.where(block > 0, block, np.nan) if positive else block
    lo, hi = np.nanmin(block, 1, keepdims=True), np.nanmax(block, 1, keepdims=True)
    if how == "minmax":
        shift, scale = lo, np.where(hi > lo, hi - lo, 1.0)
    elif how == "z":
        shift, scale = np.nanmean(block, 1, keepdims=True), np.nanstd(block, 1, keepdims=True)
        scale = np.where(scale > 0, scale, 1.0)
    else:  # "max"
        shift, scale = np.zeros_like(hi), np.where(hi > 0, hi, 1.0)
    return np.nan_to_num((scores - shift) / scale), np.nan_to_num((lo - shift) / scale)


def convex(dense: np.ndarray, bm25: np.ndarray, rd: np.ndarray, rb: np.ndarray, depth: int, alpha: float,
           how: str, missing: str = "min") -> np.ndarray:
    """alpha x normalised dense + (1 - alpha) x normalised BM25, over the union of both top-`depth` lists.
    A chunk missing from one list gets that list's lowest candidate score ("min", as veille does) or the
    score it would have had ("score": possible offline since both matrices are whole)."""
    ind, inb = rd <= depth, (rb <= depth) & (bm25 > 0)
    (nd, fd), (nb, fb) = _scaled(dense, depth, how, False), _scaled(bm25, depth, how, True)
    if missing == "min":
        nd, nb = np.where(ind, nd, fd), np.where(inb, nb, fb)
    fused = alpha * nd + (1 - alpha) * nb
    return np.where(ind | inb, fused, -np.inf)


def _convex_reference(dense: np.ndarray, bm25: np.ndarray, rd: np.ndarray, rb: np.ndarray, depth: int,
                      alpha: float, how: str) -> np.ndarray:
    """convex() the slow, obvious way (masks over whole rows), to check the fast one against."""
    ind, inb = rd <= depth, (rb <= depth) & (bm25 > 0)
    nd, nb = normalise(dense, ind, how), normalise(bm25, inb, how)
    nd = np.where(ind, nd, np.where(ind, nd, np.inf).min(1, keepdims=True))
    nb = np.where(inb, nb, np.where(inb, nb, np.inf).min(1, keepdims=True))
    nb = np.where(np.isfinite(nb), nb, 0.0)
    return np.where(ind | inb, alpha * nd + (1 - alpha) * nb, -np.inf)


def paragraph_ranks(data: Data, fused: np.ndarray, agg: str = "max", top: int = 30) -> np.ndarray:
    """The gold paragraph's rank (0: not in the top 10) once chunk scores become paragraph scores: the
    best chunk's ("max"), all chunks' ("sum"), or the best plus a share of the others' ("max+ 0.2").
    Only each row's `top` chunks count (bench/piaf.py asks veille for 30 hits)."""
    cut = -np.partition(-fused, top - 1, axis=1)[:, top - 1][:, None]
    kept = np.where(fused >= cut, fused, -np.inf)
    kept = kept - np.arange(kept.shape[1])[None, :] * 1e-12  # ties: the lower chunk id first, as veille sorts
    kept = kept[:, data.by_paragraph]
    best = np.maximum.reduceat(kept, data.starts, axis=1)
    if agg == "max":
        para = best
    else:
        total = np.add.reduceat(np.where(np.isfinite(kept), kept, 0.0), data.starts, axis=1)
        share = 1.0 if agg == "sum" else float(agg.split()[-1])
        para = np.where(np.isfinite(best), best + share * (total - np.where(np.isfinite(best), best, 0.0)), -np.inf)
    return gold_rank(data, para)


def gold_rank(data: Data, para: np.ndarray, cutoff: int = 10) -> np.ndarray:
    """Rank of the gold paragraph in a question x paragraph score matrix (0: below `cutoff` or unscored)."""
    gold = para[np.arange(len(para)), data.gold]
    rank = 1 + (para > gold[:, None]).sum(1)
    return np.where(np.isfinite(gold) & (rank <= cutoff), rank, 0)


def metrics(ranks: np.ndarray) -> dict[str, float]:
    found = ranks > 0
    return {"r@1": float((ranks == 1).mean()), "r@5": float((found & (ranks <= 5)).mean()),
            "r@10": float((found & (ranks <= 10)).mean()),
            "mrr": float(np.where(found & (ranks <= 10), 1.0 / np.maximum(ranks, 1), 0).mean())}


HEADER = ("| variant | dev r@5 | dev MRR@10 | held-out r@5 | held-out MRR@10 | all r@5 | all MRR@10 | all r@1 "
          "| all r@10 |\n|---|---|---|---|---|---|---|---|---|")


class Study:
    """Scores variants on both halves and all, and picks the best of a grid on the dev half only."""

    def __init__(self, data: Data) -> None:
        self.data = data

    def score(self, name: str, ranks: np.ndarray, show: bool = True) -> dict[str, dict[str, float]]:
        d = self.data
        row = {"dev": metrics(ranks[d.dev]), "test": metrics(ranks[~d.dev]), "all": metrics(ranks)}
        if show:
            cells = " | ".join(f"{row[s]['r@5']:.3f} | {row[s]['mrr']:.3f}" for s in ("dev", "test", "all"))
            print(f"| {name} | {cells} | {row['all']['r@1']:.3f} | {row['all']['r@10']:.3f} |", flush=True)
        return row

    def best(self, family: str, grid: dict[str, np.ndarray]) -> str:
        """Print the variant with the best dev MRR@10 + recall@5 (and the dev top 3 as a comment)."""
        scored = {name: self.score(name, r, show=False)["dev"] for name, r in grid.items()}
        ranked = sorted(scored, key=lambda n: -(scored[n]["mrr"] + scored[n]["r@5"]))
        top3 = ", ".join(f"{n} ({scored[n]['mrr']:.4f}/{scored[n]['r@5']:.4f})" for n in ranked[:3])
        print(f"<!-- {family}: {len(grid)} variants; best on dev (MRR@10/recall@5): {top3} -->", flush=True)
        self.score(f"{family}: {ranked[0]}", grid[ranked[0]])
        return ranked[0]


def paragraph_max(data: Data, scores: np.ndarray) -> np.ndarray:
    """Question x paragraph: each paragraph's best chunk score."""
    return np.maximum.reduceat(scores[:, data.by_paragraph], data.starts, axis=1)


def dense_prf(data: Data, ranking: np.ndarray, m: int, beta: float) -> np.ndarray:
    """Rocchio on the query vector: moved `beta` towards the mean of the `m` chunks `ranking` puts first."""
    top = np.argsort(-ranking, 1)[:, :m]
    qv = data.qv + beta * data.cv[top].mean(1)
    qv /= np.linalg.norm(qv, axis=1, keepdims=True)
    return (qv @ data.cv.T).astype(np.float64)


def coverage(data: Data) -> np.ndarray:
    """Question x chunk: the IDF-weighted share of the question's words the chunk holds (by stem or by
    skeleton, as answer.py measures a sentence), a signal BM25's sum over terms does not give."""
    import math

    from scipy.sparse import csr_matrix

    from veille.keyword import tokenize, words

    vocab: dict[str, int] = {}
    rows, cols = [], []
    for n, c in enumerate(data.chunks):
        for t in set(tokenize(f"{c.title}\n{c.text}")):
            rows.append(n)
            cols.append(vocab.setdefault(t, len(vocab)))
    df = np.bincount(cols, minlength=len(vocab))
    has = csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(data.chunks), len(vocab))).tocsc()
    out = np.zeros(data.dense.shape)
    for q, item in enumerate(data.questions):
        total, got = 0.0, np.zeros(len(data.chunks))
        for w in words(item["question"]):
            ids = [vocab[t] for t in tokenize(w) if t in vocab]
            weight = math.log(1 + len(data.chunks) / (1 + max((df[i] for i in ids), default=0)))
            total += weight
            if ids:
                got += weight * np.asarray(has[:, ids].max(1).todense()).ravel()
        out[q] = got / total if total else 0.0
    return out


def learned(data: Data, study: Study, dense: np.ndarray, bm: np.ndarray, cov: np.ndarray, depth: int = 30) -> None:
    """How far any fusion of these signals can go: models trained on the dev half to tell the gold paragraph
    from the other candidates (each list's top `depth` paragraphs), scored on the held-out half."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression

    pd_, pb, pc = paragraph_max(data, dense), paragraph_max(data, bm), paragraph_max(data, cov)
    rd, rb = ranks_of(pd_), np.where(pb > 0, ranks_of(pb), 10**9)
    ind, inb = rd <= depth, rb <= depth
    zd, zb = normalise(pd_, ind, "z"), normalise(pb, inb, "z")
    chunks = np.broadcast_to(np.log(np.diff(np.append(data.starts, len(data.pid))))[None, :], pd_.shape)
    top_d, top_b = pd_.max(1, keepdims=True), np.maximum(pb.max(1, keepdims=True), 1e-9)
    feats = np.nan_to_num(np.stack([zd, zb, pd_, pb / top_b, 1 / rd, 1 / rb, pc, top_d - pd_, chunks,
                                    np.broadcast_to(top_d, pd_.shape)], -1))
    qi, pi = np.nonzero(ind | inb)
    x, y, train = feats[qi, pi], pi == data.gold[qi], data.dev[qi]
    for name, model in (("logistic regression", LogisticRegression(max_iter=2000)),
                        ("gradient boosting", HistGradientBoostingClassifier(max_iter=300, learning_rate=0.05))):
        model.fit(x[train], y[train])
        para = np.full(pd_.shape, -np.inf)
        para[qi, pi] = model.predict_proba(x)[:, 1] - pi * 1e-12
        study.score(f"learned fusion ({name}, 10 features, trained on dev)", gold_rank(data, para))


class _CachedQueries:
    """An Embedder that returns the cached question vectors, so veille's own search runs without the model."""

    def __init__(self, data: Data, manifest: dict) -> None:
        from veille.embed import Embedder

        vectors = {q["question"]: data.qv[n] for n, q in enumerate(data.questions)}

        class Lookup(Embedder):
            name, dimension = manifest["model"]["name"], int(manifest["model"]["dimension"])
            checksum = manifest["model"]["checksum"]

            def embed_batch(self, texts, kind):  # noqa: ANN001, ANN202
                return np.stack([vectors[t.strip()] for t in texts])

        self.embedder = Lookup()


def check_veille(data: Data, study: Study, **settings: object) -> None:
    """veille's own hybrid_search (src/veille/retrieve.py) over the cached index, 30 hits as bench/piaf.py asks."""
    from dataclasses import replace

    from veille.settings import load_settings

    manifest = json.loads((CACHE / "index" / "manifest.json").read_text())
    config = replace(load_settings(), **settings)  # type: ignore[arg-type]
    index = open_index(CACHE / "index", settings=config, embedder=_CachedQueries(data, manifest).embedder)
    para = np.full((len(data.questions), data.npara), -np.inf)
    for n, q in enumerate(data.questions):
        for rank, hit in enumerate(index.search(q["question"], 30)):
            pid = int(hit.chunk.source[1:5])
            para[n, pid] = max(para[n, pid], -rank)
    label = ", ".join(f"{k}={v}" for k, v in settings.items()) or "its settings now"
    study.score(f"veille's hybrid_search, {label}", gold_rank(data, para))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--check", action="store_true", help="only veille's own search over the cached index")
    args = parser.parse_args()
    build_cache()
    t = time.perf_counter()
    data = Data()
    study = Study(data)
    n_dev = int(data.dev.sum())
    print(f"PIAF: {len(data.questions)} questions ({n_dev} dev, {len(data.questions) - n_dev} held out; split by "
          f"Wikipedia article), {len(data.chunks)} chunks of {data.npara} paragraphs. Metrics of the gold "
          "paragraph; a paragraph ranks by its best chunk unless said otherwise.\n")
    if args.check:
        print(HEADER)
        check_veille(data, study, fusion="rrf", rrf_k=60, candidates=30)
        check_veille(data, study)
        return
    dense, bm = data.dense, data.bm25()
    rd, rb = ranks_of(dense), np.where(bm > 0, ranks_of(bm), 10**9)
    for how in ("minmax", "z", "max"):
        fast, slow = convex(dense, bm, rd, rb, 30, 0.5, how), _convex_reference(dense, bm, rd, rb, 30, 0.5, how)
        assert np.allclose(fast, slow, atol=1e-9), how
    print("## Each list alone, veille before this study, and the ceiling\n\n" + HEADER)
    study.score("dense only", paragraph_ranks(data, dense))
    study.score("BM25 only (veille tokens)", paragraph_ranks(data, np.where(bm > 0, bm, -np.inf)))
    study.score("RRF k=60, 30 candidates (veille before)", paragraph_ranks(data, rrf([rd, rb], 30, 60)))
    pd_, pb = paragraph_max(data, dense), paragraph_max(data, np.where(bm > 0, bm, -np.inf))
    prd, prb = ranks_of(pd_), np.where(np.isfinite(pb), ranks_of(pb), 10**9)
    g = np.arange(len(prd)), data.gold
    best = np.minimum(prd[g], prb[g])
    study.score("oracle: the better of the two lists' ranks for each question", np.where(best <= 10, best, 0))
    for depth in (1, 5, 10, 30):
        row = study.score("", np.where(best <= depth, 1, 0), show=False)
        print(f"| oracle: gold paragraph in the top {depth} of either list (a recall, not r@5) "
              f"| {row['dev']['r@1']:.3f} | | {row['test']['r@1']:.3f} | | {row['all']['r@1']:.3f} | | | |")

    print("\n## Reciprocal rank fusion\n\n" + HEADER)
    study.best("RRF", {f"k={k}, {d} candidates, dense weight {w}":
                       paragraph_ranks(data, rrf([rd, rb], d, k, [w, 1 - w]))
                       for k in (2, 5, 10, 20, 60, 100) for d in (10, 30, 100) for w in (0.35, 0.5, 0.65)})

    print("\n## Convex combination of normalised scores (missing from a list: its lowest)\n\n" + HEADER)
    for how in ("minmax", "z", "max"):
        study.best(f"convex {how}", {f"{how}, dense weight {a:.2f}, {d} candidates":
                                     paragraph_ranks(data, convex(dense, bm, rd, rb, d, a, how))
                                     for a in (0.3, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7) for d in (10, 30, 100, 200)})
    study.score("z, dense weight 0.5, 100 candidates, missing = its real score",
                paragraph_ranks(data, convex(dense, bm, rd, rb, 100, 0.5, "z", "score")))
    chosen = convex(dense, bm, rd, rb, 100, 0.5, "z")
    study.score("chosen: z, dense weight 0.5, 100 candidates", paragraph_ranks(data, chosen))

    print("\n## BM25 k1 and b, in the chosen fusion (bm25s's default: k1=1.5, b=0.75)\n\n" + HEADER)
    grid = {}
    for k1 in (0.6, 0.9, 1.2, 1.5, 2.0):
        for b in (0.4, 0.6, 0.75, 0.9, 1.0):
            bm_ = data.bm25("veille", k1, b)
            rb_ = np.where(bm_ > 0, ranks_of(bm_), 10**9)
            grid[f"k1={k1}, b={b}"] = paragraph_ranks(data, convex(dense, bm_, rd, rb_, 100, 0.5, "z"))
    study.best("BM25 k1, b", grid)

    print("\n## BM25 tokens: alone, then in the chosen fusion (text only: the chunk without its article's "
          "title, which for a PIAF file is the whole paragraph)\n\n" + HEADER)
    for name in TOKENIZERS:
        for title in (True, False):
            bm_ = data.bm25(name, title=title)
            rb_ = np.where(bm_ > 0, ranks_of(bm_), 10**9)
            label = f"{name}{'' if title else ', text only'}"
            study.score(f"BM25 only, {label}", paragraph_ranks(data, np.where(bm_ > 0, bm_, -np.inf)))
            study.score(f"fused, {label}", paragraph_ranks(data, convex(dense, bm_, rd, rb_, 100, 0.5, "z")))
    bm_ = data.bm25(unique_query=True)
    rb_ = np.where(bm_ > 0, ranks_of(bm_), 10**9)
    study.score("fused, each query token once", paragraph_ranks(data, convex(dense, bm_, rd, rb_, 100, 0.5, "z")))

    print("\n## Chunk scores to paragraph scores\n\n" + HEADER)
    for agg in ("max", "max+ 0.1", "max+ 0.3", "sum"):
        study.score(f"RRF k=60, 30 candidates, {agg}", paragraph_ranks(data, rrf([rd, rb], 30, 60), agg))
        mm = convex(dense, bm, rd, rb, 100, 0.5, "minmax")
        study.score(f"convex minmax 0.5, 100 candidates, {agg}", paragraph_ranks(data, mm, agg))

    print("\n## Beyond fusion: query expansion, a third signal, learned fusion\n\n" + HEADER)
    for m, beta in ((1, 0.3), (3, 0.3), (3, 0.6)):
        dn = dense_prf(data, dense, m, beta)
        study.score(f"dense PRF ({m} chunks, beta {beta}), dense only", paragraph_ranks(data, dn))
        study.score(f"dense PRF ({m} chunks, beta {beta}), fused", paragraph_ranks(
            data, convex(dn, bm, ranks_of(dn), rb, 100, 0.5, "z")))
        dn = dense_prf(data, chosen, m, beta)
        study.score(f"dense PRF from the fused top ({m}, {beta}), fused again", paragraph_ranks(
            data, convex(dn, bm, ranks_of(dn), rb, 100, 0.5, "z")))
    cov = coverage(data)
    study.score("question-word coverage only", paragraph_ranks(data, cov))
    for gamma in (0.25, 0.5, 1.0):
        study.score(f"chosen + {gamma} x coverage", paragraph_ranks(data, chosen + gamma * cov))
    learned(data, study, dense, bm, cov)

    print("\n## veille's own search over the cached index (src/veille/retrieve.py)\n\n" + HEADER)
    check_veille(data, study, fusion="rrf", rrf_k=60, candidates=30)
    check_veille(data, study)
    print(f"\n{time.perf_counter() - t:.0f} s")


if __name__ == "__main__":
    main()
