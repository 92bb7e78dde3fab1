"""French keyword normalisation: numbers, elisions, accents and spelling variants become one token."""

from __future__ import annotations

import pytest

from veille.keyword import normalise_numbers, tokenize


@pytest.mark.parametrize("text", ["10.000 soldats", "10 000 soldats", "10000 soldats", "10\u202f000 soldats"])
def test_a_number_is_one_token_however_it_is_written(text: str) -> None:
    assert tokenize(text)[0] == "10000"


def test_years_and_decimals_are_left_alone() -> None:
    assert normalise_numbers("en 2022. 300 soldats, 3,5 %") == "en 2022. 300 soldats, 3,5 %"


def test_elisions_accents_and_stop_words_fold_away() -> None:
    assert tokenize("l’armée") == tokenize("armee")
    assert "le" not in tokenize("le la les de du") and tokenize("le la les de du") == []


@pytest.mark.parametrize(("a", "b"), [("Koursk", "Kursk"), ("Zelensky", "Zelenskyy"), ("Zelensky", "Zelenski")])
def test_spelling_variants_of_a_name_share_a_token(a: str, b: str) -> None:
    assert set(tokenize(a)) & set(tokenize(b))
