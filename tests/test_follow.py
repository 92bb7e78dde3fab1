"""Following the news for real: an Atom and an RSS 2.0 feed served on loopback, their entries' pages
fetched, extracted, indexed and cited with their URL and date; the bad cases each failing with its
reason; private addresses refused unless VEILLE_FETCH_PRIVATE=1; single pages by URL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from newsroom import NewsSite, article_page, atom, rss
from served import cli, copy_index
from veille import Index

BREST = ("Le port de Brest a accueilli 120 navires en octobre",
         ["Le port de Brest a accueilli 120 navires de commerce en octobre, un record selon la chambre de commerce.",
          "Le directeur du port, Yann Le Goff, attribue cette hausse aux nouveaux quais inaugurés au printemps."])
BUDGET = ("Le budget régional des transports voté",
          ["Le conseil régional a voté jeudi un budget de 45 millions d'euros pour les transports en commun.",
           "La présidente de la région a défendu une hausse de la fréquence des trains express régionaux."])
BUDGET_NEW = ["Le conseil régional a voté jeudi un budget de 52 millions d'euros pour les transports en commun.",
              "La présidente de la région a défendu une hausse de la fréquence des trains express régionaux."]
PONT = ("Le pont de Térénez fermé pour travaux",
        ["Le pont de Térénez sera fermé à la circulation pendant trois semaines à partir du 12 novembre.",
         "Une déviation de 25 kilomètres est mise en place par Landévennec, selon la préfecture."])


@pytest.fixture(scope="module")
def site() -> Iterator[NewsSite]:
    news = NewsSite()
    b = news.base
    news.html("/2024/11/04/brest", article_page(BREST[0], "2024-11-04", "Marie Kerjean", BREST[1],
                                                 b + "2024/11/04/brest"))
    news.html("/2024/11/05/budget", article_page(BUDGET[0], "2024-11-05", "Paul Le Bihan", BUDGET[1],
                                                  b + "2024/11/05/budget"))
    news.html("/depeches/pont", article_page(PONT[0], "2024-11-06", "Rédaction", PONT[1], b + "depeches/pont"))
    news.html("/big", article_page("Trop gros", "2024-11-06", "X", ["Un texte très long. " * 20_000], b + "big"))
    news.pages["/data.json"] = ("application/json", b'{"not": "a page"}')
    news.redirects.update({"/loop-a": "/loop-b", "/loop-b": "/loop-a"})
    news.pages["/atom.xml"] = ("application/atom+xml", atom(b, [
        ("2024/11/04/brest", BREST[0], "2024-11-04T08:00:00Z"),
        ("2024/11/05/budget", BUDGET[0], "2024-11-05T08:00:00Z")]).encode())
    news.pages["/rss.xml"] = ("application/rss+xml", rss(b, [
        ("depeches/pont", PONT[0], "Wed, 06 Nov 2024 08:00:00 +0100"),
        ("2024/11/04/brest", BREST[0], "Mon, 04 Nov 2024 08:00:00 +0100"),  # the same story in both feeds
        ("missing", "Une page disparue", "Wed, 06 Nov 2024 09:00:00 +0100"),
        ("big", "Une page trop grosse", "Wed, 06 Nov 2024 09:00:00 +0100"),
        ("data.json", "Des données", "Wed, 06 Nov 2024 09:00:00 +0100"),
        ("loop-a", "Une boucle", "Wed, 06 Nov 2024 09:00:00 +0100")]).encode())
    yield news
    news.close()


@pytest.fixture(scope="module")
def where(tmp_path_factory: pytest.TempPathFactory, seed_dirs: tuple[Path, Path], seed_index: Index) -> dict:
    return copy_index(tmp_path_factory.mktemp("follow"), seed_dirs, seed_index.settings.models_dir,
                      VEILLE_FETCH_PRIVATE="1", VEILLE_MAX_FILE_BYTES="200000")


def _json(where: dict, *args: str) -> dict:
    out = cli(where["env"], *args, "--json")
    return json.loads(out.stdout)


def test_private_addresses_are_refused_without_the_variable(site: NewsSite, where: dict) -> None:
    env = {k: v for k, v in where["env"].items() if k != "VEILLE_FETCH_PRIVATE"}
    for args in (("feed", "add", site.base + "atom.xml"), ("index", "add", site.base + "2024/11/04/brest")):
        out = cli(env, *args, check=False)
        assert out.returncode == 1
        assert "private, loopback or link-local" in out.stderr and "VEILLE_FETCH_PRIVATE=1" in out.stderr
    out = cli(env, "index", "add", "file:///etc/passwd", check=False)
    assert out.returncode == 1 and "no such file" in out.stderr
    assert "/atom.xml" not in site.requests


def test_feeds_are_followed_indexed_once_and_cited_with_url_and_date(site: NewsSite, where: dict) -> None:
    cli(where["env"], "feed", "add", site.base + "atom.xml")
    cli(where["env"], "feed", "add", site.base + "rss.xml", "--name", "fil")
    assert [f["name"] for f in _json(where, "feed", "list")] == ["la-gazette-du-port", "fil"]
    first = _json(where, "feed", "update")
    assert (first["feeds"], first["new"], first["updated"]) == (2, 3, 0)
    reasons = {f["url"].rsplit("/", 1)[1]: f["reason"] for f in first["failed"]}
    assert "HTTP 404" in reasons["missing"]
    assert "200,000-byte limit" in reasons["big"]
    assert "content type is application/json" in reasons["data.json"]
    assert "redirect loop" in reasons["loop-a"]
    status = _json(where, "index", "status")
    assert status["articles"] == 5 + 3

    site.requests.clear()
    second = _json(where, "feed", "update")
    assert (second["new"], second["updated"]) == (0, 0)
    assert not {"/2024/11/04/brest", "/2024/11/05/budget", "/depeches/pont"} & set(site.requests)

    answer = _json(where, "ask", "Combien de navires le port de Brest a-t-il accueillis en octobre ?")
    assert "120" in answer["answer"]
    c = answer["citations"][0]
    assert c["url"] == site.base + "2024/11/04/brest" and c["date"] == "2024-11-04"
    assert c["site"] == "La Gazette du Port" and c["author"] == "Marie Kerjean"
    stored = (where["corpus"] / c["source"]).read_text(encoding="utf-8")
    assert stored[c["start"]:c["end"]] == c["text"] and stored[c["quote_start"]:c["quote_end"]] == c["quote"]
    assert "Abonnez-vous" not in stored and "Sur le même sujet" not in stored  # the site's chrome is gone
    text = cli(where["env"], "ask", "Combien de navires le port de Brest a-t-il accueillis en octobre ?").stdout
    assert site.base + "2024/11/04/brest" in text and "2024-11-04" in text


def test_a_changed_page_is_fetched_again_and_reindexed(site: NewsSite, where: dict) -> None:
    b = site.base
    site.html("/2024/11/05/budget", article_page(BUDGET[0], "2024-11-05", "Paul Le Bihan", BUDGET_NEW,
                                                  b + "2024/11/05/budget"))
    site.pages["/atom.xml"] = ("application/atom+xml", atom(b, [
        ("2024/11/04/brest", BREST[0], "2024-11-04T08:00:00Z"),
        ("2024/11/05/budget", BUDGET[0], "2024-11-07T10:00:00Z")]).encode())  # the feed says it changed
    third = _json(where, "feed", "update")
    assert (third["new"], third["updated"]) == (0, 1)
    answer = _json(where, "ask", "Quel budget le conseil régional a-t-il voté pour les transports ?")
    assert "52 millions" in answer["answer"] and "45 millions" not in answer["answer"]
    assert answer["citations"][0]["url"] == b + "2024/11/05/budget"
    history = cli(where["env"], "index", "history").stdout
    assert "feed update" in history


def test_one_page_is_added_by_its_url(site: NewsSite, where: dict) -> None:
    b = site.base
    site.html("/2024/11/08/phare", article_page("Le phare du Créac'h rénové", "2024-11-08", "Anne Morvan",
              ["Le phare du Créac'h, à Ouessant, rouvre après dix-huit mois de travaux qui ont coûté "
               "3 millions d'euros."],
              b + "2024/11/08/phare"))
    report = _json(where, "index", "add", b + "2024/11/08/phare")
    assert len(report["added"]) == 1
    hits = _json(where, "search", "phare du Créac'h Ouessant travaux")["hits"]
    assert hits[0]["url"] == b + "2024/11/08/phare" and hits[0]["date"] == "2024-11-08"
    bad = cli(where["env"], "index", "add", b + "missing", check=False)
    assert bad.returncode == 1 and "HTTP 404" in bad.stderr
