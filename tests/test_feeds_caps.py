"""A feed cannot make one update run for hours, for real on loopback: an update fetches at most
feed_max_entries pages, shared in turn between the feeds, and leaves the rest for the next; a page or a
feed that failed waits out a doubling back-off; an unchanged feed answers 304 to its ETag and no entry is
fetched; `veille feed update` says what was left, what waits and what was not modified."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from newsroom import article_page, atom, send
from served import cli, copy_index
from veille import Index
from veille.errors import InputError
from veille.feeds import add_feed, load_state, update
from veille.settings import load_settings

T0 = datetime(2024, 11, 5, 8, 0, tzinfo=UTC)


class FeedSite:
    """One Atom feed at /feed.xml with an ETag (its version), answering 304 to that ETag; its entries'
    pages at /p/<n>; /gone/<n> answer 404; the feed itself answers 500 while `broken`. `hits` counts
    requests by path; `asked` the If-None-Match sent."""

    def __init__(self) -> None:
        self.entries: list[tuple[str, str, str]] = []
        self.version = 1
        self.broken = False
        self.hits: dict[str, int] = {}
        self.asked: list[str | None] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                site.hits[self.path] = site.hits.get(self.path, 0) + 1
                if self.path == "/feed.xml" and site.broken:
                    self.send_error(500)
                elif self.path == "/feed.xml":
                    site.asked.append(self.headers.get("If-None-Match"))
                    if self.headers.get("If-None-Match") == f'"v{site.version}"':
                        self.send_response(304)
                        self.end_headers()
                        return
                    self._send("application/atom+xml", atom(site.base, site.entries), ETag=f'"v{site.version}"')
                elif self.path.startswith("/p/"):
                    n = self.path.rsplit("/", 1)[1]
                    self._send("text/html; charset=utf-8", article_page(
                        f"Dépêche numéro {n}", "2024-11-05", "Rédaction",
                        [f"Le conseil municipal a voté la délibération numéro {n} jeudi soir, à l'unanimité."],
                        site.base + f"p/{n}"))
                else:
                    self.send_error(404)

            def _send(self, ctype: str, text: str, **headers: str) -> None:
                send(self, ctype, text.encode(), **headers)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def publish(self, paths: list[str]) -> None:
        self.entries = [(p, f"Dépêche {p}", "2024-11-05T08:00:00Z") for p in paths]
        self.version += 1

    def pages_fetched(self) -> int:
        return sum(n for path, n in self.hits.items() if path != "/feed.xml")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def site(monkeypatch: pytest.MonkeyPatch) -> Iterator[FeedSite]:
    monkeypatch.setenv("VEILLE_FETCH_PRIVATE", "1")
    news = FeedSite()
    yield news
    news.close()


@pytest.fixture
def more_sites(site: FeedSite) -> Iterator[Callable[[], FeedSite]]:
    """More feeds, each on its own loopback server (so each counts its own page fetches)."""
    made: list[FeedSite] = []

    def make() -> FeedSite:
        made.append(FeedSite())
        return made[-1]

    yield make
    for news in made:
        news.close()


def _update(corpus: Path, now: datetime = T0, **kwargs: object) -> tuple[dict, list]:
    stored: list = []
    report = update(corpus, stored.extend, now=now, **kwargs)  # type: ignore[arg-type]
    return report.to_dict(), stored


def test_an_update_fetches_at_most_the_cap_and_leaves_the_rest_for_the_next(
        site: FeedSite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VEILLE_FEED_MAX_ENTRIES", "10")
    site.publish([f"p/{n}" for n in range(25)])
    add_feed(tmp_path, site.base + "feed.xml", "fil")
    counts = []
    for _ in range(4):
        before = site.pages_fetched()
        report, stored = _update(tmp_path)
        counts.append((report["new"], report["left"], len(stored), site.pages_fetched() - before))
    assert counts == [(10, 15, 10, 10), (10, 5, 10, 10), (5, 0, 5, 5), (0, 0, 0, 0)]
    assert site.asked[-1] == f'"v{site.version}"'  # the later updates worked from the state, the feed said 304


def test_a_failed_entry_waits_out_a_doubling_backoff(site: FeedSite, tmp_path: Path) -> None:
    site.publish(["p/1", "gone/1"])
    add_feed(tmp_path, site.base + "feed.xml", "fil")
    first, _ = _update(tmp_path)
    assert first["new"] == 1 and [f["url"] for f in first["failed"]] == [site.base + "gone/1"]
    assert "HTTP 404" in first["failed"][0]["reason"]
    site.version += 1  # the feed answers 200 again, with the same entries
    steps = [(T0 + timedelta(minutes=30), "waiting"), (T0 + timedelta(hours=1, minutes=1), "failed"),
             (T0 + timedelta(hours=2), "waiting"), (T0 + timedelta(hours=3, minutes=2), "failed")]
    for now, expected in steps:
        report, _ = _update(tmp_path, now)
        got = "failed" if report["failed"] else "waiting" if report["waiting"] == 1 else "?"
        assert got == expected, (now, report)
    assert site.hits["/gone/1"] == 3 and site.hits["/p/1"] == 1
    failure = load_state(tmp_path)["failed"][site.base + "gone/1"]
    assert failure["count"] == 3 and "HTTP 404" in failure["reason"]
    site.publish(["p/1"])  # the feed drops the dead link: its failure is forgotten
    _update(tmp_path, T0 + timedelta(days=30))
    assert load_state(tmp_path)["failed"] == {}


def test_an_unchanged_feed_answers_304_and_no_entry_is_fetched(site: FeedSite, tmp_path: Path) -> None:
    site.publish(["p/1", "p/2"])
    add_feed(tmp_path, site.base + "feed.xml", "fil")
    first, _ = _update(tmp_path)
    assert first["new"] == 2 and first["not_modified"] == 0
    before = site.pages_fetched()
    second, stored = _update(tmp_path)
    assert site.asked[-1] == f'"v{site.version}"' and second["not_modified"] == 1
    assert (second["new"], stored, site.pages_fetched()) == (0, [], before)
    site.publish(["p/3", "p/1", "p/2"])  # a new entry: a new ETag, the feed is read again
    third, stored = _update(tmp_path)
    assert third["not_modified"] == 0 and third["new"] == 1 and site.hits["/p/3"] == 1


def test_the_cap_is_a_positive_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().feed_max_entries == 50
    monkeypatch.setenv("VEILLE_FEED_MAX_ENTRIES", "0")
    with pytest.raises(InputError, match="VEILLE_FEED_MAX_ENTRIES"):
        load_settings()


def test_the_cap_is_shared_between_feeds_so_a_big_first_feed_starves_none(
        site: FeedSite, more_sites: Callable[[], FeedSite], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VEILLE_FEED_MAX_ENTRIES", "10")
    small = more_sites()
    site.publish([f"p/{n}" for n in range(25)])
    small.publish([f"p/{n}" for n in range(100, 104)])
    add_feed(tmp_path, site.base + "feed.xml", "grand")
    add_feed(tmp_path, small.base + "feed.xml", "petit")
    report, stored = _update(tmp_path)
    assert (site.pages_fetched(), small.pages_fetched()) == (6, 4)  # in turn until the small one ran out
    assert (report["new"], report["left"], len(stored)) == (10, 19, 10)
    assert [item["link"] for item in load_state(tmp_path)["feeds"]["grand"]["pending"]] == [
        site.base + f"p/{n}" for n in range(6, 25)]  # the big feed's rest, in its order, for the next update


def test_with_more_feeds_than_the_cap_each_update_starts_where_the_last_stopped(
        site: FeedSite, more_sites: Callable[[], FeedSite], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VEILLE_FEED_MAX_ENTRIES", "2")
    sites = [site, more_sites(), more_sites()]
    for i, news in enumerate(sites):
        news.publish([f"p/{10 * i + n}" for n in range(3)])
        add_feed(tmp_path, news.base + "feed.xml", f"fil-{i}")
    fetched = []
    for _ in range(5):
        before = [news.pages_fetched() for news in sites]
        _update(tmp_path)
        fetched.append(tuple(news.pages_fetched() - b for news, b in zip(sites, before, strict=True)))
    assert fetched == [(1, 1, 0), (1, 0, 1), (0, 1, 1), (1, 1, 0), (0, 0, 1)]


def test_a_failing_feed_waits_out_a_doubling_backoff_and_a_success_clears_it(site: FeedSite, tmp_path: Path) -> None:
    site.publish(["p/1"])
    add_feed(tmp_path, site.base + "feed.xml", "fil")
    site.broken = True
    steps = [(T0, "failed"), (T0 + timedelta(minutes=30), "waiting"), (T0 + timedelta(hours=1, minutes=1), "failed"),
             (T0 + timedelta(hours=2), "waiting"), (T0 + timedelta(hours=3, minutes=2), "failed")]
    for now, expected in steps:
        report, _ = _update(tmp_path, now)
        got = "failed" if report["failed"] else "waiting" if report["waiting_feeds"] == 1 else "?"
        assert got == expected, (now, report)
        assert report["new"] == 0 and report["feeds"] == 1
    assert site.hits["/feed.xml"] == 1 + 3  # added, then once per back-off, not once per update
    failure = load_state(tmp_path)["feeds"]["fil"]["failure"]
    assert failure["count"] == 3 and "HTTP 500" in failure["reason"]
    site.broken = False
    report, stored = _update(tmp_path, T0 + timedelta(hours=3, minutes=30))
    assert report["waiting_feeds"] == 1 and site.hits["/feed.xml"] == 4  # still waiting: four hours this time
    report, stored = _update(tmp_path, T0 + timedelta(hours=7, minutes=3))
    assert (report["new"], report["waiting_feeds"], report["failed"], len(stored)) == (1, 0, [], 1)
    assert "failure" not in load_state(tmp_path)["feeds"]["fil"]



def test_retry_tries_a_failing_feed_and_a_failed_page_again_at_once(site: FeedSite, tmp_path: Path) -> None:
    site.publish(["gone/1"])
    add_feed(tmp_path, site.base + "feed.xml", "fil")
    site.broken = True
    _update(tmp_path)
    site.broken = False
    later = T0 + timedelta(minutes=1)
    assert _update(tmp_path, later)[0]["waiting_feeds"] == 1 and site.hits["/feed.xml"] == 2
    report, _ = _update(tmp_path, later, retry=True)
    assert report["waiting_feeds"] == 0 and site.hits["/feed.xml"] == 3 and site.hits["/gone/1"] == 1
    assert _update(tmp_path, later)[0]["waiting"] == 1 and site.hits["/gone/1"] == 1
    report, _ = _update(tmp_path, later, retry=True)
    assert report["not_modified"] == 1 and site.hits["/gone/1"] == 2

def test_the_cli_update_says_what_was_left_what_waits_and_what_was_not_modified(
        site: FeedSite, tmp_path: Path, seed_dirs: tuple[Path, Path], seed_index: Index) -> None:
    where = copy_index(tmp_path, seed_dirs, seed_index.settings.models_dir, VEILLE_FEED_MAX_ENTRIES="1")
    site.publish(["gone/1", "gone/2", "gone/3"])  # dead links: nothing to embed, only counts
    cli(where["env"], "feed", "add", site.base + "feed.xml", "--name", "fil")
    counts = []
    for _ in range(2):
        out = json.loads(cli(where["env"], "feed", "update", "--json").stdout)
        counts.append((len(out["failed"]), out["left"], out["waiting"], out["not_modified"], out["waiting_feeds"]))
    # the first update fetches gone/1 and leaves two; the second (the feed says 304) lets gone/1 wait
    # out its back-off, fetches gone/2 and leaves gone/3
    assert counts == [(1, 2, 0, 0, 0), (1, 1, 1, 1, 0)]
    text = cli(where["env"], "feed", "update").stdout
    assert "1 feeds: 0 new, 0 updated, 0 unchanged, 1 failed, 0 left, 2 waiting, 1 not modified" in text


def test_a_feed_page_holding_an_indexed_articles_text_is_a_duplicate_not_new(
        site: FeedSite, tmp_path: Path, seed_dirs: tuple[Path, Path], seed_index: Index) -> None:
    where = copy_index(tmp_path, seed_dirs, seed_index.settings.models_dir)
    cli(where["env"], "index", "add", site.base + "p/1")  # the page, indexed from its own address
    [indexed] = [p.name for p in where["corpus"].glob("127-0-0-1-*.txt")]
    site.publish(["p/copie/1"])  # the same page under another address, in a feed
    cli(where["env"], "feed", "add", site.base + "feed.xml", "--name", "fil")
    out = json.loads(cli(where["env"], "feed", "update", "--json").stdout)
    assert (out["new"], out["updated"], out["duplicates"]) == (0, 0, 1), out
    assert [p.name for p in where["corpus"].glob("127-0-0-1-*.txt")] == [indexed]
