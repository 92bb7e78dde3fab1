"""The chat UI on a real server: named API endpoints through gradio_client, and the page in Debian's
headless chromium driven by Playwright (never a downloaded browser)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from served import ask, copy_index, serving, start_browser
from veille import Index

NEW_ARTICLE = (
    "Le Japon renforce sa défense antimissile\n\n"
    "Le gouvernement japonais a annoncé mercredi l’achat de 400 missiles Tomahawk pour renforcer sa défense "
    "face à la Corée du Nord. Le ministre de la Défense, Minoru Kihara, a présenté le plan à Tokyo.\n"
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, seed_dirs: tuple[Path, Path], seed_index: Index) -> Iterator[dict]:
    """`veille serve` on a free loopback port, over a private copy of the seed index."""
    where = copy_index(tmp_path_factory.mktemp("ui"), seed_dirs, seed_index.settings.models_dir,
                       VEILLE_MAX_FILE_BYTES="200000")
    with serving(where) as running:
        yield running


@pytest.fixture(scope="module")
def client(server: dict):  # noqa: ANN201 - a gradio_client.Client
    from gradio_client import Client

    return Client(server["url"], verbose=False)


def test_the_api_answers_the_blinken_question_with_its_citation(client) -> None:  # noqa: ANN001
    out = client.predict("combien de soldats selon Blinken ?", api_name="/ask")
    assert "10.000" in out["answer"] and "8.000" in out["answer"] and "[1]" in out["answer"]
    assert out["citations"][0]["source"] == "004_b5e3709a28e5c677.txt"


def test_the_api_answers_in_llm_mode_with_a_checked_citation(client) -> None:  # noqa: ANN001
    out = client.predict("Qui est le porte-parole du Kremlin ?", "llm", api_name="/ask")
    assert out["mode"] == "llm" and "Peskov" in out["answer"] and out["citations"]
    assert out["citations"][0]["source"] == "002_b8ce6e8f7f721623.txt"


def test_the_api_finds_a_quote_and_its_speaker(client) -> None:  # noqa: ANN001
    out = client.predict("C'est notre affaire", api_name="/cite")
    assert out["matches"][0]["speaker"] == "Poutine"


def test_the_api_refuses_a_binary_upload_and_leaves_the_index_unchanged(client, server: dict, tmp_path: Path) -> None:  # noqa: ANN001
    from gradio_client import handle_file

    before = client.predict(api_name="/status")
    bad = tmp_path / "photo.txt"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 20)
    notice, *_ = client.predict([handle_file(str(bad))], api_name="/upload")
    assert "binary" in notice
    assert client.predict(api_name="/status") == before
    assert not (server["corpus"] / "photo.txt").exists()
    # and it still answers
    assert not client.predict("Qui est le porte-parole du Kremlin ?", api_name="/ask")["abstained"]


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [("vide.txt", b"", "empty"),
     ("latin1.txt", "Élection présidentielle à Séoul\n".encode("latin-1"), "not UTF-8"),
     ("enorme.txt", b"Titre\n\n" + b"Une phrase. " * 30_000, "limit")],
)
def test_bad_uploads_get_a_clear_message_and_change_nothing(
    client, server: dict, tmp_path: Path, name: str, data: bytes, message: str  # noqa: ANN001
) -> None:
    from gradio_client import handle_file

    before = sorted(p.name for p in server["corpus"].iterdir())
    path = tmp_path / name
    path.write_bytes(data)
    notice, *_ = client.predict([handle_file(str(path))], api_name="/upload")
    assert message in notice
    assert sorted(p.name for p in server["corpus"].iterdir()) == before


def test_an_upload_of_too_many_files_is_refused_whole(client, server: dict, tmp_path: Path) -> None:  # noqa: ANN001
    from gradio_client import handle_file

    before = sorted(p.name for p in server["corpus"].iterdir())
    paths = []
    for n in range(21):
        (path := tmp_path / f"note-{n}.txt").write_text(f"Note {n}\n\nLe texte numéro {n}.\n", encoding="utf-8")
        paths.append(handle_file(str(path)))
    notice, *_ = client.predict(paths, api_name="/upload")
    assert "21 fichiers" in notice and "20 au plus" in notice
    assert sorted(p.name for p in server["corpus"].iterdir()) == before


def test_the_page_cannot_make_the_server_fetch_an_internal_address(client, server: dict) -> None:  # noqa: ANN001
    before = sorted(p.name for p in server["corpus"].iterdir())
    for api in ("/add_url", "/add_feed"):
        notice, *_ = client.predict("http://127.0.0.1:9/admin", api_name=api)
        assert "private, loopback or link-local" in notice and "VEILLE_FETCH_PRIVATE" in notice
    notice, *_ = client.predict("file:///etc/passwd", api_name="/add_url")
    assert "only http:// and https://" in notice
    assert sorted(p.name for p in server["corpus"].iterdir()) == before


def test_a_pdf_is_uploaded_and_a_filter_chooses_the_articles(client, server: dict, tmp_path: Path) -> None:  # noqa: ANN001
    from gradio_client import handle_file

    from test_pdf import PAGE_1, PAGE_2, write_pdf

    pdf = write_pdf(tmp_path / "rapport-eolien.pdf", [PAGE_1, PAGE_2])
    notice, *_ = client.predict([handle_file(str(pdf))], api_name="/upload")
    assert "Ajouté : rapport-eolien.txt" in notice
    out = client.predict("Combien d’emplois la filière de l’éolien en mer a-t-elle créés depuis 2019 ?",
                         "extractive", "", "", "rapport-*", api_name="/ask")
    assert "3 400" in out["answer"] and out["citations"][0]["page"] == 2
    with pytest.raises(Exception, match="no indexed article matches --since 2030-01-01"):  # noqa: PT011
        client.predict("combien de soldats selon Blinken ?", "extractive", "2030-01-01", api_name="/ask")


def test_a_file_of_another_type_is_refused_by_the_upload_itself(client, server: dict, tmp_path: Path) -> None:  # noqa: ANN001
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    before = sorted(p.name for p in server["corpus"].iterdir())
    docx = tmp_path / "page.docx"
    docx.write_bytes(b"PK\x03\x04 a word document")
    with pytest.raises(AppError, match="Invalid file type"):
        client.predict([handle_file(str(docx))], api_name="/upload")
    broken = tmp_path / "page.pdf"  # a PDF is taken, and read: this one is not one
    broken.write_bytes(b"%PDF-1.4 ...")
    notice, *_ = client.predict([handle_file(str(broken))], api_name="/upload")
    assert "not a PDF veille can read" in notice
    assert sorted(p.name for p in server["corpus"].iterdir()) == before


def test_a_pasted_article_cannot_escape_the_corpus_folder(client, server: dict) -> None:  # noqa: ANN001
    text = "Le port de Vladivostok accueille trois navires nord-coréens chargés de munitions, selon Reuters."
    notice, *_ = client.predict("../../evil", text, api_name="/paste")
    assert "evil.txt" in notice
    assert (server["corpus"] / "evil.txt").is_file()
    assert not (server["tmp"] / "evil.txt").exists() and not (server["corpus"].parent.parent / "evil.txt").exists()
    out = client.predict("Combien de navires nord-coréens à Vladivostok ?", api_name="/ask")
    assert out["citations"][0]["source"] == "evil.txt"


def test_questions_are_answered_from_the_old_index_while_an_upload_is_indexed(client, tmp_path: Path) -> None:  # noqa: ANN001
    from gradio_client import handle_file

    # Two files just under the server's size cap: hundreds of passages, seconds of embedding even in bfloat16
    files = []
    for part in (1, 2):
        big = tmp_path / f"long-article-{part}.txt"
        sentences = [f"Le rapport numéro {i} décrit la situation des réfugiés dans la région {i}." for i in range(2000)]
        big.write_text(f"Un long rapport, partie {part}\n\n" + " ".join(sentences) + "\n", encoding="utf-8")
        files.append(handle_file(str(big)))
    job = client.submit(files, api_name="/upload")
    time.sleep(1)  # sent and being read; embedding them takes seconds more
    answers = []
    while not job.done() and len(answers) < 3:
        answers.append(client.predict("combien de soldats selon Blinken ?", api_name="/ask"))
    notice, *_ = job.result(timeout=600)
    assert "long-article-1.txt" in notice and "long-article-2.txt" in notice, notice
    assert answers, "the upload finished before any question could be asked"
    assert all(a["citations"] and "10.000" in a["answer"] for a in answers)


def test_the_page_answers_cites_highlights_and_takes_new_articles(server: dict, tmp_path: Path) -> None:
    pw, browser = start_browser()
    external: list[str] = []
    try:
        page = browser.new_page(viewport={"width": 1366, "height": 900})
        page.on("request", lambda r: external.append(r.url)
                if not r.url.startswith(("http://127.0.0.1", "data:", "blob:")) else None)
        page.goto(server["url"])
        page.get_by_text("articles", exact=False).first.wait_for()
        # ask, see the cited answer and its card; click [1] and see the highlighted passage
        ask(page, "combien de soldats selon Blinken ?")
        page.locator("#chat a.veille-marker").first.wait_for(timeout=60_000)
        assert "10.000" in page.locator("#chat").inner_text()
        card = page.locator("#cards .veille-card").first
        card.wait_for()
        page.locator("#chat a.veille-marker").last.click()
        page.wait_for_function("() => document.querySelector('#cards .veille-card.flash') !== null", timeout=5000)
        assert "8.000" in card.locator("mark").inner_text()
        # the short answer opens the reply in bold, and is bold inside the highlighted sentence of its card
        short = page.locator("#chat b.veille-short").last.inner_text()
        assert "10.000" in short and "8.000" in short
        assert card.locator("mark b.veille-short").inner_text() == short
        assert card.is_visible()
        page.screenshot(path=str(tmp_path / "chat.png"), full_page=True)
        # a follow-up keeps the conversation and is still cited
        ask(page, "et selon Zelensky ?")
        page.locator("#chat a.veille-marker").nth(1).wait_for(timeout=60_000)
        # the mode switch: the language model writes, veille checks, the card still shows the passage
        page.get_by_text("Rédigée par un modèle de langue").click()
        ask(page, "Qui est le porte-parole du Kremlin ?")
        page.get_by_text("vérifiée phrase par phrase").wait_for(timeout=120_000)
        assert "Peskov" in page.locator("#cards").inner_text()
        page.get_by_text("Citations extraites des articles").click()
        # bad questions get a message in the page
        page.locator("#question textarea").fill("   ")
        page.locator("#send").click()
        page.locator("#notice .veille-error").wait_for(timeout=30_000)
        assert "vide" in page.locator("#notice").inner_text()
        page.locator("#question textarea").fill("x" * 10_000)
        page.locator("#send").click()
        page.get_by_text("10,000 caractères").wait_for(timeout=30_000)
        # upload a new article, then get an answer cited from it
        page.get_by_role("tab", name="Articles").click()
        new = tmp_path / "japon.txt"
        new.write_text(NEW_ARTICLE, encoding="utf-8")
        page.locator("#upload input[type=file]").set_input_files(str(new))
        page.locator("#upload-btn").click()
        page.get_by_text("Ajouté : japon.txt").wait_for(timeout=120_000)
        assert "Le Japon renforce" in page.locator("#articles").inner_text()
        page.screenshot(path=str(tmp_path / "articles.png"), full_page=True)
        # a binary file is refused with a message
        bad = tmp_path / "image.txt"
        bad.write_bytes(b"\x00\x01\x02\x03" * 100)
        page.locator("#upload input[type=file]").set_input_files(str(bad))
        page.locator("#upload-btn").click()
        page.get_by_text("binary file").wait_for(timeout=60_000)
        page.get_by_role("tab", name="Questions").click()
        ask(page, "Combien de missiles Tomahawk le Japon achète-t-il ?")
        page.locator("#cards .veille-card h4", has_text="Le Japon renforce").wait_for(timeout=60_000)
        assert "400" in page.locator("#chat").inner_text()
    finally:
        browser.close()
        pw.stop()
    assert external == [], f"the page made requests off this machine: {external[:3]}"


def test_the_page_fits_a_phone_screen(server: dict, tmp_path: Path) -> None:
    pw, browser = start_browser()
    try:
        page = browser.new_page(viewport={"width": 390, "height": 844})
        page.goto(server["url"])
        page.locator("#question textarea").wait_for()
        ask(page, "Qui est le porte-parole du Kremlin ?")
        page.locator("#cards .veille-card").first.wait_for(timeout=60_000)
        width = page.evaluate("document.documentElement.scrollWidth")
        page.screenshot(path=str(tmp_path / "phone.png"), full_page=True)
        assert width <= 400
    finally:
        browser.close()
        pw.stop()
