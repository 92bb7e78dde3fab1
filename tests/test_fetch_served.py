"""Fetching through the served app, as an editor on the network would ask it to: every form of an internal
address is refused by `/add_url` and `/add_feed`; a server that drips its page is cut at the one deadline
and nothing is stored; a feed of many entries brings at most the cap per update and says what is left."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from newsroom import NewsSite, article_page, atom
from served import copy_index, serving
from veille import Index

# Other spellings of loopback and of the cloud metadata address, and URLs two parsers read differently.
INTERNAL = ["http://[::ffff:127.0.0.1]:9/", "http://[64:ff9b::a9fe:a9fe]/latest/meta-data/",
            "http://[64:ff9b:1::a9fe:a9fe]/", "http://[2002:7f00:1::]/", "http://[::127.0.0.1]/",
            "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/", "http://2130706433/", "http://0x7f.1/",
            "http://127.1/", "http://[fe80::1]/", "http://169.254.169.254/"]
AMBIGUOUS = ["http://127.0.0.1\\@93.184.215.14/", "http://user@93.184.215.14/", "http://93.184.215.14 /x",
             "http://93.184.215.14/\nHost: 127.0.0.1"]


@pytest.fixture(scope="module")
def private(tmp_path_factory: pytest.TempPathFactory, seed_dirs: tuple[Path, Path],
            seed_index: Index) -> Iterator[dict]:
    """A server that may fetch loopback (the test sites live there), with a small feed cap."""
    where = copy_index(tmp_path_factory.mktemp("fetch-served"), seed_dirs, seed_index.settings.models_dir,
                       VEILLE_FETCH_PRIVATE="1", VEILLE_FEED_MAX_ENTRIES="3")
    with serving(where) as running:
        yield running


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory, seed_dirs: tuple[Path, Path],
           seed_index: Index) -> Iterator[dict]:
    where = copy_index(tmp_path_factory.mktemp("fetch-strict"), seed_dirs, seed_index.settings.models_dir)
    with serving(where) as running:
        yield running


def _client(url: str):  # noqa: ANN202 - gradio_client.Client
    from gradio_client import Client

    return Client(url, verbose=False)


def test_no_form_of_an_internal_or_ambiguous_address_is_fetched_by_the_server(strict: dict) -> None:
    client, before = _client(strict["url"]), sorted(p.name for p in strict["corpus"].iterdir())
    for url in INTERNAL:
        for api in ("/add_url", "/add_feed"):
            notice, *_ = client.predict(url, api_name=api)
            assert "private, loopback or link-local" in notice, (url, api, notice)
    for url in AMBIGUOUS:
        notice, *_ = client.predict(url, api_name="/add_url")
        assert "veille-error" in notice and any(w in notice for w in ("backslash", "user", "space")), (url, notice)
    assert sorted(p.name for p in strict["corpus"].iterdir()) == before


class Drip:
    """A page whose server sends its headers, then one byte every second, for at most 40 s."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.end_headers()
                for _ in range(40):
                    try:
                        self.wfile.write(b" ")
                        self.wfile.flush()
                    except OSError:
                        return
                    time.sleep(1)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/lent"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def test_a_page_dripped_byte_by_byte_is_cut_at_the_deadline_and_nothing_is_stored(private: dict) -> None:
    drip, client = Drip(), _client(private["url"])
    before = sorted(p.name for p in private["corpus"].iterdir())
    started = time.monotonic()
    notice, *_ = client.predict(drip.url, api_name="/add_url")
    took = time.monotonic() - started
    drip.server.shutdown()
    assert "within 15 s" in notice, notice
    assert took < 25, f"the fetch held the request {took:.0f} s"
    assert sorted(p.name for p in private["corpus"].iterdir()) == before


def test_a_feed_of_many_entries_brings_at_most_the_cap_per_update(private: dict) -> None:
    site, client = NewsSite(), _client(private["url"])
    try:
        entries = []
        for n in range(8):
            site.html(f"/d/{n}", article_page(f"Conseil municipal, séance {n}", "2024-11-05", "Rédaction",
                                              [f"Le conseil a voté la délibération {n} à l’unanimité jeudi."],
                                              site.base + f"d/{n}"))
            entries.append((f"d/{n}", f"Séance {n}", "2024-11-05T08:00:00Z"))
        site.pages["/fil.xml"] = ("application/atom+xml", atom(site.base, entries).encode())
        notice, *_ = client.predict(site.base + "fil.xml", api_name="/add_feed")
        assert "3 nouvel(s) article(s)" in notice and "5 article(s) au-delà de la limite" in notice, notice
        notice, *_ = client.predict(api_name="/update_feeds")
        assert "3 nouvel(s) article(s)" in notice and "2 article(s) au-delà" in notice, notice
        assert sum(r.startswith("/d/") for r in site.requests) == 6
    finally:
        site.close()
