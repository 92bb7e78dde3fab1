"""Following the news: RSS/Atom feeds whose entries' pages become articles, and single pages by URL.

The feeds and what was seen of them live in `.veille/feeds.json` in the corpus folder. An entry is
fetched once: again only when the feed says it changed (its updated date, title or summary), and then
re-indexed only if the page's article text changed. Two entries with the same article text (one story
in two feeds) are stored once. Every fetch goes through fetch.py's rules; every failure is reported with
its reason and changes nothing else.

A feed cannot make one update run for hours: an update fetches at most `feed_max_entries` pages, taken
from the feeds in turn (the rest wait, counted as `left`); a page or a feed that failed is tried again only
after a back-off that doubles (counted as `waiting` and `waiting_feeds` meanwhile); and a feed is asked for
with the ETag and date of its last answer, so an unchanged feed answers 304 and costs no parsing and no page
fetch. What is remembered between updates, and the turns, are feed_state.py's.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .errors import InputError, VeilleError
from .extract import Extracted, page_article, slug
from .feed_state import Turns, backing_off, failed, load_state, save_state
from .fetch import FEED_TYPES, FetchError, check_url, fetch
from .settings import load_settings

__all__ = ["FeedReport", "add_feed", "collect", "fetch_page", "load_state", "parse_feed", "remove_feed",
           "save_state", "update"]


@dataclass
class FeedReport:
    feeds: int = 0
    new: list[str] = field(default_factory=list)  # article sources
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0
    failed: list[dict[str, str]] = field(default_factory=list)  # {"url", "reason"}
    not_modified: int = 0  # feeds that answered 304 to their ETag or date: not parsed again
    waiting: int = 0  # entries that failed before and wait out their back-off: not fetched this time
    waiting_feeds: int = 0  # feeds that failed before and wait out their back-off: not asked for this time
    left: int = 0  # entries over this update's cap (settings.feed_max_entries): fetched by the next one
    duplicates: list[tuple[str, str]] = field(default_factory=list)  # (page, indexed article with its text)

    def to_dict(self) -> dict[str, Any]:
        return {"feeds": self.feeds, "new": len(self.new), "updated": len(self.updated), "unchanged": self.unchanged,
                "failed": self.failed, "not_modified": self.not_modified, "waiting": self.waiting,
                "waiting_feeds": self.waiting_feeds, "left": self.left, "duplicates": len(self.duplicates),
                "sources": {"new": self.new, "updated": self.updated, "duplicates": dict(self.duplicates)}}


def parse_feed(url: str) -> Any:
    """The feed at url, parsed by feedparser, or why it is not one."""
    import feedparser

    got = fetch(url, accept=FEED_TYPES)
    parsed = feedparser.parse(got.body, response_headers={"content-location": got.url})
    if not parsed.entries and (parsed.bozo or not parsed.feed):
        reason = getattr(parsed, "bozo_exception", None) or "no entries"
        raise FetchError(f"{url}: not an RSS or Atom feed ({reason})")
    return parsed


def add_feed(corpus: Path, url: str, name: str | None = None) -> dict[str, str]:
    """Register a feed (fetched once, to check it is one); its entries come with `veille feed update`."""
    check_url(url)
    state = load_state(corpus)
    if any(f["url"] == url for f in state["feeds"].values()):
        raise InputError(f"{url} is already followed; `veille feed list` shows it")
    parsed = parse_feed(url)
    name = slug(name or parsed.feed.get("title") or url, 40)
    if name in state["feeds"]:
        raise InputError(f"a feed is already named {name!r}; give another with --name")
    state["feeds"][name] = {"url": url, "title": parsed.feed.get("title", ""),
                            "added": datetime.now(UTC).isoformat(timespec="seconds")}
    save_state(corpus, state)
    return {"name": name, "url": url, "title": state["feeds"][name]["title"], "entries": str(len(parsed.entries))}


def remove_feed(corpus: Path, name: str) -> None:
    """Stop following a feed; the articles it brought stay (remove them with `veille index remove`)."""
    state = load_state(corpus)
    if name not in state["feeds"]:
        raise InputError(f"no feed named {name!r}; `veille feed list` shows them: "
                         + (", ".join(state["feeds"]) or "none"))
    del state["feeds"][name]
    save_state(corpus, state)


def _signature(entry: Any) -> str:
    parts = [entry.get(k, "") or "" for k in ("updated", "published", "title", "summary")]
    return hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()


def _entry_date(entry: Any) -> str | None:
    t = entry.get("published_parsed") or entry.get("updated_parsed")
    return f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}" if t else None


def fetch_page(url: str, date: str | None = None, max_bytes: int = 5_000_000) -> Extracted:
    """One page as an article; the feed's date stands in when the page gives none."""
    got = fetch(url, max_bytes=max_bytes)
    html = got.body.decode(got.charset or "utf-8", errors="replace")
    page = page_article(html, url)
    if date and "date" not in page.meta:
        text = page.text.replace("\n\n", f"\n\n{date}\n\n", 1)  # under the title, where a dateline stands
        page = Extracted(page.name, text, {**page.meta, "date": date})
    return page


class _Update:
    """One update's walk over the feeds' entries: what it fetched, what waits, and the state it leaves."""

    def __init__(self, state: dict[str, Any], now: datetime, max_bytes: int, retry: bool) -> None:
        self.seen: dict[str, Any] = state["seen"]
        self.failures: dict[str, Any] = state["failed"]
        self.texts = {v["text_sha256"]: k for k, v in self.seen.items() if "text_sha256" in v}
        self.now, self.max_bytes, self.retry = now, max_bytes, retry
        self.report, self.out = FeedReport(), list[Extracted]()
        self.pending: dict[str, list[dict[str, Any]]] = {}  # by feed: entries for a later update, in order

    def wanted(self, name: str, item: dict[str, Any]) -> bool:
        """Whether an entry of a feed needs a fetch: not when the feed says it is unchanged, nor while its
        page waits out a back-off (it stays pending)."""
        known = self.seen.get(item["link"])
        if known and known.get("signatures", {}).get(name) == item["sig"]:
            self.report.unchanged += 1
            return False
        if not self.retry and backing_off(self.failures.get(item["link"]), self.now):
            self.report.waiting += 1
            self.pending[name].append(item)
            return False
        return True

    def take(self, name: str, item: dict[str, Any]) -> None:
        """Fetch an entry's page: a new or changed article, the same text again, or a failure to retry."""
        link, sig, report = item["link"], item["sig"], self.report
        try:
            page = fetch_page(link, item.get("date"), self.max_bytes)
        except VeilleError as e:
            report.failed.append({"url": link, "reason": str(e)})
            self.failures[link] = failed(self.failures.get(link), str(e), self.now)
            self.pending[name].append(item)
            return
        self.failures.pop(link, None)
        known = self.seen.get(link)
        digest = hashlib.sha256(page.text.encode()).hexdigest()
        signatures = {**(known or {}).get("signatures", {}), name: sig}
        if known and known.get("text_sha256") == digest or self.texts.get(digest, link) != link:
            self.seen[link] = {**(known or {}), "signatures": signatures, "text_sha256": digest,
                               "source": (known or {}).get("source") or self.seen[self.texts[digest]].get("source")}
            report.unchanged += 1  # the same article text: already indexed (here or from another entry)
            return
        (report.updated if known else report.new).append(page.name)
        self.seen[link] = {"signatures": signatures, "text_sha256": digest, "source": page.name}
        self.texts[digest] = link
        self.out.append(page)

    def ask(self, feed: dict[str, Any]) -> list[dict[str, Any]] | None:
        """The feed's entries to work through (its pending ones when it answers 304), or None when it
        waits out a back-off or fails now (its pending entries wait with it)."""
        if not self.retry and backing_off(feed.get("failure"), self.now):
            self.report.waiting_feeds += 1
            return None
        try:
            entries = _entries(feed)
        except VeilleError as e:
            self.report.failed.append({"url": feed["url"], "reason": str(e)})
            feed["failure"] = failed(feed.get("failure"), str(e), self.now)
            return None
        feed.pop("failure", None)
        if entries is None:
            self.report.not_modified += 1
            return list(feed.get("pending", []))
        return entries


def _entries(feed: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The feed's entries as {link, sig, date}, asked for with the validators of the last answer; None when
    the server says the feed has not changed since (HTTP 304)."""
    import feedparser

    ask = {"If-None-Match": feed.get("etag"), "If-Modified-Since": feed.get("last_modified")}
    got = fetch(feed["url"], accept=FEED_TYPES, headers={k: v for k, v in ask.items() if v})
    if got.status == 304:
        return None
    parsed = feedparser.parse(got.body, response_headers={"content-location": got.url})
    if not parsed.entries and (parsed.bozo or not parsed.feed):
        reason = getattr(parsed, "bozo_exception", None) or "no entries"
        raise FetchError(f"{feed['url']}: not an RSS or Atom feed ({reason})")
    feed.update(etag=got.etag, last_modified=got.last_modified)
    return [{"link": e["link"], "sig": _signature(e), "date": _entry_date(e)} for e in parsed.entries if e.get("link")]


def collect(corpus: Path, progress: bool = False, max_bytes: int = 5_000_000, max_entries: int | None = None,
            now: datetime | None = None, retry: bool = False) -> tuple[list[Extracted], FeedReport, dict[str, Any]]:
    """What every feed brings that is new or changed, and the report; the state to save once indexed.
    At most `max_entries` pages are fetched (settings.feed_max_entries), one feed's at a time in turn;
    the rest, and entries that failed and wait out their back-off, stay in their feed's `pending` list for
    the next update, which works through it even when the feed itself answers 304. A feed that fails
    waits out its own back-off, its pending entries with it; `retry` tries every failure again now."""
    from tqdm import tqdm

    state = load_state(corpus)
    limit = load_settings().feed_max_entries if max_entries is None else max_entries
    run = _Update(state, now or datetime.now(UTC), max_bytes, retry)
    run.report.feeds = len(state["feeds"])
    queues = {name: entries for name, feed in state["feeds"].items() if (entries := run.ask(feed)) is not None}
    run.pending = {name: [] for name in queues}
    turns = Turns(queues, state["turn"], run.wanted)
    for name, item in tqdm(turns.take(limit), desc="feeds", unit="page", disable=not progress):
        run.take(name, item)
    for name, item in turns.rest():
        run.report.left += 1
        run.pending[name].append(item)
    for name, pending in run.pending.items():
        state["feeds"][name]["pending"] = pending
    state["turn"] = turns.next_start
    waiting = {item["link"] for feed in state["feeds"].values() for item in feed.get("pending", [])}
    state["failed"] = {link: f for link, f in run.failures.items() if link in waiting}  # gone from every feed
    return run.out, run.report, state


def update(corpus: Path, store: Any, progress: bool = False, max_bytes: int = 5_000_000,
           max_entries: int | None = None, now: datetime | None = None, retry: bool = False) -> FeedReport:
    """Fetch what is new, then `store(articles)` (the index's add_extracted, replacing changed pages);
    the feeds' state is saved only once the articles are indexed, so a failed build loses nothing."""
    items, report, state = collect(corpus, progress, max_bytes, max_entries, now, retry)
    if items:
        # A page whose text an indexed article already holds is skipped by the index: not new, not updated.
        same = dict(getattr(store(items), "duplicates", ()) or ())
        report.duplicates = [(s, same[s]) for s in (*report.new, *report.updated) if s in same]
        report.new = [s for s in report.new if s not in same]
        report.updated = [s for s in report.updated if s not in same]
    save_state(corpus, state)
    return report
