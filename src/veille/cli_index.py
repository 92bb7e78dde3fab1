"""`veille index …`: build, add, remove, watch, status, export and import the index."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from .cli_access import index_history
from .cli_common import _dump, _friendly, audited, index_option
from .errors import InputError


@click.group("index")
def index_group() -> None:
    """Build and maintain the index."""


index_group.add_command(index_history)


def print_report(report: Any, as_json: bool) -> None:
    if as_json:
        _dump(report.to_dict())
        return
    click.echo(f"{report.articles} articles, {report.total_chunks} chunks; embedded {report.embedded_chunks} "
               f"(added {len(report.added)}, updated {len(report.updated)}, removed {len(report.removed)}, "
               f"unchanged {report.unchanged})")
    for dup, orig in report.duplicates:
        click.echo(f"  duplicate: {dup} is identical to {orig}, indexed once")
    for _source, reason in report.skipped:
        click.echo(f"  skipped: {reason}")


@index_group.command("build")
@click.option("--corpus", type=click.Path(path_type=Path), default=None, help="Articles folder (default seeds/).")
@index_option
@click.option("--json", "as_json", is_flag=True)
@_friendly
def index_build(corpus: Path | None, index_dir: Path | None, as_json: bool) -> None:
    """Index new and changed articles of the corpus; drop deleted ones."""
    from .index import build_index

    def build() -> Any:
        return build_index(corpus, index_dir, progress=True)

    print_report(audited(index_dir, "build", [str(corpus or "")], build), as_json)


@index_group.command("add")
@click.argument("items", nargs=-1, required=True)
@index_option
@click.option("--json", "as_json", is_flag=True)
@_friendly
def index_add(items: tuple[str, ...], index_dir: Path | None, as_json: bool) -> None:
    """Copy files (.txt, .md, .html, .pdf) into the corpus folder, or fetch pages (http/https URLs), and
    index them. Everything is read and checked before anything is written."""
    from .index import open_index

    urls = [i for i in items if i.lower().startswith(("http://", "https://"))]
    paths = [Path(i) for i in items if i not in urls]
    if missing := [str(p) for p in paths if not p.is_file()]:
        raise InputError(f"no such file: {', '.join(missing)} (a page needs its http:// or https:// address)")
    index = open_index(index_dir)

    def change():  # noqa: ANN202 - pages and files: one change, checked whole before anything is written
        from .feeds import fetch_page

        pages = [fetch_page(u, max_bytes=index.settings.max_file_bytes) for u in urls]
        return index.add(paths, progress=True, pages=pages)

    print_report(audited(index_dir, "add", [*urls, *(p.name for p in paths)], change), as_json)


@index_group.command("remove")
@click.argument("sources", nargs=-1, required=True)
@index_option
@click.option("--json", "as_json", is_flag=True)
@_friendly
def index_remove(sources: tuple[str, ...], index_dir: Path | None, as_json: bool) -> None:
    """Take articles out of the index (their files move to the corpus's .removed/ folder)."""
    from .index import open_index

    print_report(audited(index_dir, "remove", list(sources), lambda: open_index(index_dir).remove(list(sources),
                                                                                          progress=True)), as_json)


@index_group.command("watch")
@index_option
@click.option("--interval", default=1.0, show_default=True, help="Seconds between looks at the folder.")
@_friendly
def index_watch(index_dir: Path | None, interval: float) -> None:
    """Index files dropped into, changed in or removed from the corpus folder, until Ctrl-C."""
    from .audit import history_path, local_user, record, summary
    from .index import open_index
    from .watch import watch

    idx = open_index(index_dir)
    history = history_path(idx.folder)

    def report(r: Any) -> None:
        record(history, local_user(), "watch", [*r.added, *r.updated, *r.removed], "watch", summary(r))
        print_report(r, False)

    click.echo(f"veille: watching {idx.corpus} (Ctrl-C stops)", err=True)
    try:
        watch(idx.corpus, idx.update, report, lambda e: click.echo(f"veille: {e}", err=True), interval)
    except KeyboardInterrupt:
        click.echo("veille: stopped watching", err=True)


@index_group.command("status")
@index_option
@click.option("--json", "as_json", is_flag=True)
@_friendly
def index_status(index_dir: Path | None, as_json: bool) -> None:
    """What the index holds."""
    from .index import open_index

    idx = open_index(index_dir)
    status = idx.status()
    if as_json:
        _dump(status)
        return
    click.echo(f"{status['articles']} articles, {status['chunks']} chunks, model {status['model']} "
               f"({status['dimension']} dims), built {status['built_at']} from {status['corpus']}")
    for a in idx.articles():
        click.echo(f"  {a['source']}  {a['date'] or '':16}  {a['chunks']:3d} chunks  {a['title'][:70]}")


@index_group.command("export")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@index_option
@click.option("--json", "as_json", is_flag=True)
@_friendly
def index_export(file: Path, index_dir: Path | None, as_json: bool) -> None:
    """Write the index, vectors included, to one portable .tar (moves between stores or machines)."""
    from .archive import export_index

    summary = export_index(file, index_dir)
    if as_json:
        _dump(summary)
        return
    click.echo(f"{summary['file']}: {summary['articles']} articles, {summary['chunks']} chunks and their vectors "
               f"({summary['bytes'] / 1e6:.1f} MB)")


@index_group.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@index_option
@click.option("--corpus", type=click.Path(path_type=Path), default=None,
              help="Where the articles are here (default: the folder the index was built from).")
@click.option("--json", "as_json", is_flag=True)
@_friendly
def index_import(file: Path, index_dir: Path | None, corpus: Path | None, as_json: bool) -> None:
    """Write an exported index into the index folder, in the store VEILLE_STORE names; nothing is re-embedded."""
    from .archive import import_index

    summary = import_index(file, index_dir, corpus=corpus)
    if as_json:
        _dump(summary)
        return
    click.echo(f"{summary['index']}: {summary['articles']} articles, {summary['chunks']} chunks in {summary['store']}")
    if summary["missing_articles"]:
        click.echo(f"  {len(summary['missing_articles'])} articles are not in the corpus folder: "
                   "`veille index build` will drop them")
