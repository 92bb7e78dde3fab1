"""A veille shared on a network: a real server bound as a non-loopback one would be (`--host 0.0.0.0`),
reached through 127.0.0.1 with gradio_client and with Debian's chromium; logins, roles, read-only, the
ask limit and the history of changes."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from served import ROOT, ask, cli, copy_index, serving, start_browser
from veille import Index

READER, EDITOR = ("lea", "lecture-2026"), ("marc", "edition-2026")
BLINKEN = "combien de soldats selon Blinken ?"
ARTICLE = "002_b8ce6e8f7f721623.txt"


@pytest.fixture(scope="module")
def copy(tmp_path_factory: pytest.TempPathFactory, seed_dirs: tuple[Path, Path], seed_index: Index) -> dict:
    base = tmp_path_factory.mktemp("shared")
    return copy_index(base, seed_dirs, seed_index.settings.models_dir, VEILLE_USERS=str(base / "users.toml"))


@pytest.fixture(scope="module")
def shared(copy: dict) -> Iterator[dict]:
    """The server with a reader and an editor, on every address."""
    cli(copy["env"], "user", "add", READER[0], "--role", "reader", stdin=READER[1] + "\n")
    cli(copy["env"], "user", "add", EDITOR[0], "--role", "editor", stdin=EDITOR[1] + "\n")
    with serving(copy, host="0.0.0.0") as running:
        yield running


def _client(url: str, auth: tuple[str, str] | None = None):  # noqa: ANN202 - gradio_client.Client
    from gradio_client import Client

    return Client(url, auth=auth, verbose=False)


def test_it_refuses_to_serve_the_network_without_users_or_a_flag(tmp_path: Path, copy: dict) -> None:
    env = {**copy["env"], "VEILLE_USERS": str(tmp_path / "nobody.toml")}
    out = subprocess.run([sys.executable, "-m", "veille.cli", "serve", "--host", "0.0.0.0", "--port", "1",
                          "--index", str(copy["index"])], env=env, capture_output=True, text=True, timeout=120,
                         cwd=ROOT)
    assert out.returncode == 1
    assert "refusing to serve on 0.0.0.0 without logins" in out.stderr
    assert "veille user add NAME --role editor" in out.stderr and "--read-only" in out.stderr


def test_nobody_gets_in_without_a_login(shared: dict) -> None:
    with pytest.raises(Exception):  # noqa: B017, PT011 - gradio_client cannot even read the page's config
        _client(shared["url"])
    for path in ("gradio_api/call/ask", "gradio_api/call/remove"):
        request = urllib.request.Request(shared["url"] + path, data=json.dumps({"data": [ARTICLE]}).encode(),
                                         headers={"Content-Type": "application/json"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=30)
        assert refused.value.code == 401
    with pytest.raises(Exception):  # noqa: B017, PT011
        _client(shared["url"], auth=(READER[0], "not the password"))


def test_a_reader_asks_but_cannot_remove_and_an_editor_can(shared: dict) -> None:
    reader = _client(shared["url"], auth=READER)
    out = reader.predict(BLINKEN, api_name="/ask")
    assert "10.000" in out["answer"] and out["citations"][0]["source"] == "004_b5e3709a28e5c677.txt"
    with pytest.raises(Exception, match="lecteur"):  # noqa: PT011 - gradio_client's AppError
        reader.predict(ARTICLE, api_name="/remove")
    assert (shared["corpus"] / ARTICLE).is_file()
    assert reader.predict(api_name="/status")["articles"] == 5
    editor = _client(shared["url"], auth=EDITOR)
    editor.predict(ARTICLE, api_name="/remove")
    assert not (shared["corpus"] / ARTICLE).exists()
    assert reader.predict(api_name="/status")["articles"] == 4
    history = [json.loads(line) for line in cli(shared["env"], "index", "history", "--json").stdout.splitlines()]
    done = [(e["who"], e["action"], e["targets"], e["result"].split(":")[0]) for e in history]
    assert ("lea", "remove", [ARTICLE], "refused") in done
    assert ("marc", "remove", [ARTICLE], "ok") in done
    assert all(e["address"] == "127.0.0.1" for e in history if e["who"] in ("lea", "marc"))
    text = cli(shared["env"], "index", "history").stdout
    assert "marc" in text and "remove" in text and ARTICLE in text


def test_the_page_asks_a_reader_to_log_in_and_shows_no_remove_button(shared: dict) -> None:
    pw, browser = start_browser()
    try:
        page = browser.new_page(viewport={"width": 1366, "height": 900})
        page.goto(shared["url"])
        page.locator("input[type=password]").wait_for(timeout=30_000)
        page.locator("input[type=text], input:not([type])").first.fill(READER[0])
        page.locator("input[type=password]").fill(READER[1])
        page.locator("button[type=submit], button:has-text('Login')").first.click()
        page.locator("#question textarea").wait_for(timeout=60_000)
        page.get_by_text(f"Connecté : {READER[0]} (lecteur)").wait_for(timeout=30_000)
        ask(page, BLINKEN)
        page.locator("#chat a.veille-marker").first.wait_for(timeout=60_000)
        assert "10.000" in page.locator("#chat").inner_text()
        page.get_by_role("tab", name="Articles").click()
        page.locator("#articles").wait_for()
        assert page.locator("#remove-btn").count() == 0 or not page.locator("#remove-btn").is_visible()
        for editing in ("#upload-btn", "#page-btn", "#feed-btn"):
            assert page.locator(editing).count() == 0 or not page.locator(editing).is_visible()
    finally:
        browser.close()
        pw.stop()


def test_read_only_serves_questions_refuses_every_change_and_limits_asks(copy: dict, tmp_path: Path) -> None:
    frozen = {**copy, "env": {**copy["env"], "VEILLE_USERS": str(tmp_path / "none.toml"), "VEILLE_ASK_LIMIT": "4"}}
    with serving(frozen, "--read-only", "--watch", host="0.0.0.0") as running:
        client = _client(running["url"])
        assert "10.000" in client.predict(BLINKEN, api_name="/ask")["answer"]
        # --watch: a file dropped into the corpus folder is answered from by the serving process
        before = client.predict(api_name="/status")["articles"]
        (running["corpus"] / "japon.txt").write_text(
            "Le Japon renforce sa défense\n\nLe Japon achète 400 missiles Tomahawk, a annoncé Tokyo.\n", "utf-8")
        deadline = time.monotonic() + 90
        while client.predict(api_name="/status")["articles"] == before:
            assert time.monotonic() < deadline, "the dropped file was not indexed"
            time.sleep(0.5)
        answer = client.predict("Combien de missiles Tomahawk le Japon achète-t-il ?", api_name="/ask")
        assert "400" in answer["answer"] and answer["citations"][0]["source"] == "japon.txt"
        article = next(p.name for p in running["corpus"].glob("*.txt"))
        new = tmp_path / "note.txt"
        new.write_text("Une note\n\nLe texte de la note.\n", encoding="utf-8")
        from gradio_client import handle_file

        for args, api in (((article,), "/remove"), (("Une note", "Le texte."), "/paste")):
            with pytest.raises(Exception, match="lecture seule"):  # noqa: PT011
                client.predict(*args, api_name=api)
        # No file reaches a read-only server's upload cache: the upload is refused (403) before any event runs
        # (ui/guard.py; tests/test_guard.py reads its message).
        with pytest.raises(Exception, match="403"):  # noqa: PT011 - httpx's HTTPStatusError, through gradio_client
            client.predict([handle_file(str(new))], api_name="/upload")
        assert (running["corpus"] / article).is_file() and not (running["corpus"] / "une-note.txt").exists()
        for _ in range(2):
            client.predict("Qui est le porte-parole du Kremlin ?", api_name="/ask")
        with pytest.raises(Exception, match="Trop de questions"):  # noqa: PT011 - the 5th ask in a minute
            client.predict(BLINKEN, api_name="/ask")
