"""Sentence splitting and chunking keep numbers, abbreviations and quotations whole."""

from __future__ import annotations

import pytest

from veille.chunk import chunk_spans, sentence_spans


def _sentences(text: str) -> list[str]:
    return [text[a:b] for a, b in sentence_spans(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", []),
        ("Une seule phrase", ["Une seule phrase"]),
        ("Il y a 10.000 soldats. Et 1 500 autres.", ["Il y a 10.000 soldats.", "Et 1 500 autres."]),
        ("M. Lavrov a parlé. Mme Choe aussi.", ["M. Lavrov a parlé.", "Mme Choe aussi."]),
        ("J. Biden parle. Puis il part.", ["J. Biden parle.", "Puis il part."]),
        ("« Nous verrons. Demain aussi », a-t-il dit. Ensuite.",
         ["« Nous verrons. Demain aussi », a-t-il dit.", "Ensuite."]),
        ("“Il ne fait aucun doute que (…) la victoire” en Ukraine, a déclaré Choe. Fin.",
         ["“Il ne fait aucun doute que (…) la victoire” en Ukraine, a déclaré Choe.", "Fin."]),
        ("Quoi ? Vraiment ! Oui…", ["Quoi ?", "Vraiment !", "Oui…"]),
        ("Titre sans point\nPremière phrase. Deuxième.", ["Titre sans point", "Première phrase.", "Deuxième."]),
        ("Des drapeaux 🇺🇦 partout. Un cœur ❤️ aussi.", ["Des drapeaux 🇺🇦 partout.", "Un cœur ❤️ aussi."]),
        ("Il est 11 h. Le 3.5 % reste.", ["Il est 11 h.", "Le 3.5 % reste."]),
    ],
)
def test_sentences_end_where_a_french_reader_expects(text: str, expected: list[str]) -> None:
    assert _sentences(text) == expected


def test_chunks_are_whole_sentences_within_the_size_with_one_sentence_overlap() -> None:
    sentences = [f"Phrase numéro {i} qui parle de la guerre et des 1 500 soldats." for i in range(30)]
    text = " ".join(sentences)
    spans = chunk_spans(text, ((0, len(text)),), max_chars=200, overlap=1)
    assert len(spans) > 5
    for a, b in spans:
        assert b - a <= 200
        assert text[a:b].startswith("Phrase") and text[a:b].endswith(".")
    for (_, b1), (a2, _) in zip(spans, spans[1:], strict=False):
        assert a2 < b1  # the next chunk repeats the previous one's last sentence
    covered = {i for a, b in spans for i in range(a, b)}
    assert all(i in covered for i in range(len(text)) if not text[i].isspace())


def test_a_sentence_longer_than_the_model_window_is_cut_at_spaces() -> None:
    text = "mot " * 1000
    spans = chunk_spans(text, ((0, len(text)),), max_chars=300, overlap=1)
    assert all(b - a <= 600 for a, b in spans)
    assert all(not text[a:b].startswith(" ") for a, b in spans)
