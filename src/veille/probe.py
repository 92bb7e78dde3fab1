"""A reading probe: where in a sentence the answer starts and ends, read off the embedding model's token states.

No reading model exists in the registries, but the embedding model already reads: run over the question and
the sentence as one text, each of the sentence's tokens gets a state that has seen the question. Two linear
scores over those states (at the layer the fit chose, two thirds of the way up: EmbeddingGemma's 16th of 24,
e5's 8th of 12; each state next to its product with the mean state of the question's tokens) give every
token a log-probability of being the first and the last word of the answer, as a reading model's head does.
They are fitted on PIAF dev by bench/fit_answer.py (weights/probe.json) and enter short.py's span model as
two features. The embedding model is not changed: the probe is two vectors.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np

from .embed import TokenStates
from .settings import Settings

# The embedder's Embedder.token_states: a text's token offsets and the states these layers output, or None
# (ONNX, fakes).
ReadTokens = Callable[[str, Sequence[int]], TokenStates | None]
FEATURES = ("probe_start", "probe_end")


@dataclass(frozen=True)
class Probe:
    prompt: str  # the question and the sentence as one text: "...{question}...", the sentence appended
    layers: tuple[int, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray  # (features, 2): start and end

    @classmethod
    def from_dict(cls, raw: dict) -> Probe:
        return cls(raw["prompt"], tuple(raw["layers"]), np.array(raw["mean"]), np.array(raw["scale"]),
                   np.array(raw["coef"]).reshape(2, -1).T)

    def text(self, question: str, sentence: str) -> tuple[str, int]:
        return reading(self.prompt, question, sentence)


def reading(prompt: str, question: str, sentence: str) -> tuple[str, int]:
    """The text the embedder reads for the probe, and where the sentence starts in it."""
    head = prompt.format(question=question)
    return head + sentence, len(head)


@cache
def load_probe(model: str = "") -> Probe | None:
    """The probe fitted on this embedding model's states (weights/probe.json for the default model,
    weights/<model>/probe.json for another), or None: unlike the other weights, no model reads another's."""
    folder = resources.files("veille").joinpath("weights")
    own = folder.joinpath(model) if model and model != Settings.model_name else folder
    path = own.joinpath("probe.json")
    return Probe.from_dict(json.loads(path.read_text(encoding="utf-8"))) if path.is_file() else None


def features(states: np.ndarray, offsets: Sequence[tuple[int, int]], at: int
             ) -> tuple[list[tuple[int, int]], np.ndarray]:
    """The sentence's tokens (offsets in the sentence, which starts at `at`) and their features: at each
    layer read (states: layers x tokens x dimension), the token's state and its product with the mean
    state of the tokens before the sentence."""
    head = [i for i, (a, b) in enumerate(offsets) if b > a and a < at]
    own = [i for i, (a, b) in enumerate(offsets) if b > a and a >= at]
    parts = []
    for layer in states:
        s = layer.astype(np.float32)
        q = s[head].mean(axis=0) if head else np.zeros(s.shape[1], np.float32)
        parts += [s[own], s[own] * q]
    return [(offsets[i][0] - at, offsets[i][1] - at) for i in own], np.hstack(parts)


def log_softmax(z: np.ndarray) -> np.ndarray:
    m = z.max(axis=0)
    return z - m - np.log(np.exp(z - m).sum(axis=0))


def token_scores(probe: Probe, x: np.ndarray) -> np.ndarray:
    """(tokens, 2): each token's log-probability of starting and of ending the answer."""
    return log_softmax(((x - probe.mean) / probe.scale) @ probe.coef)


def span_scores(tokens: Sequence[tuple[int, int]], scores: np.ndarray, spans: Sequence[tuple[int, int]]
                ) -> np.ndarray:
    """(spans, 2): the start score of each span's first token and the end score of its last one."""
    out = np.zeros((len(spans), 2))
    starts = np.array([a for a, _ in tokens])
    ends = np.array([b for _, b in tokens])
    for n, (a, b) in enumerate(spans):
        inside = np.flatnonzero((starts < b) & (ends > a))
        if len(inside):
            out[n] = scores[inside[0], 0], scores[inside[-1], 1]
        else:
            out[n] = scores[:, 0].min(), scores[:, 1].min()
    return out


def read_spans(read: ReadTokens, question: str, sentence: str, spans: Sequence[tuple[int, int]],
               model: str = "") -> np.ndarray | None:
    """The probe's two features for each span (character offsets in the sentence), or None when the
    embedder gives no token states or the model has no probe."""
    probe = load_probe(model)
    if probe is None or not spans:
        return None
    text, at = probe.text(question, sentence)
    got = read(text, probe.layers)
    if got is None:
        return None
    tokens, x = features(got[1], got[0], at)
    if not tokens or x.shape[1] != len(probe.mean):
        return None
    return span_scores(tokens, token_scores(probe, x), spans)
