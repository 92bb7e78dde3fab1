"""Ingestion: titles, dates, boilerplate, offsets, duplicates and bad files."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from veille.chunk import chunk_article
from veille.dates import parse_date
from veille.errors import CorpusError
from veille.ingest import clean, read_article, read_corpus

SEEDS = Path(__file__).resolve().parents[1] / "seeds"


def _kept(original: str) -> str:
    _, _, segments = clean(original)
    return "\n".join(original[s:e] for s, e in segments)


def test_every_chunk_of_the_seeds_slices_back_out_of_its_file() -> None:
    articles, skipped, duplicates = read_corpus(SEEDS)
    assert len(articles) == 5 and not skipped and not duplicates
    for a in articles:
        original = (SEEDS / a.source).read_bytes().decode("utf-8")
        chunks = chunk_article(a, 600, 1, 0)
        assert chunks
        for c in chunks:
            assert original[c.start : c.end] == c.text


def test_rubric_teaser_comment_and_loader_lines_of_002_are_gone() -> None:
    a = read_article(SEEDS / "002_b8ce6e8f7f721623.txt", "002_b8ce6e8f7f721623.txt")
    assert a.title.startswith("L’OTAN s’inquiète")
    body = a.body
    for chrome in ("International", "À lire aussi", "Empêtré dans un scandale", "Aucun commentaire", "Loading"):
        assert chrome not in body
    assert "Andrzej Duda" in body  # the article's last real sentence stays


def test_teasers_for_other_articles_at_the_end_of_003_are_gone() -> None:
    a = read_article(SEEDS / "003_2b871e9edb605c10.txt", "003_2b871e9edb605c10.txt")
    assert a.date == "2024-10-29T11:12"
    assert a.title == "Nato dit des troupes nord-coréennes déployées dans la région de Kursk en Russie"
    for chrome in ("Other Articles", "News Image", "Read more", "Jeremy Bowen", "Salvini", "Myanmar", "Musk"):
        assert chrome not in a.body
    assert "ce nombre est beaucoup plus élevé" in a.body
    assert "29/10/2024" not in a.body  # the dateline is metadata, not text to quote


def test_the_same_rules_clean_another_site() -> None:
    page = (
        "Politique\n"
        "Le Sénat adopte le budget après une longue nuit de débats\n"
        "Publié le 3 décembre 2024 à 18h40\n"
        "Partager sur Facebook\n"
        "Les sénateurs ont adopté mardi le projet de loi de finances par 190 voix contre 120.\n"
        "Lire aussi : Le gouvernement face à la censure\n"
        "Le texte part maintenant en commission mixte paritaire.\n"
        "Sur le même sujet\n"
        "La réforme des retraites en débat\n"
        "Lire la suite\n"
        "Une motion de censure déposée\n"
        "Lire la suite\n"
    )
    title, date, _ = clean(page)
    kept = _kept(page)
    assert title == "Le Sénat adopte le budget après une longue nuit de débats"
    assert date == "2024-12-03T18:40"
    assert "190 voix contre 120" in kept and "commission mixte paritaire" in kept
    for chrome in ("Politique\n", "Partager", "Lire aussi", "Sur le même sujet", "retraites", "censure déposée"):
        assert chrome not in kept


@pytest.mark.parametrize(
    ("text", "expected"),
    [("29/10/2024 11:12", "2024-10-29T11:12"), ("2024-10-21", "2024-10-21"),
     ("le 1er novembre 2024", "2024-11-01"), ("pas de date ici", None), ("31/02/1800", None)],
)
def test_dates_are_read_in_french_and_numeric_forms(text: str, expected: str | None) -> None:
    assert parse_date(text) == expected


def test_bom_and_crlf_are_kept_so_offsets_match_a_plain_utf8_read(tmp_path: Path) -> None:
    raw = "\ufeffTitre de l’article\r\n\r\nPremière phrase du texte. Deuxième phrase, avec M. Dupont.\r\n"
    (tmp_path / "a.txt").write_bytes(raw.encode("utf-8"))
    a = read_article(tmp_path / "a.txt", "a.txt")
    assert a.title == "Titre de l’article"
    for c in chunk_article(a, 600, 1, 0):
        assert (tmp_path / "a.txt").read_bytes().decode("utf-8")[c.start : c.end] == c.text


def test_an_identical_article_under_two_names_is_indexed_once(tmp_path: Path) -> None:
    data = (SEEDS / "001_567d18c58954b188.txt").read_bytes()
    (tmp_path / "a.txt").write_bytes(data)
    (tmp_path / "copie.md").write_bytes(data)
    articles, _, duplicates = read_corpus(tmp_path)
    assert [a.source for a in articles] == ["a.txt"]
    assert duplicates == [("copie.md", "a.txt")]


def test_bad_files_are_skipped_with_a_warning_naming_the_file_and_why(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "ok.txt").write_text("Un titre\n\nUne phrase complète de l’article.\n", encoding="utf-8")
    (tmp_path / "vide.txt").write_bytes(b"")
    (tmp_path / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    (tmp_path / "latin1.txt").write_bytes("Élection présidentielle\n".encode("latin-1"))
    (tmp_path / "gros.txt").write_bytes(b"a" * 2000)
    with caplog.at_level(logging.WARNING):
        articles, skipped, _ = read_corpus(tmp_path, max_bytes=1000)
    assert [a.source for a in articles] == ["ok.txt"]
    reasons = dict(skipped)
    assert "empty" in reasons["vide.txt"]
    assert "binary" in reasons["image.txt"]
    assert "not UTF-8" in reasons["latin1.txt"] and "iconv" in reasons["latin1.txt"]
    assert "limit" in reasons["gros.txt"]
    for name in reasons:
        assert name in caplog.text


def test_an_empty_or_missing_corpus_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="no .txt"):
        read_corpus(tmp_path)
    with pytest.raises(CorpusError, match="does not exist"):
        read_corpus(tmp_path / "nope")
    (tmp_path / "vide.txt").write_bytes(b"")
    with pytest.raises(CorpusError, match="could be read"):
        read_corpus(tmp_path)


def test_html_is_reduced_to_its_article_text(tmp_path: Path) -> None:
    html = (
        "<html><head><title>Rutte à Bruxelles</title></head><body><nav>Accueil | Monde | Sport</nav>"
        "<article><h1>Rutte à Bruxelles</h1><p>Le secrétaire général de l’OTAN, Mark Rutte, s’est exprimé "
        "lundi à Bruxelles devant les ambassadeurs des pays membres de l’alliance.</p><p>Il a confirmé le "
        "déploiement de troupes nord-coréennes dans la région de Koursk, selon plusieurs responsables.</p>"
        "</article><footer>Mentions légales - Cookies</footer></body></html>"
    )
    (tmp_path / "page.html").write_text(html, encoding="utf-8")
    a = read_article(tmp_path / "page.html", "page.html")
    assert "Mark Rutte" in a.body and "Koursk" in a.body
    assert "Mentions légales" not in a.body and "Accueil" not in a.body
