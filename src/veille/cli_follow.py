"""`veille feed add|list|remove|update`: the feeds veille follows, and what each update brought."""

from __future__ import annotations

import json
from pathlib import Path

import click

from .cli_common import _friendly, audited, index_option


def _index(index_dir: Path | None):  # noqa: ANN202 - an Index
    from .index import open_index

    return open_index(index_dir)


@click.group("feed")
def feed_group() -> None:
    """RSS and Atom feeds whose new entries are fetched, extracted and indexed."""


@feed_group.command("add")
@click.argument("url")
@click.option("--name", default=None, help="A short name (default: from the feed's title).")
@index_option
@_friendly
def feed_add(url: str, name: str | None, index_dir: Path | None) -> None:
    """Follow a feed (checked by fetching it once); `veille feed update` brings its entries in."""
    from .feeds import add_feed

    added = add_feed(_index(index_dir).corpus, url, name)
    click.echo(f"{added['name']}: {added['title'] or added['url']} ({added['entries']} entries; "
               "`veille feed update` indexes them)")


@feed_group.command("list")
@index_option
@click.option("--json", "as_json", is_flag=True)
@_friendly
def feed_list(index_dir: Path | None, as_json: bool) -> None:
    """The feeds followed."""
    from .feeds import load_state

    feeds = load_state(_index(index_dir).corpus)["feeds"]
    if as_json:
        click.echo(json.dumps([{"name": n, **f} for n, f in feeds.items()], ensure_ascii=False))
        return
    for n, f in feeds.items():
        click.echo(f"{n}\t{f['url']}\t{f.get('title', '')}")


@feed_group.command("remove")
@click.argument("name")
@index_option
@_friendly
def feed_remove(name: str, index_dir: Path | None) -> None:
    """Stop following a feed (its articles stay in the index)."""
    from .feeds import remove_feed

    remove_feed(_index(index_dir).corpus, name)
    click.echo(f"no longer following {name}")


@feed_group.command("update")
@index_option
@click.option("--json", "as_json", is_flag=True)
@click.option("--retry", is_flag=True, help="Try failed feeds and pages again now, not after their back-off.")
@_friendly
def feed_update(index_dir: Path | None, as_json: bool, retry: bool) -> None:
    """Fetch every feed; index new entries and pages that changed (at most VEILLE_FEED_MAX_ENTRIES pages)."""
    from .feeds import update

    index = _index(index_dir)
    report = audited(index_dir, "feed update", [], lambda: _Reported(update(
        index.corpus, lambda items: index.add_extracted(items, progress=True, replace=True), progress=True,
        max_bytes=index.settings.max_file_bytes, retry=retry)))
    summary = report.feed.to_dict()
    if as_json:
        click.echo(json.dumps({k: summary[k] for k in ("feeds", "new", "updated", "unchanged", "failed", "left",
                                                       "waiting", "waiting_feeds", "not_modified", "duplicates")},
                              ensure_ascii=False))
        return
    click.echo(f"{summary['feeds']} feeds: {summary['new']} new, {summary['updated']} updated, "
               f"{summary['unchanged']} unchanged, {len(summary['failed'])} failed, {summary['left']} left, "
               f"{summary['waiting']} waiting, {summary['not_modified']} not modified"
               + (f", {summary['waiting_feeds']} feeds waiting" if summary["waiting_feeds"] else ""))
    for f in summary["failed"]:
        click.echo(f"  failed: {f['url']}: {f['reason']}")
    for page, indexed in summary["sources"]["duplicates"].items():  # skipped by the index, not added
        click.echo(f"  duplicate: {page} holds the text of {indexed}, already indexed; not added")
    if summary["left"]:
        click.echo(f"  left: {summary['left']} entries over this update's cap (VEILLE_FEED_MAX_ENTRIES="
                   f"{index.settings.feed_max_entries}); the next update fetches them")
    if summary["waiting"] or summary["waiting_feeds"]:
        click.echo(f"  waiting: {summary['waiting']} pages and {summary['waiting_feeds']} feeds that failed "
                   "wait out their back-off; --retry tries them now")


class _Reported:
    """A feed report in the shape the history's summary reads (added, updated, removed, skipped)."""

    def __init__(self, feed) -> None:  # noqa: ANN001
        self.feed = feed
        self.added, self.updated, self.skipped = feed.new, feed.updated, feed.failed
        self.removed: list[str] = []
