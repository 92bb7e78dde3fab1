"""The command line: JSON contracts other tools rely on, stdin batches, and clear errors."""

from __future__ import annotations

import json
from pathlib import Path

from helpers import run
from veille import Index


def test_search_json_follows_the_contract(seed_index: Index) -> None:
    proc = run("search", "combien de soldats selon Blinken ?", "--k", "3", "--json", index=seed_index)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["query"] == "combien de soldats selon Blinken ?" and len(out["hits"]) == 3
    hit = out["hits"][0]
    # the names of the first contract stay; where the article came from is new (None for a plain file)
    assert set(hit) == {"source", "title", "date", "start", "end", "text", "score", "url", "site", "author", "page"}
    assert hit["url"] is None and hit["page"] is None
    original = (seed_index.corpus / hit["source"]).read_bytes().decode("utf-8")
    assert original[hit["start"] : hit["end"]] == hit["text"] and "Blinken" in hit["text"]


def test_search_reads_one_query_a_line_from_stdin(seed_index: Index) -> None:
    proc = run("search", "-", "--json", "--k", "2", index=seed_index, stdin="Blinken\n\nMark Rutte\n")
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [x["query"] for x in lines] == ["Blinken", "Mark Rutte"]


def test_cite_reads_one_quote_a_line_from_stdin(seed_index: Index) -> None:
    quotes = "C'est notre affaire\n\nune phrase que personne n'a dite\n"
    proc = run("cite", "-", "--json", index=seed_index, stdin=quotes)
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [x["quote"] for x in lines] == ["C'est notre affaire", "une phrase que personne n'a dite"]
    assert lines[0]["matches"] and not lines[1]["matches"]
    assert set(lines[0]["matches"][0]) >= {"source", "speaker", "sentence", "url", "site", "author", "page"}


def test_status_json_follows_the_contract(seed_index: Index) -> None:
    out = json.loads(run("index", "status", "--json", index=seed_index).stdout)
    assert set(out) == {"articles", "chunks", "model", "dimension", "built_at", "corpus"}
    assert out["articles"] == 5


def test_errors_are_one_line_and_a_non_zero_exit(tmp_path: Path, seed_index: Index) -> None:
    (tmp_path / "empty").mkdir()
    proc = run("index", "build", "--corpus", str(tmp_path / "empty"), "--index", str(tmp_path / "idx"),
               index=seed_index)
    assert proc.returncode == 1 and "no .txt" in proc.stderr and "Traceback" not in proc.stderr
    proc = run("search", "x", "--index", str(tmp_path / "missing"), index=seed_index)
    assert proc.returncode == 1 and "veille index build" in proc.stderr
    assert not (tmp_path / "idx").exists()


def test_help_lists_the_commands() -> None:
    out = run("--help").stdout
    for command in ("ask", "cite", "eval", "index", "model", "search", "serve"):
        assert command in out
