"""Fit the answerer on PIAF dev and write its weights: src/veille/weights/{evidence,abstain,short,probe}.json.

    python bench/fit_answer.py [--k 8] [--check]

1. Evidence: every candidate (sentence, or pair of adjacent sentences) of the top-k passages of every
   answerable dev question, labelled by whether it holds a gold answer (a pair only when its sentence
   matching the question lacks it), and a logistic regression on evidence.FEATURES.
2. Abstention: the threshold on the best candidate's probability that refuses the most dev questions
   whose article is missing while refusing at most 5% of the answerable ones.
3. The reading probe (fit_probe.py): which token of the gold sentence starts and which ends the answer,
   read off the embedding model's token states.
4. Short answers: every candidate span of the sentence holding the gold answer, labelled by F1 >= 0.99
   with a gold answer, and a listwise logistic regression on short.FEATURES and the probe's two scores
   (cross-fitted: each sentence scored by the probe fitted on the other half of the articles).

Dev is PIAF's articles whose title's sha256 starts with 0-7; its articles 0-1 are left out of the dev
index (veille.squad). The fit is deterministic (lbfgs, fixed data order): a rerun writes the same file.
--check fits and compares with the files in the package instead of writing them (tests use it).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace

import fit_probe
import numpy as np
from scipy.optimize import minimize
from sklearn.linear_model import LogisticRegression

from veille import abstain, evidence, probe, short
from veille.settings import ROOT, Settings, load_settings
from veille.squad import f1, holds
from veille.squad_eval import prepare
from veille.types import Hit

PIAF = ROOT.parent / "shared" / "data" / "piaf" / "piaf-v1.1.json"
WEIGHTS = ROOT / "src" / "veille" / "weights"
MAX_FALSE_REFUSALS = 0.05
MAX_UNKNOWN_SHARE = 0.5  # abstain.py's rule: flags 0.5% of answerable dev questions, 9% of missing ones
SPAN_F1 = 0.99  # a span counts as the answer from this F1 with a gold answer
MBR_TEMPERATURES = (0.5, 1.0, 2.0, 4.0)  # tried for short.best_span's expected-F1 choice
FIGURE_REACH = 80  # characters: a « combien » answer takes in the figures that follow it this closely (answer.py)
VERSION = 1
FIT_BACKEND = {"multilingual-e5-small": "torch", "embeddinggemma-300m": "torch-bf16"}


def searched(index, questions, k: int) -> list[list[Hit]]:  # noqa: ANN001
    """Each question's hits, cached beside the index: search is deterministic for a given index."""
    cache = index.folder.parent / f"hits-{k}.json"
    s = index.settings  # the same index searched with another fusion gives other hits
    stamp = f'{index.manifest["built_at"]} {s.fusion} {s.fusion_dense_weight} {s.rrf_k} {s.candidates} {s.respell}'
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
        out.append({"q": q, "question": question, "cands": cands, "labels": labels, "hits": hits})
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
    """Plain logistic regression (the abstention model: answerable against missing questions)."""
    mean, scale = _standardise(x)
    model = LogisticRegression(C=c, max_iter=2000).fit((x - mean) / scale, y)
    return _weights(names, mean, scale, model.coef_[0], float(model.intercept_[0]), extra)


def fit_listwise(groups: list[tuple[np.ndarray, np.ndarray]], names: tuple[str, ...], l2: float = 1e-2) -> dict:
    """A linear score whose softmax over each question's candidates puts its mass on the right ones
    (targets: the candidates' share of the right answers). Picking one candidate of a hundred is a
    ranking problem: fitted this way, top-1 is better than with a pointwise classifier."""
    mean, scale = _standardise(np.vstack([x for x, _ in groups]))
    data = [((x - mean) / scale, t / t.sum()) for x, t in groups]

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        total, grad = 0.0, np.zeros_like(w)
        for x, t in data:
            z = x @ w
            p = np.exp(z - z.max())
            p /= p.sum()
            total -= float(t @ np.log(p + 1e-12))
            grad -= x.T @ (t - p)
        return total / len(data) + l2 * float(w @ w), grad / len(data) + 2 * l2 * w

    w = minimize(loss, np.zeros(len(names)), jac=True, method="L-BFGS-B").x
    return _weights(names, mean, scale, w, 0.0, {})


def _standardise(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    return mean, scale


def _weights(names, mean, scale, coef, intercept, extra) -> dict:  # noqa: ANN001
    return {"version": VERSION, "features": list(names), "mean": _r(mean), "scale": _r(scale), "coef": _r(coef),
            "intercept": round(intercept, 6), "extra": extra}


def _r(a: np.ndarray) -> list[float]:
    return [round(float(v), 6) for v in a]


def fit_evidence(data: list[dict]) -> dict:
    groups = [(evidence.matrix(d["cands"]), np.array(d["labels"], dtype=float))
              for d in data if d["q"].answerable and any(d["labels"])]
    print(f"evidence: {len(groups)} questions with a candidate holding the answer, "
          f"{sum(len(g[1]) for g in groups)} candidates")
    return fit_listwise(groups, evidence.FEATURES)


def rank(data: list[dict], model: evidence.LogisticModel) -> None:
    """Each question's candidates scored and sorted as evidence.select does."""
    for d in data:
        if not d["cands"]:
            d["order"] = []
            continue
        z = model.score(evidence.matrix(d["cands"], model.names))
        p = np.exp(z - z.max())
        p /= p.sum()
        for c, zi, pi in zip(d["cands"], z, p, strict=True):
            c.score, c.share = float(zi), float(pi)
        d["order"] = sorted(range(len(z)), key=lambda i: (-z[i], d["cands"][i].rank, d["cands"][i].start))


def threshold(answerable: np.ndarray, n_answerable: int, refused: int) -> float:
    """The probability under which veille refuses: the highest that refuses at most MAX_FALSE_REFUSALS of
    the answerable questions, `refused` of them being refused already whatever it is (sorted ascending)."""
    allowed = int(MAX_FALSE_REFUSALS * n_answerable) - refused
    return float(answerable[max(0, allowed)]) - 1e-9


def fit_abstain(data: list[dict], index) -> dict:  # noqa: ANN001
    """Answerable dev questions against those whose article is missing; the threshold at 5% refused."""
    rows = []
    for d in data:
        cands = [d["cands"][i] for i in d["order"]]
        rows.append(abstain.features(d["question"], cands, d["hits"], index.vocabulary) if cands else None)
    keep = [i for i, r in enumerate(rows) if r is not None]
    x = np.array([[rows[i][n] for n in abstain.FEATURES] for i in keep])
    y = np.array([int(data[i]["q"].answerable) for i in keep])
    w = fit(x, y, abstain.FEATURES, {})
    p = evidence.LogisticModel.from_dict(w).probability(x)
    ans = np.sort(p[y == 1])
    missing = p[y == 0]
    # questions with no candidate at all are refused whatever the threshold: count them as refused
    n_ans = sum(data[i]["q"].answerable for i in range(len(data)))
    n_missing = sum(not data[i]["q"].indexed for i in range(len(data)))
    # the rule before the model: those questions are refused whatever their probability
    ruled = np.array([rows[i]["unknown_share"] > MAX_UNKNOWN_SHARE for i in keep])
    ans = np.sort(p[(y == 1) & ~ruled])
    missing = p[(y == 0) & ~ruled]
    refused_ans, refused_missing = n_ans - len(ans), n_missing - len(missing)
    t = threshold(ans, n_ans, refused_ans)
    report = {"false_refusals": round((int((ans < t).sum()) + refused_ans) / n_ans, 4),
              "abstained_when_missing": round((int((missing < t).sum()) + refused_missing) / n_missing, 4),
              "answerable": n_ans, "missing": n_missing,
              "ruled_out": {"answerable": int(((y == 1) & ruled).sum()), "missing": int(((y == 0) & ruled).sum())}}
    w["extra"] = {"min_probability": round(t, 6), "max_unknown_share": MAX_UNKNOWN_SHARE, "dev": report}
    print(f"abstention: threshold {t:.4f}, {report}")
    return w


def _gold_sentence(d: dict) -> evidence.Candidate | None:
    """The single sentence holding a gold answer that the evidence model likes best."""
    singles = [i for i in d.get("order", []) if d["labels"][i] and not d["cands"][i].pair]
    return d["cands"][singles[0]] if singles else None


def span_rows(d: dict, cand: evidence.Candidate) -> tuple[list[short.Span], list[float]]:
    q = d["question"]
    spans = short.spans(cand.text, q.stems, q.kind, q.focus)
    return spans, [max(f1(cand.text[s.start : s.end], g) for g in d["q"].answers) for s in spans]


def gold_spans(data: list[dict]) -> list[tuple[dict, evidence.Candidate, list[short.Span], list[float]]]:
    """The questions the span model learns from: a gold sentence with a span sharing words with a gold answer."""
    out = []
    for d in data:
        cand = _gold_sentence(d) if d["q"].answerable else None
        if cand is None:
            continue
        spans, scores = span_rows(d, cand)
        if spans and max(scores) > 0:
            out.append((d, cand, spans, scores))
    return out


def fit_reader(golds: list, index) -> tuple[dict | None, dict[str, np.ndarray]]:  # noqa: ANN001
    """The reading probe for this embedding model (fit_probe.py), and for each question the probe's two
    features of its gold sentence's spans, cross-fitted; (None, {}) for a model without a probe setup."""
    model = index.settings.model_name
    if model not in fit_probe.SETUP:
        return None, {}
    items = []
    for d, cand, spans, scores in golds:
        best = spans[int(np.argmax(scores))]
        items.append((d["q"].id, d["q"].question, cand.text, (best.start, best.end), int(d["q"].source[1:5])))
    rows = fit_probe.rows(items, index.embedder.token_states, model)
    spans_of = {d["q"].id: [(s.start, s.end) for s in spans] for d, _, spans, _ in golds}
    features = {r["id"]: probe.span_scores(r["tokens"], z, spans_of[r["id"]])
                for r, z in zip(rows, fit_probe.cross_fitted(rows, model), strict=True)}
    fitted = fit_probe.fit(rows, *fit_probe.SETUP[model])
    weights = {"version": VERSION, "prompt": fitted.prompt, "layers": list(fitted.layers), "mean": _r(fitted.mean),
               "scale": _r(fitted.scale), "coef": _r(fitted.coef.T.ravel())}
    return weights, features


def fit_short(golds: list, probed: dict[str, np.ndarray]) -> dict:
    xs, ys, groups, kept = [], [], [], []
    names = short.FEATURES + (probe.FEATURES if probed else ())
    for d, _cand, spans, scores in golds:
        if probed and d["q"].id not in probed:
            continue
        kept.append(spans)
        x = np.array([[s.features[n] for n in short.FEATURES] for s in spans])
        xs.append(np.hstack([x, probed[d["q"].id]]) if probed else x)
        scores = np.array(scores)
        ys.append((scores >= SPAN_F1).astype(float) if (scores >= SPAN_F1).any() else (scores == scores.max()) * 1.0)
        groups.append(scores)
    print(f"short: {len(groups)} gold sentences, {sum(len(y) for y in ys)} spans")
    w = fit_listwise(list(zip(xs, ys, strict=True)), names, l2=1e-3)
    model = evidence.LogisticModel.from_dict(w)
    got = [g[int(np.argmax(model.score(xx)))] for xx, g in zip(xs, groups, strict=True)]
    oracle = [max(g) for g in groups]
    print(f"short F1 on the gold sentence (in-sample): {np.mean(got):.3f} (best span possible {np.mean(oracle):.3f})")
    # The span of highest expected F1 under the model's softmax (short.best_span), at the temperature that
    # scores best on these sentences; 0 (the likeliest span) unless one does better.
    best_t, best_f1 = 0.0, float(np.mean(got))
    for t in MBR_TEMPERATURES:
        mbr = [g[int(np.argmax(short.expected_f1(sp, model.score(xx), t)))]
               for sp, xx, g in zip(kept, xs, groups, strict=True)]
        print(f"short F1 on the gold sentence, expected-F1 choice at temperature {t}: {np.mean(mbr):.3f}")
        if np.mean(mbr) > best_f1 + 1e-4:
            best_t, best_f1 = t, float(np.mean(mbr))
    w["extra"] = {"span_f1": SPAN_F1, "figure_reach": FIGURE_REACH, "mbr_temperature": best_t}
    return w


def same_weights(a: dict, b: dict, tol: float = 1e-3) -> bool:
    """The same model: same features, numbers equal to within `tol` (the last printed digits of a float
    sum may differ between BLAS builds; the fit itself has no randomness)."""
    if "prompt" in a or "prompt" in b:  # the reading probe
        return (a.get("prompt"), a.get("layers")) == (b.get("prompt"), b.get("layers")) and all(
            np.allclose(a[k], b[k], atol=tol, rtol=tol) for k in ("mean", "scale", "coef"))
    if a["features"] != b["features"] or a["version"] != b["version"]:
        return False
    if a.get("extra", {}).get("mbr_temperature") != b.get("extra", {}).get("mbr_temperature"):
        return False
    return all(np.allclose(a[k], b[k], atol=tol, rtol=tol) for k in ("mean", "scale", "coef", "intercept"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--k", type=int, default=8, help="passages read per question")
    parser.add_argument("--check", action="store_true", help="compare with the package's files, write nothing")
    args = parser.parse_args()
    t0 = time.perf_counter()
    # Fitted on the vectors of a fixed backend, not "auto" (which picks by CPU), so that --check gives the same
    # numbers on every machine of a kind: e5 in float32; EmbeddingGemma in bf16, as it runs on these CPUs (its
    # float32 dev index takes 16 minutes to build, bf16 5; the two agree to a cosine of 0.9999).
    settings = load_settings()
    dataset, index = prepare(PIAF, "dev", settings=replace(settings, backend=FIT_BACKEND[settings.model_name]),
                             progress=True)
    # Each embedding model (VEILLE_MODEL) gets weights of its own: its cosines sit on another scale.
    model = index.settings.model_name
    out = WEIGHTS if model == Settings.model_name else WEIGHTS / model  # one fit for all its sizes
    data = collect(index, dataset.questions, args.k)
    print(f"collected {len(data)} dev questions in {time.perf_counter() - t0:.0f} s")
    ev = fit_evidence(data)
    ev["extra"] = {"k": args.k}
    rank(data, evidence.LogisticModel.from_dict(ev))
    ans = [d for d in data if d["q"].answerable]
    top1 = sum(bool(d["order"]) and d["labels"][d["order"][0]] for d in ans) / len(ans)
    print(f"evidence: the best candidate holds a gold answer for {top1:.3f} of answerable dev questions (in-sample)")
    files = {"evidence": ev, "abstain": fit_abstain(data, index)}
    golds = gold_spans(data)
    reader, probed = fit_reader(golds, index)
    files["short"] = fit_short(golds, probed)
    if reader is not None:
        files["probe"] = reader
    if args.check:
        saved = {n: json.loads((out / f"{n}.json").read_text()) for n in files if (out / f"{n}.json").is_file()}
        differ = [n for n, w in files.items() if n not in saved or not same_weights(saved[n], w)]
        print(f"the weights differ: {', '.join(differ)}" if differ
              else "the package's weights are the ones this fit writes")
        sys.exit(1 if differ else 0)
    out.mkdir(exist_ok=True)
    for name, w in files.items():
        (out / f"{name}.json").write_text(json.dumps(w, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {', '.join(files)} to {out}")


if __name__ == "__main__":
    main()
