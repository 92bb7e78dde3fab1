"""`veille search`, `ask` and `cite`: reading the index, as text or JSON, filtered by period and source."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from .cli_common import _dump, _friendly, _lines, index_option


def where_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """--since, --until, --source: which articles may answer (applied before ranking)."""
    fn = click.option("--source", default=None, metavar="GLOB",
                      help="Only articles whose file, site or host matches, e.g. 'gazette*' or '*.lemonde.fr'.")(fn)
    fn = click.option("--until", default=None, metavar="DAY", help="Only articles dated on or before DAY.")(fn)
    return click.option("--since", default=None, metavar="DAY",
                        help="Only articles dated on or after DAY (2024-11-04 or 4/11/2024).")(fn)


def _where(since: str | None, until: str | None, source: str | None) -> Any:
    from .filters import Where

    return Where.of(since, until, source)


def provenance(date: str | None, site: str | None, url: str | None, page: int | None = None) -> str:
    """« , 2024-11-04 · La Gazette · p. 2 · https://… »: what the reader needs to open the original."""
    parts = [p for p in (date, site, f"p. {page}" if page else None, url) if p]
    return (", " + " · ".join(parts)) if parts else ""


@click.command()
@click.argument("query")
@click.option("--k", default=5, show_default=True, help="How many passages.")
@where_options
@index_option
@click.option("--json", "as_json", is_flag=True)
@_friendly
def search(query: str, k: int, since: str | None, until: str | None, source: str | None, index_dir: Path | None,
           as_json: bool) -> None:
    """Passages that match QUERY ("-": one query a line from stdin)."""
    from .index import open_index

    idx, where = open_index(index_dir), _where(since, until, source)
    for q in _lines(query):
        hits = idx.search(q, k, where=where)
        if as_json:
            _dump({"query": q, "hits": [h.to_dict() for h in hits]})
            continue
        for n, h in enumerate(hits, 1):
            c = h.chunk
            click.echo(f"{n}. {c.source} [{c.start}:{c.end}] score {h.score:.4f}"
                       f"{provenance(c.date, c.site, c.url, c.page)}\n   {c.text[:300]}")


@click.command()
@click.argument("question")
@click.option("--mode", type=click.Choice(["extractive", "llm"]), default="extractive", show_default=True,
              help="extractive quotes the articles; llm has a language model write the answer, then checks it.")
@where_options
@index_option
@click.option("--json", "as_json", is_flag=True)
@_friendly
def ask(question: str, mode: str, since: str | None, until: str | None, source: str | None, index_dir: Path | None,
        as_json: bool) -> None:
    """Answer QUESTION with numbered citations ("-": one question a line from stdin)."""
    from .index import open_index
    from .types import Answer

    idx, where = open_index(index_dir), _where(since, until, source)
    for q in _lines(question):
        answer = None
        for item in idx.ask_stream(q, mode=mode, where=where):
            if isinstance(item, Answer):
                answer = item
            elif not as_json:
                click.echo(item, nl=False, err=True)  # the draft streams to stderr; the checked answer follows
        assert answer is not None
        if as_json:
            _dump(answer.to_dict())
            continue
        if mode == "llm":
            click.echo("", err=True)
            click.echo("(réponse extractive : le brouillon n'a pas passé la vérification)" if answer.fallback
                       else "(réponse vérifiée contre les passages)")
        click.echo(answer.text)
        if answer.citations:
            click.echo("\nSources :" if not answer.abstained else "\nPassages les plus proches :")
        for c in answer.citations:
            click.echo(f"[{c.n}] {c.title} — {c.source} [{c.start}:{c.end}]{provenance(c.date, c.site, c.url, c.page)}")
            click.echo(f"    « {c.quote} »")


@click.command()
@click.argument("text")
@click.option("--limit", default=10, show_default=True)
@where_options
@index_option
@click.option("--json", "as_json", is_flag=True)
@_friendly
def cite(text: str, limit: int, since: str | None, until: str | None, source: str | None, index_dir: Path | None,
         as_json: bool) -> None:
    """Where a quotation or phrase appears, and who said it ("-": one quote a line from stdin)."""
    from .index import open_index

    idx, where = open_index(index_dir), _where(since, until, source)
    for quote in _lines(text):
        matches = idx.cite(quote, limit, where=where)
        if as_json:
            _dump({"quote": quote, "matches": [m.to_dict() for m in matches]})
            continue
        if not matches:
            click.echo(f"Citation introuvable dans les articles indexés : « {quote[:80]} »")
        for m in matches:
            who = f" — {m.speaker}" if m.speaker else ""
            click.echo(f"{m.source} [{m.start}:{m.end}] ({m.kind}){who}{provenance(m.date, m.site, m.url, m.page)}"
                       f"\n   {m.sentence}")
