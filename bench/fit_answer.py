"""Fit the answerer on PIAF dev and write its weights: src/veille/weights/{evidence,short}.json.

    python bench/fit_answer.py [--k 8] [--check]

1. Evidence: every candidate (sentence, or pair of adjacent sentences) of the top-k passages of every
   answerable dev question, labelled by whether it holds a gold answer (a pair only when its sentence
   matching the question lacks it), and a logistic regression on evidence.FEATURES.
2. Short answers: every candidate span of the sentence holding the gold answer, labelled by F1 >= 0.8
   with a gold answer, and a logistic regression on short.FEATURES.
3. Abstention: the threshold on the best candidate's probability that refuses the most dev questions
   whose article is missing while refusing at most 5% of the answerable ones.

Dev is PIAF's articles whose title's sha256 starts with 0-7; its articles 0-1 are left out of the dev
index (veille.squad). The fit is deterministic (lbfgs, fixed data order): a rerun writes the same file.
--check fits and compares with the files in the package instead of writing them (tests use it).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
from sklearn.linear_model import LogisticRegression

from veille import evidence, short
from veille.types import Hit
from veille.settings import ROOT
from veille.squad import f1, holds
from veille.squad_eval import prepare

PIAF = ROOT.parent / "shared" / "data" / "piaf" / "piaf-v1.1.json"
WEIGHTS = ROOT / "src" / "veille" / "weights"
MAX_FALSE_REFUSALS = 0.05
SPAN_F1 = 0.7  # a span counts as the answer from this F1 with a gold answer
FIGURE_REACH = 60  # characters: a number answer takes in the figures that follow it this closely
VERSION = 1


def searched(index, questions, k: int) -> list[list[Hit]]:  # noqa: ANN001
    """Each question's hits, cached beside the index: search is deterministic for a given index."""
    cache = index.folder.parent / f"hits-{k}.json"
    stamp = index.manifest["built_at"]
    if cache.is_file() and (saved := json.loads(cache.read_text()))["built_at"] == stamp:
        return [[Hit(index.chunks[i], s, d, w) for i, s, d, w in row] for row in saved["hits"]]
    hits = [index.search(q.question, k) for q in questions]
    rows = [[(h.chunk.id, h.score, h.dense, h.keyword) for h in row] for row in hits]
    cache.write_text(json.dumps({"built_at": stamp, "hits": rows}))
    return hits


def collect(index, questions, k: int) -> list[dict]:  # noqa: ANN001
    """Per question: its candidates (featurized) and which hold a gold answer."""
    out = []
    for q, hits in zip(questions, searched(index, questions, k), strict=True):
        question = evidence.Question.read(q.question, index.vocabulary)
        cands = evidence.candidates(hits)
        evidence.featurize(question, cands)
        labels = [_label(c, q.answers) for c in cands]
        out.append({"q": q, "question": question, "cands": cands, "labels": labels})
    return out


def _label(cand: evidence.Candidate, golds: tuple[str, ...]) -> int:
    if not any(holds(cand.text, g) for g in golds):
        return 0
    if not cand.pair:
        return 1
    # A pair is right only when the answer needs both: the sentence that matches the question lacks it.
    first, second = (cand.text[: cand.spans[0][1] - cand.start], cand.text[cand.spans[1][0] - cand.start :])
    lead, other = (first, second) if cand.lexicals[0] >= cand.lexicals[1] else (second, first)
    return int(not any(holds(lead, g) for g in golds) and any(holds(other, g) for g in golds))


def fit(x: np.ndarray, y: np.ndarray, names: tuple[str, ...], extra: dict, c: float = 1.0) -> dict:
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(C=c, max_iter=2000, class_weight="balanced").fit((x - mean) / scale, y)
    return {"version": VERSION, "features": list(names), "mean": _r(mean), "scale": _r(scale),
            "coef": _r(model.coef_[0]), "intercept": round(float(model.intercept_[0]), 6), "extra": extra}


def _r(a: np.ndarray) -> list[float]:
    return [round(float(v), 6) for v in a]


def fit_evidence(data: list[dict]) -> dict:
    rows = [d for d in data if d["q"].answerable and any(d["labels"])]
    x = np.vstack([evidence.matrix(d["cands"]) for d in rows])
    y = np.concatenate([d["labels"] for d in rows])
    print(f"evidence: {len(rows)} questions with a candidate holding the answer, {len(y)} candidates, "
          f"{int(y.sum())} positive")
    return fit(x, y, evidence.FEATURES, {})


def best_probabilities(data: list[dict], model: evidence.LogisticModel) -> list[tuple[float, dict]]:
    out = []
    for d in data:
        if not d["cands"]:
            out.append((0.0, d))
            continue
        p = model.probability(evidence.matrix(d["cands"], model.names))
        order = np.argsort(-p, kind="stable")
        d["order"], d["p"] = order, p
        out.append((float(p[order[0]]), d))
    return out


def threshold(scored: list[tuple[float, dict]]) -> tuple[float, dict]:
    """The highest threshold that refuses at most 5% of answerable dev questions."""
    ans = sorted(p for p, d in scored if d["q"].answerable)
    missing = [p for p, d in scored if not d["q"].indexed]
    t = ans[int(MAX_FALSE_REFUSALS * len(ans))] if ans else 0.0
    report = {"false_refusals": sum(p < t for p in ans) / max(1, len(ans)),
              "abstained_when_missing": sum(p < t for p in missing) / max(1, len(missing)),
              "answerable": len(ans), "missing": len(missing)}
    return round(float(t) - 1e-6, 6), report


def _gold_sentence(d: dict) -> evidence.Candidate | None:
    """The single sentence holding a gold answer that the evidence model likes best."""
    singles = [i for i in d.get("order", []) if d["labels"][i] and not d["cands"][i].pair]
    return d["cands"][singles[0]] if singles else None


def span_rows(d: dict, cand: evidence.Candidate) -> tuple[list[short.Span], list[float]]:
    stems = {s for pair in d["question"].weights for s in pair}
    spans = short.spans(cand.text, stems, d["question"].kind)
    return spans, [max(f1(cand.text[s.start : s.end], g) for g in d["q"].answers) for s in spans]


def fit_short(data: list[dict]) -> dict:
    xs, ys, groups = [], [], []
    for d in data:
        cand = _gold_sentence(d) if d["q"].answerable else None
        if cand is None:
            continue
        spans, scores = span_rows(d, cand)
        if not spans or max(scores) == 0:
            continue
        xs.append(np.array([[s.features[n] for n in short.FEATURES] for s in spans]))
        ys.append(np.array([float(v >= SPAN_F1) for v in scores]))
        groups.append(scores)
    x, y = np.vstack(xs), np.concatenate(ys)
    print(f"short: {len(groups)} gold sentences, {len(y)} spans, {int(y.sum())} positive")
    w = fit(x, y, short.FEATURES, {})
    model = evidence.LogisticModel.from_dict(w)
    got = [g[int(np.argmax(model.probability(xx)))] for xx, g in zip(xs, groups, strict=True)]
    oracle = [max(g) for g in groups]
    print(f"short F1 on the gold sentence (in-sample): {np.mean(got):.3f} (best span possible {np.mean(oracle):.3f})")
    w["extra"] = {"span_f1": SPAN_F1, "figure_reach": FIGURE_REACH}
    return w


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--k", type=int, default=8, help="passages read per question")
    parser.add_argument("--check", action="store_true", help="compare with the package's files, write nothing")
    args = parser.parse_args()
    t0 = time.perf_counter()
    dataset, index = prepare(PIAF, "dev", progress=True)
    data = collect(index, dataset.questions, args.k)
    print(f"collected {len(data)} dev questions in {time.perf_counter() - t0:.0f} s")
    ev = fit_evidence(data)
    model = evidence.LogisticModel.from_dict(ev)
    scored = best_probabilities(data, model)
    ans = [d for _, d in scored if d["q"].answerable]
    top1 = sum(d["labels"][d["order"][0]] for d in ans if d["cands"]) / len(ans)
    print(f"evidence top-1 holds a gold answer (fitted on these, so optimistic): {top1:.3f}")
    t, report = threshold(scored)
    ev["extra"] = {"k": args.k, "min_probability": t, "dev": report}
    print(f"abstention threshold {t:.4f}: {report}")
    sh = fit_short(data)
    files = {"evidence": ev, "short": sh}
    if args.check:
        same = all(json.loads((WEIGHTS / f"{n}.json").read_text()) == w for n, w in files.items())
        print("the package's weights are the ones this fit writes" if same else "the weights differ")
        sys.exit(0 if same else 1)
    WEIGHTS.mkdir(exist_ok=True)
    for name, w in files.items():
        (WEIGHTS / f"{name}.json").write_text(json.dumps(w, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {', '.join(files)} to {WEIGHTS}")


if __name__ == "__main__":
    main()
