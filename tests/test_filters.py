"""--since, --until, --source: two dated articles give different figures for the same thing, and the
filter decides which one answers, because it is applied before ranking."""

from __future__ import annotations

import json

import pytest

from helpers import run
from veille import Index
from veille.errors import InputError
from veille.filters import Where

EARLY = ("ouest-chomage.txt", "Le chômage recule en Bretagne\n\n3/11/2024\n\n"
         "Le taux de chômage en Bretagne s’établit à 6,1 % au troisième trimestre, selon l’Insee. "
         "La baisse est plus marquée dans le Finistère.\n")
LATE = ("gazette-chomage.txt", "Nouvelles données sur l’emploi en Bretagne\n\n10/11/2024\n\n"
        "Après révision, l’Insee indique que le taux de chômage en Bretagne atteint 6,4 % au troisième "
        "trimestre. Les Côtes-d’Armor restent le département le plus touché.\n")
QUESTION = "Quel est le taux de chômage en Bretagne au troisième trimestre ?"


@pytest.fixture
def dated(own_index: Index) -> Index:
    own_index.add_texts([(name, text.encode()) for name, text in (EARLY, LATE)])
    return own_index


def test_the_period_and_the_source_decide_which_article_answers(dated: Index) -> None:
    late = dated.ask(QUESTION, where=Where.of(since="2024-11-05"))
    assert "6,4" in late.text and {c.source for c in late.citations} == {"gazette-chomage.txt"}
    early = dated.ask(QUESTION, where=Where.of(until="5/11/2024"))
    assert "6,1" in early.text and {c.source for c in early.citations} == {"ouest-chomage.txt"}
    by_source = dated.ask(QUESTION, where=Where.of(source="ouest-*"))
    assert {c.source for c in by_source.citations} == {"ouest-chomage.txt"}
    hits = dated.search("taux de chômage Bretagne", 5, where=Where.of(since="2024-11-05", until="2024-11-30"))
    assert {h.chunk.source for h in hits} == {"gazette-chomage.txt"}  # every other article is outside
    assert [m.source for m in dated.cite("le taux de chômage", where=Where.of(source="gazette*"))] == [
        "gazette-chomage.txt"]


def test_the_cli_takes_the_filters_and_says_when_nothing_matches(dated: Index) -> None:
    out = run("ask", QUESTION, "--since", "2024-11-05", "--json", index=dated)
    answer = json.loads(out.stdout)
    assert "6,4" in answer["answer"] and answer["citations"][0]["date"] == "2024-11-10"
    out = run("search", "chômage", "--source", "ouest-*", "--json", index=dated)
    assert {h["source"] for h in json.loads(out.stdout)["hits"]} == {"ouest-chomage.txt"}
    none = run("ask", QUESTION, "--since", "2030-01-01", index=dated)
    assert none.returncode == 1 and "no indexed article matches --since 2030-01-01" in none.stderr
    bad = run("ask", QUESTION, "--since", "mardi", index=dated)
    assert bad.returncode == 1 and "give a day as 2024-11-04" in bad.stderr


def test_bad_filters_name_the_fix() -> None:
    with pytest.raises(InputError, match="swap them"):
        Where.of(since="2024-11-10", until="2024-11-01")
    with pytest.raises(InputError, match="--until '31/02/2024'"):
        Where.of(until="31/02/2024")
    assert Where.of() is None and Where.of(source="  ") is None
    undated = Where.of(since="2024-01-01")
    assert undated is not None and not undated.admits("x.txt", {"date": None, "chunks": [1]})
