"""The reading probe: token states of the real embedding model, the probe's arithmetic, and its use."""

from __future__ import annotations

import numpy as np
import pytest

from veille import probe
from veille.evidence import Question, load_model
from veille.index import Index
from veille.keyword import tokenize
from veille.short import best_span, tokens_of


def test_span_scores_read_the_first_token_s_start_and_the_last_token_s_end() -> None:
    tokens = [(0, 5), (6, 9), (10, 12), (12, 18)]  # « Paris est la capitale » cut as a tokenizer might
    scores = np.log(np.array([[0.7, 0.1], [0.1, 0.2], [0.1, 0.1], [0.1, 0.6]]))
    got = probe.span_scores(tokens, scores, [(0, 5), (6, 18), (13, 16)])
    assert np.allclose(got[0], np.log([0.7, 0.1]))
    assert np.allclose(got[1], np.log([0.1, 0.6]))  # « est la capitale »: tokens 1 to 3
    assert np.allclose(got[2], np.log([0.1, 0.6]))  # inside one token: that token's scores


def test_features_are_each_sentence_token_s_state_and_its_product_with_the_question_s() -> None:
    states = np.arange(2 * 4 * 3, dtype=np.float32).reshape(2, 4, 3)  # 2 layers, 4 tokens, dimension 3
    offsets = [(0, 0), (0, 4), (4, 9), (9, 14)]  # a special token, a question token, two of the sentence
    tokens, x = probe.features(states[1:], offsets, 4)
    assert tokens == [(0, 5), (5, 10)]
    q = states[1, 1]
    assert np.allclose(x, np.hstack([states[1, 2:], states[1, 2:] * q]))


def test_token_scores_are_log_probabilities_over_the_sentence_s_tokens() -> None:
    p = probe.Probe("{question} ", (0,), np.zeros(4), np.ones(4), np.arange(8, dtype=float).reshape(4, 2))
    z = probe.token_scores(p, np.random.default_rng(0).normal(size=(5, 4)))
    assert z.shape == (5, 2) and np.allclose(np.exp(z).sum(axis=0), 1.0)


def test_without_token_states_the_span_model_reads_the_probe_as_neutral() -> None:
    """No token states (ONNX, a fake embedder): the probe's features take their mean, the span model still
    answers, and it answers as when no probe is given at all."""
    assert probe.read_spans(lambda text, layers: None, "Qui ?", "Paris est la capitale.", [(0, 5)]) is None
    text = "La tour Eiffel a été construite en 1889 par Gustave Eiffel."
    stems = set(tokenize("Quand la tour Eiffel a-t-elle été construite ?"))
    silent = best_span(text, stems, "date", probe=lambda spans: None)
    assert silent is not None and "1889" in text[silent.start : silent.end]
    assert (silent.start, silent.end) == (lambda s: (s.start, s.end))(best_span(text, stems, "date"))


@pytest.mark.parametrize("question, sentence, answer", [
    ("Quelle est la capitale du Japon ?", "Depuis 1868, la capitale du Japon est Tokyo, face au Pacifique.", "Tokyo"),
    ("En quelle année le mur de Berlin est-il tombé ?", "Le mur de Berlin est tombé en 1989, après 28 ans.", "1989"),
])
def test_the_real_probe_reads_where_the_answer_starts(seed_index: Index, question: str, sentence: str,
                                                      answer: str) -> None:
    """The index's own embedding model, its token states, the packaged probe: the likeliest first token is
    the answer's, though the probe was never shown these sentences; with the span model, the short answer
    is the answer, word for word."""
    model = seed_index.vocabulary.model
    assert probe.load_probe(model) is not None, f"no probe fitted for {model}: run `make fit`"
    words = [(t.start, t.end) for t in tokens_of(sentence) if t.word]
    got = probe.read_spans(seed_index.token_states, question, sentence, words, model)
    assert got is not None and got.shape == (len(words), 2)
    assert sentence[slice(*words[int(np.argmax(got[:, 0]))])] == answer.split()[0]
    q = Question.read(question, seed_index.vocabulary)
    span = best_span(sentence, q.stems, q.kind, q.focus, load_model("short", model),
                     lambda spans: probe.read_spans(seed_index.token_states, question, sentence, spans, model))
    assert span is not None and sentence[span.start : span.end] == answer


def test_token_states_stop_at_the_deepest_layer_read_and_equal_the_full_pass(seed_index: Index) -> None:
    import torch

    text = "task: question answering | query: Qui ? | text: Antony Blinken a parlé jeudi."
    offsets, states = seed_index.token_states(text, (2, 5))
    model = seed_index.embedder._load()  # the same loaded model, run to the end with every hidden state
    enc = model.tokenizer(text, return_tensors="pt")
    with torch.inference_mode():
        full = model[0].auto_model(**enc, output_hidden_states=True).hidden_states
    assert states.shape == (2, len(offsets), full[0].shape[-1])
    assert np.array_equal(states[0], full[2][0].float().numpy())
    assert np.array_equal(states[1], full[5][0].float().numpy())
    assert "Antony" in {text[a:b].strip() for a, b in offsets}
    with pytest.raises(ValueError, match="layers"):
        seed_index.token_states(text, (0,))
