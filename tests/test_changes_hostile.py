"""Hostile changes to a shared index (issue 30), on the real index and a real `veille serve` with a reader
and an editor: a history line cannot be forged by what a field holds; a refused change (or a failed build)
leaves the corpus exactly as it was; and nothing added ever takes another article's place."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest

from newsroom import NewsSite, article_page, atom
from served import ROOT, cli, copy_index, serving
from test_pdf import PAGE_1, PAGE_2, write_pdf
from veille import Index, InputError
from veille.audit import history_path, read_history, record
from veille.extract import Extracted

READER, EDITOR = ("lea", "lecture-2026"), ("marc", "edition-2026")
ARTICLE = "002_b8ce6e8f7f721623.txt"  # the Kremlin article; "000-…" sorts before it, "zzz-…" after
# What a forged line would print: another user removing an article from another address.
FORGED = ("2026-12-01T00:00:00+00:00  marc         10.0.0.9        remove   001_567d18c58954b188.txt  "
          "-> ok: added 0, updated 0, removed 1, skipped 0")
NASTY = {"newline": "\n", "cr": "\r", "ansi": "\x1b[31m", "u2028": "\u2028", "u2029": "\u2029", "nul": "\x00",
         "nel": "\x85", "bidi": "\u202e", "surrogate": "\ud800"}
NOTE = "Une note de la rédaction\n\nLe conseil municipal de Brest a voté un budget de 12 millions d’euros.\n"


def _raw(text: str) -> list[str]:
    """The characters a terminal would obey or break a line at (the line ends themselves excepted)."""
    return [c for c in text if c != "\n" and unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp", "Cs")]


def _history_cli(env: dict, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "veille.cli", "index", "history", *args], env=env, check=True,
                          capture_output=True, text=True, encoding="utf-8", timeout=120, cwd=ROOT)


def _tree(corpus: Path) -> dict[str, str]:
    """Every file under the corpus folder, hidden ones (metadata, .removed/, .part) included, by content."""
    return {p.relative_to(corpus).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(corpus.rglob("*")) if p.is_file()}


# -- 2. the history

@pytest.mark.parametrize("nasty", NASTY.values(), ids=NASTY.keys())
def test_a_history_entry_is_one_line_whatever_its_fields_hold(tmp_path: Path, nasty: str) -> None:
    index = tmp_path / "index"
    path = history_path(index)
    record(path, "marc", "upload", ["note.txt"], "127.0.0.1", "ok: added 1, updated 0, removed 0, skipped 0")
    forged = f"x{nasty}{FORGED}"
    record(path, f"lea{nasty}", "add url", [f"https://exemple.fr/{nasty}", forged], f"10.0.0.1{nasty}", forged)
    raw = path.read_bytes().decode("utf-8")
    assert raw.count("\n") == len(raw.splitlines()) == 2  # nothing in the file ends or splits a line
    entries = read_history(path)
    assert entries[1]["who"] == f"lea{nasty}" and entries[1]["targets"][1] == forged and entries[1]["result"] == forged
    env = {**os.environ, "VEILLE_INDEX": str(index), "PYTHONIOENCODING": "utf-8"}
    shown = _history_cli(env).stdout
    lines = shown.splitlines()
    assert len(lines) == 2 and not _raw(shown)
    assert not any(line.startswith("2026-12-01") for line in lines)
    assert nasty.encode("unicode_escape").decode() in lines[1]
    as_json = _history_cli(env, "--json").stdout
    assert [json.loads(line) for line in as_json.split("\n") if line] == entries and not _raw(as_json)


# -- the real index

def _corpus_and_manifest(index: Index) -> tuple[dict[str, str], dict]:
    return _tree(index.corpus), json.loads((index.folder / "manifest.json").read_text(encoding="utf-8"))["articles"]


def _mixes(corpus: Path, tmp: Path) -> list[tuple[str, list[Path], str]]:
    """Uploads of several files, each refused whole: (name, files, what the refusal says)."""
    def put(name: str, data: bytes | str, sub: str = "") -> Path:
        (folder := tmp / sub).mkdir(parents=True, exist_ok=True)
        path = folder / name
        path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
        return path

    tmp.mkdir(parents=True, exist_ok=True)
    pdf = write_pdf(tmp / "rapport-eolien.pdf", [PAGE_1, PAGE_2])
    copy = (corpus / ARTICLE).read_bytes()
    page = article_page("Une autre note", "2024-11-04", "Marie Kerjean", [NOTE.split("\n")[2]], "https://exemple.fr/n")
    return [
        ("pdf and a txt whose name is taken", [pdf, put("001_567d18c58954b188.txt", NOTE)],
         "exists with other content"),
        ("txt and html stored under one name", [put("note.txt", NOTE), put("note.html", page)],
         "both be stored as note.txt"),
        ("two files of the same name", [put("note.txt", NOTE, "a"), put("note.txt", NOTE + "Suite.\n", "b")],
         "both be stored as note.txt"),
        ("a new file and a copy under an earlier name", [put("nouvelle.txt", NOTE), put("000-copie.txt", copy)],
         ARTICLE),
        ("a pdf and a copy under a later name", [pdf, put("zzz-copie.txt", copy)], ARTICLE),
        ("two new files with the same text", [put("une.txt", NOTE), put("deux.txt", NOTE)], "hold the same text"),
    ]


def test_a_refused_change_writes_nothing_and_leaves_nothing_for_the_next(own_index: Index, tmp_path: Path) -> None:
    before = _corpus_and_manifest(own_index)
    for name, files, message in _mixes(own_index.corpus, tmp_path / "in"):
        with pytest.raises(InputError, match=message):
            own_index.add(files)
        assert _corpus_and_manifest(own_index) == before, name
    with pytest.raises(InputError, match=ARTICLE):  # a paste of an indexed article's text under another name
        own_index.add_texts([("nouvelle.txt", NOTE.encode()),
                             ("000-collee.txt", (own_index.corpus / ARTICLE).read_bytes())])
    assert _corpus_and_manifest(own_index) == before
    report = own_index.update()  # the next change finds nothing left behind
    assert not report.added and not report.removed and report.embedded_chunks == 0


@pytest.mark.parametrize("change", ["upload", "paste", "page", "remove"])
def test_a_build_that_fails_puts_the_corpus_back(own_index: Index, tmp_path: Path, change: str,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import veille.index

    def full_disk(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    before = _corpus_and_manifest(own_index)
    monkeypatch.setattr(veille.index, "build", full_disk)
    note = tmp_path / "note.txt"
    note.write_text(NOTE, encoding="utf-8")
    do = {"upload": lambda: own_index.add([write_pdf(tmp_path / "rapport.pdf", [PAGE_1, PAGE_2]), note]),
          "paste": lambda: own_index.add_texts([("note.txt", NOTE.encode())]),
          "page": lambda: own_index.add_extracted(
              [Extracted("exemple-note.txt", NOTE, {"url": "https://exemple.fr/n"})], replace=True),
          "remove": lambda: own_index.remove([ARTICLE, "001_567d18c58954b188.txt"])}[change]
    with pytest.raises(OSError, match="No space left"):
        do()
    monkeypatch.undo()
    assert _corpus_and_manifest(own_index) == before
    report = own_index.update()
    assert not report.added and not report.removed and report.embedded_chunks == 0


# -- 4. nothing added takes another article's place

@pytest.mark.parametrize("name", ["000-copie.txt", "zzz-copie.txt"])
def test_the_same_text_under_another_name_is_refused_naming_the_indexed_article(own_index: Index, tmp_path: Path,
                                                                                name: str) -> None:
    before = _corpus_and_manifest(own_index)
    copy = tmp_path / name
    shutil.copy(own_index.corpus / ARTICLE, copy)
    with pytest.raises(InputError, match=f"{name} holds the same text as {ARTICLE}, already in the index"):
        own_index.add([copy])
    with pytest.raises(InputError, match=ARTICLE):
        own_index.add_texts([(name, copy.read_bytes())])
    assert _corpus_and_manifest(own_index) == before


@pytest.mark.parametrize("name", ["000-page.txt", "zzz-page.txt"])
def test_a_fetched_page_with_an_indexed_article_s_text_is_skipped_and_named(own_index: Index, name: str) -> None:
    text = (own_index.corpus / ARTICLE).read_text(encoding="utf-8")
    report = own_index.add_extracted([Extracted(name, text, {"url": "https://exemple.fr/copie"})], replace=True)
    assert (name, ARTICLE) in report.duplicates and not report.removed and not report.added
    assert not (own_index.corpus / name).exists() and ARTICLE in own_index.manifest["articles"]


def test_an_indexed_article_keeps_its_place_against_a_copy_dropped_in_the_folder(own_index: Index) -> None:
    chunks = own_index.manifest["articles"][ARTICLE]["chunks"]
    for name in ("000-copie.txt", "zzz-copie.txt"):  # a name that sorts before the article's, and after
        shutil.copy(own_index.corpus / ARTICLE, own_index.corpus / name)
        report = own_index.update()  # what `veille index update` and the watched folder run
        assert not report.removed and not report.added and report.embedded_chunks == 0, name
        assert (name, ARTICLE) in report.duplicates
        assert own_index.manifest["articles"][ARTICLE]["chunks"] == chunks


# -- the real server, with a reader and an editor

@pytest.fixture(scope="module")
def site() -> Iterator[NewsSite]:
    news = NewsSite()
    yield news
    news.close()


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory, seed_dirs: tuple[Path, Path], seed_index: Index) -> Iterator[dict]:
    base = tmp_path_factory.mktemp("hostile")
    where = copy_index(base, seed_dirs, seed_index.settings.models_dir, VEILLE_USERS=str(base / "users.toml"),
                       VEILLE_FETCH_PRIVATE="1", PYTHONIOENCODING="utf-8")
    cli(where["env"], "user", "add", READER[0], "--role", "reader", stdin=READER[1] + "\n")
    cli(where["env"], "user", "add", EDITOR[0], "--role", "editor", stdin=EDITOR[1] + "\n")
    with serving(where, host="0.0.0.0") as running:
        yield running


def _client(url: str, auth: tuple[str, str]):  # noqa: ANN202 - gradio_client.Client
    from gradio_client import Client

    return Client(url, auth=auth, verbose=False)


def test_a_reader_cannot_forge_a_history_line_through_the_server(shared: dict) -> None:
    reader, editor = _client(shared["url"], READER), _client(shared["url"], EDITOR)
    url = f"https://exemple.fr/a\n{FORGED}"
    with pytest.raises(Exception, match="lecteur"):  # noqa: PT011 - gradio_client's AppError
        reader.predict(url, api_name="/add_url")
    for nasty in ("\u2028", "\x1b[2J", "\r", "\x85", "\u202e"):
        for api in ("/add_url", "/add_feed"):
            with pytest.raises(Exception, match="lecteur"):  # noqa: PT011
                reader.predict(f"https://x.fr/{nasty}{FORGED}", api_name=api)
    editor.predict(f"ftp://x.fr/\u2029{FORGED}", api_name="/add_url")  # refused (not a web page), and recorded
    entries = [json.loads(line) for line in _history_cli(shared["env"], "--json").stdout.split("\n") if line]
    assert [e["targets"] for e in entries if e["action"] == "add url"][0] == [url]
    assert [e["result"][:6] for e in entries if e["who"] == "marc" and e["action"] == "add url"] == ["error:"]
    shown = _history_cli(shared["env"]).stdout
    lines = shown.splitlines()
    assert len(lines) == len(entries) >= 12 and not _raw(shown)
    assert not any(line.startswith("2026-12-01") for line in lines)


def test_a_refused_upload_on_the_server_leaves_nothing_behind(shared: dict, tmp_path: Path) -> None:
    from gradio_client import handle_file

    editor, reader = _client(shared["url"], EDITOR), _client(shared["url"], READER)
    corpus = shared["corpus"]
    for name, files, message in _mixes(corpus, tmp_path / "in"):
        before, status = _tree(corpus), reader.predict(api_name="/status")
        notice, *_ = editor.predict([handle_file(str(f)) for f in files], api_name="/upload")
        assert message in notice, name
        assert _tree(corpus) == before, name
        assert reader.predict(api_name="/status") == status
    good = tmp_path / "note-du-jour.txt"
    good.write_text(NOTE, encoding="utf-8")
    notice, *_ = editor.predict([handle_file(str(good))], api_name="/upload")  # nothing left to sweep in
    assert "Ajouté : note-du-jour.txt" in notice and notice.count("Ajouté") == 1 and "Retiré" not in notice
    history = [json.loads(line) for line in _history_cli(shared["env"], "--json").stdout.split("\n") if line]
    assert sum(e["action"] == "upload" and e["result"].startswith("error:") for e in history) >= 6


def _earlier(site: NewsSite, than: str, html: str, prefix: str) -> str:
    """A new address for the same page whose stored name (host-title-<hash of the URL>) sorts before `than`'s."""
    mark = hashlib.sha256(than.encode()).hexdigest()[:8]
    for n in range(200):
        url = f"{site.base}{prefix}-{n}"
        if hashlib.sha256(url.encode()).hexdigest()[:8] < mark:
            site.html(url.removeprefix(site.base.rstrip("/")), html)
            return url
    raise AssertionError("no address sorts earlier")


def test_the_same_text_never_replaces_an_article_on_the_server(shared: dict, site: NewsSite, tmp_path: Path) -> None:
    from gradio_client import handle_file

    editor, reader = _client(shared["url"], EDITOR), _client(shared["url"], READER)
    corpus = shared["corpus"]
    for name in ("000-copie.txt", "zzz-copie.txt"):  # an upload, under a name that sorts earlier and later
        shutil.copy(corpus / ARTICLE, copy := tmp_path / name)
        status = reader.predict(api_name="/status")
        notice, *_ = editor.predict([handle_file(str(copy))], api_name="/upload")
        assert f"same text as {ARTICLE}" in notice and "Retiré" not in notice
        assert reader.predict(api_name="/status") == status and not (corpus / name).exists()
    html = article_page("Le quai de Brest rénové", "2024-11-04", "Marie Kerjean",
                        ["Le quai Malbert, à Brest, rouvre après deux ans de travaux qui ont coûté 8 millions."],
                        site.base + "quai")
    site.html("/quai", html)
    editor.predict(site.base + "quai", api_name="/add_url")
    [first] = [p.name for p in corpus.glob("127-0-0-1-*.txt")]  # the page, stored as host-title-hash
    status = reader.predict(api_name="/status")
    notice, *_ = editor.predict(_earlier(site, site.base + "quai", html, "copie"), api_name="/add_url")  # a page
    assert f"identique à {first}" in notice and "Retiré" not in notice
    entry = _earlier(site, site.base + "quai", html, "depeche")  # a feed entry
    site.pages["/copies.xml"] = ("application/atom+xml", atom(site.base, [
        (entry.removeprefix(site.base), "Le quai de Brest rénové", "2024-11-04T08:00:00Z")]).encode())
    notice, *_ = editor.predict(site.base + "copies.xml", api_name="/add_feed")
    assert f"identique à {first}" in notice and "Retiré" not in notice
    assert reader.predict(api_name="/status") == status and (corpus / first).is_file()
    assert [p.name for p in corpus.glob("127-0-0-1-*.txt")] == [first]
