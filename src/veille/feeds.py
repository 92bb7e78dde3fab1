"""Following the news: RSS/Atom feeds whose entries' pages become articles, and single pages by URL.

The feeds and what was seen of them live in `.veille/feeds.json` in the corpus folder. An entry is
fetched once: again only when the feed says it changed (its updated date, title or summary), and then
re-indexed only if the page's article text changed. Two entries with the same article text (one story
in two feeds) are stored once. Every fetch goes through fetch.py's rules; every failure is reported with
its reason and changes nothing else.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .errors import InputError, VeilleError
from .extract import Extracted, page_article, slug
from .fetch import FEED_TYPES, FetchError, check_url, fetch

STATE = Path(".veille") / "feeds.json"


@dataclass
class FeedReport:
    feeds: int = 0
    new: list[str] = field(default_factory=list)  # article sources
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0
    failed: list[dict[str, str]] = field(default_factory=list)  # {"url", "reason"}

    def to_dict(self) -> dict[str, Any]:
        return {"feeds": self.feeds, "new": len(self.new), "updated": len(self.updated), "unchanged": self.unchanged,
                "failed": self.failed, "sources": {"new": self.new, "updated": self.updated}}


def load_state(corpus: Path) -> dict[str, Any]:
    path = corpus / STATE
    if not path.is_file():
        return {"feeds": {}, "seen": {}}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise InputError(f"{path} is damaged ({e}); move it away and add the feeds again") from None
    return {"feeds": data.get("feeds", {}), "seen": data.get("seen", {})}


def save_state(corpus: Path, state: dict[str, Any]) -> None:
    path = corpus / STATE
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.part")
    tmp.write_text(json.dumps(state, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, path)


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


def collect(corpus: Path, progress: bool = False, max_bytes: int = 5_000_000,
            ) -> tuple[list[Extracted], FeedReport, dict[str, Any]]:
    """What every feed brings that is new or changed, and the report; the state to save once indexed."""
    from tqdm import tqdm

    state, report = load_state(corpus), FeedReport()
    report.feeds = len(state["feeds"])
    seen: dict[str, Any] = state["seen"]
    texts = {v["text_sha256"]: k for k, v in seen.items() if "text_sha256" in v}
    out: list[Extracted] = []
    for name, feed in state["feeds"].items():
        try:
            entries = parse_feed(feed["url"]).entries
        except VeilleError as e:
            report.failed.append({"url": feed["url"], "reason": str(e)})
            continue
        for entry in tqdm(entries, desc=name, unit="entry", disable=not progress):
            link = entry.get("link")
            if not link:
                continue
            sig = _signature(entry)
            known = seen.get(link)
            if known and known.get("signatures", {}).get(name) == sig:  # this feed says nothing changed
                report.unchanged += 1
                continue
            try:
                page = fetch_page(link, _entry_date(entry), max_bytes)
            except VeilleError as e:
                report.failed.append({"url": link, "reason": str(e)})
                continue
            digest = hashlib.sha256(page.text.encode()).hexdigest()
            signatures = {**(known or {}).get("signatures", {}), name: sig}
            if known and known.get("text_sha256") == digest or texts.get(digest, link) != link:
                seen[link] = {**(known or {}), "signatures": signatures, "text_sha256": digest,
                              "source": (known or {}).get("source") or seen[texts[digest]].get("source")}
                report.unchanged += 1  # the same article text: already indexed (here or from another entry)
                continue
            (report.updated if known else report.new).append(page.name)
            seen[link] = {"signatures": signatures, "text_sha256": digest, "source": page.name}
            texts[digest] = link
            out.append(page)
    return out, report, state


def update(corpus: Path, store: Any, progress: bool = False, max_bytes: int = 5_000_000) -> FeedReport:
    """Fetch what is new, then `store(articles)` (the index's add_extracted, replacing changed pages);
    the feeds' state is saved only once the articles are indexed, so a failed build loses nothing."""
    items, report, state = collect(corpus, progress, max_bytes)
    if items:
        store(items)
    save_state(corpus, state)
    return report
