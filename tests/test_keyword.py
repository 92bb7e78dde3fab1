"""French keyword normalisation: numbers, elisions, accents and spelling variants become one token."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from veille.errors import IndexMismatchError
from veille.keyword import KeywordIndex, normalise_numbers, tokenize
from veille.types import Chunk

SEEDS = Path(__file__).resolve().parents[1] / "seeds"


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


QUESTIONS = ["combien de soldats selon Blinken ?", "Koursk", "qui a dit « C'est notre affaire » ?", "Mark Rutte OTAN",
             "zzz inconnu", "la Corée du Nord et la Russie"]


def test_the_score_matrix_built_here_is_bm25s_own(tmp_path: Path) -> None:
    """The keyword index builds bm25s's score matrix itself (memory at 1M chunks); the scores must not move."""
    import bm25s

    texts = [p for f in sorted(SEEDS.glob("*.txt")) for p in f.read_text(encoding="utf-8").split("\n\n") if p.strip()]
    chunks = [Chunk(n, f"{n % 5}.txt", 0, len(t), t, "Titre") for n, t in enumerate(texts)]
    chunks.append(Chunk(999, "x.txt", 0, 3, "..."))  # no token: bm25s still needs a row
    ours = KeywordIndex.build(chunks)
    reference = bm25s.BM25()
    reference.index([tokenize(f"{c.title}\n{c.text}") or ["~"] for c in chunks], show_progress=False)
    assert set(ours.retriever.vocab_dict) == set(reference.vocab_dict)
    mine, theirs = ours.retriever.scores, reference.scores
    for token, column in reference.vocab_dict.items():  # each token's chunks and scores, bit for bit
        if token:
            own = ours.retriever.vocab_dict[token]
            a, b = slice(*mine["indptr"][own:own + 2]), slice(*theirs["indptr"][column:column + 2])
            assert mine["indices"][a].tolist() == theirs["indices"][b].tolist(), token
            assert mine["data"][a].tobytes() == theirs["data"][b].tobytes(), token
    ours.save(tmp_path / "keyword")
    loaded = KeywordIndex.load(tmp_path / "keyword", {c.id: c for c in chunks})
    for question in QUESTIONS:
        tokens = [t for t in tokenize(question) if t in reference.vocab_dict]
        if tokens:
            np.testing.assert_allclose(ours.retriever.get_scores(tokens), reference.get_scores(tokens), rtol=1e-6)
        assert loaded.search(question, 10) == ours.search(question, 10)
    assert ours.search("combien de soldats selon Blinken ?", 3) and not ours.search("zzz inconnu", 3)


def test_chunk_frequencies_and_the_corpus_words_come_from_the_index_without_retokenising(tmp_path: Path) -> None:
    """The answerer weighs question words by chunk frequency and corrects misspellings against the corpus's
    words: both are read from the keyword index, not recomputed from every chunk at the first question."""
    from veille.keyword import fold, words

    texts = [p for f in sorted(SEEDS.glob("*.txt")) for p in f.read_text(encoding="utf-8").split("\n\n") if p.strip()]
    chunks = [Chunk(n, f"{n % 5}.txt", 0, len(t), t, "Titre") for n, t in enumerate(texts)]
    built = KeywordIndex.build(chunks)
    frequency: dict[str, int] = {}
    for c in chunks:
        for token in set(tokenize(f"{c.title}\n{c.text}")):
            frequency[token] = frequency.get(token, 0) + 1
    assert {t: built.frequency(t) for t in frequency} == frequency
    assert built.frequency("zzzinconnu") == 0 and built.frequency("") == 0
    spelled = sorted({fold(w) for c in chunks for w in words(f"{c.title}\n{c.text}") if len(fold(w)) >= 4})
    assert built.spelled == spelled and "blinken" in spelled
    built.save(tmp_path / "keyword")
    assert KeywordIndex.load(tmp_path / "keyword", {c.id: c for c in chunks}).spelled == spelled
    (tmp_path / "keyword" / "words.json").unlink()  # an index built before words.json: rebuilt from chunks
    assert KeywordIndex.load(tmp_path / "keyword", {c.id: c for c in chunks}).spelled == spelled
    (tmp_path / "keyword" / "words.json").write_text("[", encoding="utf-8")
    with pytest.raises(IndexMismatchError, match="damaged.*veille index build"):
        KeywordIndex.load(tmp_path / "keyword", {c.id: c for c in chunks})


def test_a_misspelt_name_is_respelt_for_the_embedding_model(seed_index) -> None:  # noqa: ANN001
    """« kremlim » is no word of the seeds: the embedding model also reads « kremlin » (by default), and the
    Peskov passage comes first; other words are left as typed, and so is a typo of a common word (respelling
    goes to names only)."""
    vocabulary = seed_index.vocabulary
    respelt = "qui est le porte parole du kremlim (kremlin) ?"
    assert vocabulary.respell("qui est le porte parole du kremlim ?") == respelt
    assert "soldats" in vocabulary.spelled and "soldats" not in vocabulary.names and "kremlin" in vocabulary.names
    for typed in ("Combien de soldats selon Blinken ?", "What did the Pentagon spokesman say?", "le 14 octobre 2024",
                  "combien de soldits selon Blinken ?"):
        assert vocabulary.respell(typed) == typed
    assert seed_index.settings.respell
    assert "Peskov" in seed_index.search("qui est le porte parole du kremlim ?", 1)[0].chunk.text


def test_names_are_the_words_only_ever_written_capitalised() -> None:
    from veille.keyword import _names

    assert _names({"Kremlin", "Depuis", "depuis", "Paris", "Sud", "Choe", "choe"}) == ["kremlin", "paris"]


@pytest.mark.parametrize(("a", "b", "typo"), [("kremlim", "kremlin", True), ("blinkne", "blinken", True),
                                              ("peskv", "peskov", True), ("kremlin", "kremlin", False),
                                              ("miracles", "minerales", False), ("fache", "face", True)])
def test_one_letter_typos_are_told_from_other_words(a: str, b: str, typo: bool) -> None:
    from veille.terms import one_edit

    assert one_edit(a, b) is typo
