"""The reading probe's fit (src/veille/probe.py), for bench/fit_answer.py.

On each answerable dev question's gold sentence (the one fit_answer.py fits the span model on), the
embedding model reads the question and the sentence as one text; the probe learns, over the sentence's
tokens, which one starts and which one ends the best span (a softmax over the tokens, as a reading
model's head; L2-regularised, so convex: L-BFGS finds the same weights on every run).

The span model must learn how far to trust the probe on sentences it was not fitted on, so its two
features are cross-fitted: the probe fitted on the odd articles scores the even ones, and the other way
round. The probe written to the package is then fitted on all of them.
"""

from __future__ import annotations

import time

import numpy as np
from scipy.optimize import minimize

from veille import probe as probe_mod

# Per embedding model: the text read (the sentence follows) and the layers whose states are taken, chosen
# on dev held out by article (2026-12-03, docs/BENCHMARKS.md "A reading probe").
SETUP = {
    "embeddinggemma-300m": ("task: question answering | query: {question} | text: ", (16,)),
    "multilingual-e5-small": ("query: {question} passage: ", (8,)),
}
L2 = 0.2


def rows(items: list[tuple[str, str, str, tuple[int, int], int]], read, model: str) -> list[dict]:  # noqa: ANN001
    """items: (id, question, sentence, (start, end) of the best span in it, article number). Each becomes
    the sentence's token features and the indices of the answer's first and last token."""
    prompt, layers = SETUP[model]
    out, t0 = [], time.perf_counter()
    for qid, question, sentence, (a, b), article in items:
        text, at = probe_mod.reading(prompt, question, sentence)
        offsets, states = read(text, layers)
        tokens, x = probe_mod.features(states, offsets, at)
        inside = [i for i, (s, e) in enumerate(tokens) if s < b and a < e]
        if inside:
            out.append({"id": qid, "x": x, "start": inside[0], "end": inside[-1], "article": article,
                        "tokens": tokens})
    print(f"probe: {len(out)} sentences read in {time.perf_counter() - t0:.0f} s")
    return out


def fit(data: list[dict], prompt: str, layers: tuple[int, ...], l2: float = L2) -> probe_mod.Probe:
    """Softmax over each sentence's tokens for the start and for the end; standardised features."""
    x = np.vstack([d["x"] for d in data]).astype(np.float64)
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    x = (x - mean) / scale
    bounds = np.cumsum([0] + [len(d["x"]) for d in data])
    target = np.zeros((len(x), 2))
    for d, b0 in zip(data, bounds, strict=False):
        target[b0 + d["start"], 0] = target[b0 + d["end"], 1] = 1.0
    seg = np.repeat(np.arange(len(data)), np.diff(bounds))
    dim = x.shape[1]

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        z = x @ w.reshape(dim, 2)
        top = np.maximum.reduceat(z, bounds[:-1], axis=0)
        e = np.exp(z - top[seg])
        norm = np.add.reduceat(e, bounds[:-1], axis=0)
        p = e / norm[seg]
        nll = -float((target * (z - top[seg] - np.log(norm[seg]))).sum()) / len(data)
        grad = x.T @ (p - target) / len(data)
        return nll + l2 * float(w @ w), grad.ravel() + 2 * l2 * w

    w = minimize(loss, np.zeros(dim * 2), jac=True, method="L-BFGS-B", options={"maxiter": 1000}).x
    return probe_mod.Probe(prompt, layers, mean, scale, w.reshape(dim, 2))


def cross_fitted(data: list[dict], model: str) -> list[np.ndarray]:
    """Each sentence's token scores from the probe fitted on the other half of the articles."""
    prompt, layers = SETUP[model]
    out: list[np.ndarray] = [np.zeros(0)] * len(data)
    for fold in (0, 1):
        probe = fit([d for d in data if d["article"] % 2 != fold], prompt, layers)
        for i, d in enumerate(data):
            if d["article"] % 2 == fold:
                out[i] = probe_mod.token_scores(probe, d["x"])
    return out

