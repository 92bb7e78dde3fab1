"""The check of structured generated answers (veille.claims), on crafted model outputs: no model needed.
The same path with the real model is in tests/test_llm.py."""

from __future__ import annotations

import json

import pytest

from veille.claims import check_draft, locate, parse, schema

PASSAGES = {
    1: "Citant les services de renseignement américains, le chef de la diplomatie Antony Blinken a indiqué jeudi "
       "que sur les 10.000 soldats nord-coréens qui, selon Washington, sont entrés en Russie, jusqu’à 8.000 "
       "“ont été déployés dans la région de Koursk”.",
    2: "Dmitri Peskov, porte-parole du Kremlin, a pour sa part tenté de rassurer la communauté internationale.",
}
BLINKEN = "jusqu’à 8.000 “ont été déployés dans la région de Koursk”"
FOUND = BLINKEN[:-1]  # the quotation marks around a quote are not part of it


@pytest.mark.parametrize(("quote", "found"), [
    (BLINKEN, FOUND),  # verbatim
    ('jusqu\'à 8.000 "ont été déployés dans la région de Koursk"', FOUND),  # other quotation marks
    ("JUSQU’A 8.000 “ont ete deployes  dans la region de Koursk”", FOUND),  # case, accents, spaces
    ("« Dmitri Peskov, porte-parole du Kremlin »", None),  # the right words, the wrong passage
    ("jusqu’à 9.000 “ont été déployés dans la région de Koursk”", None),  # one figure changed
])
def test_a_quote_is_found_verbatim_or_folded_and_nowhere_else(quote: str, found: str | None) -> None:
    span = locate(quote, PASSAGES[1])
    assert (PASSAGES[1][span[0]:span[1]] if span else None) == found


@pytest.mark.parametrize(("draft", "short", "kept", "dropped"), [
    # the answer and its quote: kept, with the passage's own words
    ({"reponse": "jusqu'à 8.000 soldats", "preuves": [{"passage": 1, "citation": BLINKEN}]},
     "jusqu'à 8.000 soldats", [(1, PASSAGES[1])], 0),  # shown: the whole sentence the words sit in
    # a quote the passage does not hold: dropped, and the short answer with it (nothing holds 9.000)
    ({"reponse": "9.000 soldats", "preuves": [{"passage": 1, "citation": "9.000 soldats ont été déployés"}]},
     None, [], 1),
    # a real quote cited to the wrong passage: dropped
    ({"reponse": "Peskov", "preuves": [{"passage": 1, "citation": "Dmitri Peskov, porte-parole du Kremlin"}]},
     None, [], 1),
    # a passage that was not given: dropped; the good claim beside it stays
    ({"reponse": "Dmitri Peskov", "preuves": [{"passage": 7, "citation": "Dmitri Peskov, porte-parole"},
                                              {"passage": 2, "citation": "Dmitri Peskov, porte-parole du Kremlin"}]},
     "Dmitri Peskov", [(2, PASSAGES[2])], 1),
    # a short answer naming someone the quotes do not: the quotes stay, the short answer goes
    ({"reponse": "Sergueï Lavrov", "preuves": [{"passage": 2, "citation": "Dmitri Peskov, porte-parole du Kremlin"}]},
     None, [(2, PASSAGES[2])], 0),
    # a « quote » too short to say where it came from
    ({"reponse": "8.000", "preuves": [{"passage": 1, "citation": "8.000"}]}, None, [], 1),
    # the same words twice
    ({"reponse": "Dmitri Peskov", "preuves": [{"passage": 2, "citation": "Dmitri Peskov, porte-parole du Kremlin"},
                                              {"passage": 2, "citation": "porte-parole du Kremlin"}]},
     "Dmitri Peskov", [(2, PASSAGES[2])], 1),
    # a fragment without the name: its sentence holds it, so the short answer stands
    ({"reponse": "Dmitri Peskov", "preuves": [{"passage": 2, "citation": "porte-parole du Kremlin"}]},
     "Dmitri Peskov", [(2, PASSAGES[2])], 0),
])
def test_only_claims_whose_quote_is_in_their_passage_are_kept(draft: dict, short: str | None, kept: list,
                                                              dropped: int) -> None:
    checked = check_draft(draft, PASSAGES)
    assert checked.short == short
    assert [(c.passage, c.quote) for c in checked.kept] == kept
    assert all(PASSAGES[c.passage][c.start:c.end] == c.quote for c in checked.kept)
    assert len(checked.dropped) == dropped and all(c.reason for c in checked.dropped)


def test_a_claim_from_a_passage_that_does_not_name_the_source_asked_for_is_dropped() -> None:
    """« selon Blinken »: a true quote from a passage where Blinken says nothing (the Pentagon's 10 000) answers
    another question. The passage's whole text (`context`, when the model read an excerpt) is what must name him."""
    from veille.terms import named_source

    passages = {**PASSAGES, 3: "Le département américain de la défense a estimé qu'environ 10 000 troupes "
                               "nord-coréennes avaient été envoyées dans l'est de la Russie."}
    pentagon = {"reponse": "10 000", "preuves": [{"passage": 3, "citation": "environ 10 000 troupes nord-coréennes"}]}
    for question in ("combien de soldats selon Blinken ?", "How many North Korean soldiers according to Blinken?",
                     "Combien de soldats d'après Blinken ?"):
        checked = check_draft(pentagon, passages, named_source(question))
        assert not checked.kept and checked.short is None and "source" in checked.dropped[0].reason
    assert check_draft(pentagon, passages, named_source("combien de soldats nord-coréens ?")).kept  # no one named
    blinken = {"reponse": "8.000", "preuves": [{"passage": 1, "citation": BLINKEN}]}
    assert check_draft(blinken, passages, named_source("combien de soldats selon Blinken ?")).short == "8.000"
    # an excerpt without the name, from a passage that has it: kept
    excerpt = {1: "sur les 10.000 soldats nord-coréens, jusqu’à 8.000 “ont été déployés dans la région de Koursk”."}
    draft = {"reponse": "8.000", "preuves": [{"passage": 1, "citation": BLINKEN}]}
    assert check_draft(draft, excerpt, named_source("combien selon Blinken ?"), PASSAGES).kept
    assert not check_draft(draft, excerpt, named_source("combien selon Blinken ?")).kept


@pytest.mark.parametrize(("question", "name"), [
    ("combien de soldats selon Blinken ?", {"blinken"}),
    ("combien de soldats selon Antony Blinken ?", {"blinken"}),  # a passage may write « M. Blinken »
    ("combien de soldats selon M. Blinken ?", {"blinken"}),
    ("How many soldiers according to Antony Blinken?", {"blinken"}),
    ("combien de soldats selon le Pentagone ?", set()),  # no one named
    ("combien de soldats nord-coréens ?", set()),
])
def test_the_source_a_question_names_is_its_last_name(question: str, name: set[str]) -> None:
    from veille.terms import named_source

    assert {t for t in named_source(question) if not t.startswith("~")} == name


def test_a_refusal_and_unreadable_output_are_told_apart() -> None:
    refusal = check_draft({"reponse": "Je ne trouve pas cette information dans les articles indexés.", "preuves": []},
                          PASSAGES)
    assert refusal.refusal and not refusal.kept
    for text in ("Voici la réponse : 8.000", '{"reponse": "8.000", "preuves": [', "[1, 2]"):
        assert check_draft(parse(text), PASSAGES).malformed
    assert parse('Réponse : {"reponse": "x", "preuves": []} fin') == {"reponse": "x", "preuves": []}


def test_a_draft_the_token_cap_cut_keeps_the_claims_it_wrote_whole() -> None:
    whole = '{"passage": 1, "citation": "10.000 soldats nord-coréens"}'
    cut = f'{{"reponse": "10.000", "preuves": [{whole}, {{"passage": 2, "citation": "selon Washington, sont entr'
    assert parse(cut) == {"reponse": "10.000", "preuves": [json.loads(whole)]}
    checked = check_draft(parse(cut), PASSAGES)
    assert not checked.malformed and [c.passage for c in checked.kept] == [1]
    # A brace inside a quote the cap cut is not the end of a claim; nothing written whole is nothing to read.
    assert parse('{"reponse": "x", "preuves": [{"passage": 1, "citation": "(aryanisation)}]} ```\n\n') is None
    assert parse('{"reponse": "x", "preuves": [{"passage": 1, "cit') is None


def test_the_schema_names_the_passages_that_exist() -> None:
    s = schema(3)
    item = s["properties"]["preuves"]["items"]["properties"]["passage"]
    assert (item["minimum"], item["maximum"]) == (1, 3) and s["required"] == ["reponse", "preuves"]


def test_the_model_reads_windows_around_the_best_sentences_and_the_card_shows_the_passage() -> None:
    """Each excerpt is a candidate's sentences and one either side, inside its passage, with file offsets; a
    candidate inside a window is skipped, one overlapping it widens it until k are taken; the full passage
    comes with it."""
    from veille.evidence import Candidate
    from veille.structured import excerpts
    from veille.types import Chunk, Hit

    text = "Un premier fait. Le deuxième fait. Le troisième fait. Le quatrième fait. Le cinquième fait."
    hit = Hit(Chunk(7, "a.txt", 100, 100 + len(text), text), 1.0)
    other = Hit(Chunk(8, "b.txt", 0, 12, "Autre chose."), 0.5)
    at = [(text.index(s), text.index(s) + len(s)) for s in ("Le troisième fait.", "Le quatrième fait.",
                                                             "Un premier fait.")]
    cands = [Candidate(hit, 1, ((100 + a, 100 + b),), text[a:b]) for a, b in at]
    cands.insert(1, Candidate(other, 2, ((0, 12),), "Autre chose."))
    (window, full), (second, _) = excerpts(cands, 3, 1)
    assert window.chunk.text == "Un premier fait. Le deuxième fait. Le troisième fait. Le quatrième fait."
    assert (window.chunk.start, window.chunk.end) == (100, 100 + text.index(" Le cinq"))
    assert full is hit and window.chunk.source == "a.txt" and second.chunk.text == "Autre chose."
    assert [w.chunk.text for w, _ in excerpts(cands, 1, 0)] == ["Le troisième fait."]
    # once k windows are taken, later candidates widen nothing
    assert [w.chunk.text for w, _ in excerpts(cands, 2, 0)] == ["Le troisième fait.", "Autre chose."]


def test_quotes_that_do_not_hold_the_short_answer_fall_back_to_the_extractive_answer() -> None:
    """A found quote is not an answer: when the short answer's figures are not in the quotes, the extractive
    answer is shown (marked as a fallback), except for a synthesis, which needs no short answer."""
    import json
    from dataclasses import replace

    from veille.generate import Reading
    from veille.structured import finalize
    from veille.types import Answer, Chunk, Hit

    hit = Hit(Chunk(1, "a.txt", 0, len(PASSAGES[1]), PASSAGES[1]), 1.0)
    gate = Answer("q", "« la phrase extractive » [1]", ())
    r = Reading("q", "q", [hit], gate, [hit])
    good = {"reponse": "8.000", "preuves": [{"passage": 1, "citation": BLINKEN}]}
    wrong = {"reponse": "600 000", "preuves": [{"passage": 1, "citation": BLINKEN}]}
    shown = finalize(r, json.dumps(good), [(hit, hit)])
    assert not shown.fallback and shown.short == "8.000" and shown.citations[0].quote == PASSAGES[1]
    fallback = finalize(r, json.dumps(wrong), [(hit, hit)])
    assert fallback.fallback and fallback.text == gate.text and fallback.mode == "llm"
    assert not finalize(replace(r, synthesis=True), json.dumps(wrong), [(hit, hit)]).fallback


def test_the_local_model_runs_with_or_without_its_grammar(monkeypatch: pytest.MonkeyPatch) -> None:
    """VEILLE_LLM_FORMAT for the local model: grammar (the default) or none; anything else is refused with the
    choices (the real model under both: tests/test_llm.py)."""
    from veille.errors import ModelError
    from veille.llm import constrained

    monkeypatch.delenv("VEILLE_LLM_URL", raising=False)
    model = object()
    monkeypatch.setenv("VEILLE_LLM_FORMAT", "none")
    assert constrained(model, schema(2)) is model
    monkeypatch.setenv("VEILLE_LLM_FORMAT", "json_schema")
    with pytest.raises(ModelError, match="use grammar or none"):
        constrained(model, schema(2))
