"""Relative days become full dates, read against the article's date (news conventions)."""

from __future__ import annotations

import pytest

from veille.dates import find_relative, resolve

TUESDAY = "2024-10-29"  # mardi 29 octobre 2024

RESOLVED = [
    ("lundi", "lundi 28 octobre 2024"),
    ("hier", "lundi 28 octobre 2024"),
    ("hier soir", "lundi 28 octobre 2024"),
    ("avant-hier", "dimanche 27 octobre 2024"),
    ("aujourd'hui", "mardi 29 octobre 2024"),
    ("aujourd’hui", "mardi 29 octobre 2024"),
    ("ce mardi", "mardi 29 octobre 2024"),
    ("ce matin", "mardi 29 octobre 2024"),
    ("mardi", "mardi 29 octobre 2024"),  # a news article's own day
    ("demain", "mercredi 30 octobre 2024"),
    ("après-demain", "jeudi 31 octobre 2024"),
    ("jeudi", "jeudi 24 octobre 2024"),  # the most recent past Thursday
    ("jeudi prochain", "jeudi 31 octobre 2024"),
    ("ce jeudi", "jeudi 31 octobre 2024"),  # the Thursday of the article's week
    ("lundi dernier", "lundi 28 octobre 2024"),
    ("mardi dernier", "mardi 22 octobre 2024"),
    ("mardi prochain", "mardi 5 novembre 2024"),
    ("Vendredi matin", "vendredi 25 octobre 2024"),
    ("le 3 novembre", "3 novembre 2024"),
    ("le 15 mai", "15 mai 2024"),  # five months back, not seven ahead
    ("le 1er janvier", "1er janvier 2025"),  # two months ahead, not ten back
    ("1er novembre", "1er novembre 2024"),
    ("lundi 28 octobre", "lundi 28 octobre 2024"),
    ("mardi 29 octobre 2024", "mardi 29 octobre 2024"),
    ("Mardi 29 Octobre 2024", "mardi 29 octobre 2024"),
    ("le 5 fevrier 2023", "5 février 2023"),  # accents as the article forgot them
    ("le 15 août", "15 août 2024"),
    ("le 24 décembre 2023", "24 décembre 2023"),
]


@pytest.mark.parametrize(("phrase", "expected"), RESOLVED)
def test_a_day_expression_reads_as_the_date_it_means_in_the_article(phrase: str, expected: str) -> None:
    assert resolve(phrase, TUESDAY) == expected


def test_an_article_date_with_a_time_reads_as_its_day() -> None:
    assert resolve("hier", "2024-10-29T18:45") == "lundi 28 octobre 2024"


def test_a_day_name_across_new_year_falls_in_the_previous_year() -> None:
    assert resolve("lundi", "2025-01-02") == "lundi 30 décembre 2024"  # a Thursday


@pytest.mark.parametrize(("phrase", "expected"), [("jeudi", "jeudi 31 octobre 2024"),
                                                  ("lundi", "lundi 4 novembre 2024"),
                                                  ("mardi", "mardi 29 octobre 2024"),
                                                  ("le 15 mai", "15 mai 2025"),
                                                  ("lundi dernier", "lundi 28 octobre 2024")])
def test_a_future_tense_turns_a_bare_day_to_the_coming_one(phrase: str, expected: str) -> None:
    assert resolve(phrase, TUESDAY, future=True) == expected


@pytest.mark.parametrize("phrase", ["la semaine dernière", "récemment", "le mois prochain", "", "Mars", "en mai",
                                    "le 31 novembre", "le 30 février"])
def test_a_vague_or_impossible_phrase_is_left_as_written(phrase: str) -> None:
    assert resolve(phrase, TUESDAY) is None


@pytest.mark.parametrize("article_date", [None, "", "hier", "2024-13-45", "29/10/2024", "2024-10-29garbage"])
def test_without_a_readable_article_date_nothing_is_resolved(article_date: str | None) -> None:
    assert resolve("lundi", article_date) is None


SENTENCES = [
    ("Le président est arrivé lundi à Kiev.", ["lundi"]),
    ("Il l'a dit hier soir, avant-hier et aujourd’hui encore.", ["hier soir", "avant-hier", "aujourd’hui"]),
    ("Ce mardi, il a annoncé un sommet jeudi prochain.", ["Ce mardi", "jeudi prochain"]),
    ("Depuis jeudi dernier, et jusqu'au 3 novembre", ["jeudi dernier", "3 novembre"]),
    ("La réunion du lundi 28 octobre 2024 et celle du 1er décembre.", ["lundi 28 octobre 2024", "1er décembre"]),
    ("Il a voté le 5 mars. Mars est une planète ; Mai une chanteuse.", ["le 5 mars"]),
    ("Les lundis sont calmes ; mardis aussi. Samedi11 non.", []),
    ("Rendez-vous en Février, le 12 Février exactement.", ["le 12 Février"]),
]


@pytest.mark.parametrize(("text", "phrases"), SENTENCES)
def test_find_relative_gives_the_day_expressions_with_exact_spans(text: str, phrases: list[str]) -> None:
    found = find_relative(text)
    assert [phrase for _, _, phrase in found] == phrases
    assert all(text[start:end] == phrase for start, end, phrase in found)


def test_every_span_found_resolves() -> None:
    text = "Hier, le ministre a parlé ; ce jeudi il reviendra, et le 3 novembre il partira."
    assert [resolve(phrase, TUESDAY) for _, _, phrase in find_relative(text)] == [
        "lundi 28 octobre 2024", "jeudi 31 octobre 2024", "3 novembre 2024"]
