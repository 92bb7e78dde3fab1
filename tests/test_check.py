"""The check on generated answers, case by case: it keeps only claims that the cited passage supports."""

from __future__ import annotations

import pytest

from veille.check import REFUSAL, check_answer

BLINKEN = ("Citant les services de renseignement américains, le chef de la diplomatie Antony Blinken a indiqué "
           "jeudi que sur les 10.000 soldats nord-coréens qui, selon Washington, sont entrés en Russie, jusqu’à "
           "8.000 “ont été déployés dans la région de Koursk”.")
RUTTE = "Le secrétaire général de l’Otan, Mark Rutte, a alerté sur le risque d’escalade."
PASSAGES = {1: BLINKEN, 2: RUTTE}

CASES = [
    # (case, generated answer, expected text, expected removed count)
    ("correct answer",
     "Selon Antony Blinken, 10 000 soldats nord-coréens sont entrés en Russie et jusqu'à 8000 ont été déployés "
     "à Koursk [1].",
     "Selon Antony Blinken, 10 000 soldats nord-coréens sont entrés en Russie et jusqu'à 8000 ont été déployés "
     "à Koursk [1].", 0),
    ("hallucinated marker only",
     "Blinken parle de 10.000 soldats [7].", "", 1),
    ("hallucinated marker beside a real one",
     "Blinken parle de 10.000 soldats [1][7].", "Blinken parle de 10.000 soldats [1].", 0),
    ("wrong number",
     "Selon Blinken, 12.000 soldats sont entrés en Russie [1].", "", 1),
    ("wrong person",
     "Selon Lloyd Austin, 10.000 soldats sont entrés en Russie [1].", "", 1),
    ("right fact, wrong passage cited",
     "Mark Rutte a alerté sur le risque d'escalade [1].", "", 1),
    ("one good sentence, one uncited",
     "Mark Rutte a alerté sur le risque d’escalade [2]. Il a aussi démissionné.",
     "Mark Rutte a alerté sur le risque d’escalade [2].", 1),
    ("two citations in one marker",
     "Blinken cite 10.000 soldats et Mark Rutte alerte sur l'escalade [1, 2].",
     "Blinken cite 10.000 soldats et Mark Rutte alerte sur l'escalade [1][2].", 0),
    ("refusal", REFUSAL, REFUSAL, 0),
    ("refusal in other words around it", f"Désolé. {REFUSAL}", REFUSAL, 0),
]


@pytest.mark.parametrize(("case", "generated", "expected", "removed"), CASES, ids=[c[0] for c in CASES])
def test_the_check_keeps_only_supported_cited_claims(case: str, generated: str, expected: str, removed: int) -> None:
    checked = check_answer(generated, PASSAGES)
    assert checked.text == expected
    assert len(checked.removed) == removed
    assert checked.refusal == (expected == REFUSAL)


def test_dropped_markers_are_reported() -> None:
    checked = check_answer("Blinken parle de 10.000 soldats [1][7].", PASSAGES)
    assert checked.dropped_markers == (7,) and checked.cited == (1,)


def test_an_answer_with_nothing_supported_is_empty_so_the_caller_falls_back() -> None:
    checked = check_answer("La France a envoyé 500 soldats [3].", PASSAGES)
    assert checked.empty and checked.removed[0].reason == "no citation to an existing passage"


ATTRIBUTION = [
    ("uncited but supported", "Dmitri Peskov est porte-parole du Kremlin.",
     {1: "Dmitri Peskov, porte-parole du Kremlin, a parlé."}, "Dmitri Peskov est porte-parole du Kremlin [1]."),
    ("uncited with a wrong number", "Blinken parle de 12.000 soldats.", PASSAGES, ""),
    ("uncited with a wrong person", "Lloyd Austin parle de 10.000 soldats.", PASSAGES, ""),
    ("uncited, off topic", "La France prépare un budget de défense.", PASSAGES, ""),
    ("hallucinated marker, supported elsewhere", "Mark Rutte a alerté sur le risque d’escalade [9].", PASSAGES,
     "Mark Rutte a alerté sur le risque d’escalade [2]."),
]


@pytest.mark.parametrize(("case", "generated", "passages", "expected"), ATTRIBUTION, ids=[c[0] for c in ATTRIBUTION])
def test_attribution_cites_only_a_passage_that_holds_the_claims_facts(
    case: str, generated: str, passages: dict[int, str], expected: str
) -> None:
    checked = check_answer(generated, passages, attribute=True)
    assert checked.text == expected
    if expected:
        assert checked.verdicts[0].reason.startswith("cited by veille")


def test_a_sentence_whose_passages_do_not_name_the_source_asked_for_is_removed() -> None:
    """« selon Blinken »: the Pentagon's 10 000, truly in its passage, answers another question. The check is
    the structured mode's (tests/test_claims.py), on free text; the passage's title counts as naming him."""
    from veille.terms import named_source

    pentagon = "Le Pentagone a estimé qu'environ 10 000 soldats nord-coréens avaient été envoyés en Russie."
    passages = {1: BLINKEN, 2: pentagon}
    answer = "Environ 10 000 soldats nord-coréens ont été envoyés en Russie [2]."
    for question in ("combien de soldats selon Blinken ?", "How many soldiers according to Antony Blinken?"):
        checked = check_answer(answer, passages, named=named_source(question))
        assert checked.empty and "source" in checked.removed[0].reason
    assert check_answer(answer, passages, named=named_source("combien de soldats ?")).text == answer
    own = "Jusqu'à 8.000 soldats ont été déployés à Koursk [1]."
    assert check_answer(own, passages, named=named_source("combien selon Blinken ?")).text == own
    # the passage's excerpt lacks the name, its title has it
    titled = {2: "Blinken: le Pentagone parle de 10 000 soldats\n" + pentagon}
    assert check_answer(answer, passages, named=named_source("combien selon Blinken ?"), context=titled).text == answer
