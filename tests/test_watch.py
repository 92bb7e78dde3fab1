"""A watched corpus folder: `veille index watch` for real (files dropped, changed and removed on disk are
indexed within seconds), and the polling loop alone with a recording update."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from served import ROOT, cli, copy_index
from veille import Index
from veille.watch import snapshot, watch

ARTICLE = ("Le Japon renforce sa défense antimissile\n\n6/11/2024\n\n"
           "Le gouvernement japonais a annoncé mercredi l’achat de 400 missiles Tomahawk pour renforcer sa "
           "défense face à la Corée du Nord.\n")


def _wait_for(condition: Callable[[], bool], seconds: float = 90.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail("the watched folder was not indexed in time")
        time.sleep(0.3)


def _articles(index: Path) -> set[str]:
    try:
        return set(json.loads((index / "manifest.json").read_text(encoding="utf-8"))["articles"])
    except (OSError, json.JSONDecodeError):
        return set()


def test_the_loop_indexes_a_change_once_it_has_settled(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("Titre\n\nUn texte.\n", encoding="utf-8")
    calls: list[dict] = []
    stop = threading.Event()
    thread = threading.Thread(target=watch, args=(tmp_path, lambda: calls.append(snapshot(tmp_path)) or "report",
                                                  lambda r: None, lambda e: None, 0.05, stop))
    thread.start()
    try:
        time.sleep(0.3)
        assert calls == []  # nothing changed: nothing indexed
        (tmp_path / "b.txt").write_text("Autre\n\nUn autre texte.\n", encoding="utf-8")
        (tmp_path / ".b.txt.part").write_text("a hidden file in the making", encoding="utf-8")
        _wait_for(lambda: len(calls) == 1, 5)
        assert set(calls[0]) == {"a.txt", "b.txt"}
        (tmp_path / "a.txt").unlink()
        _wait_for(lambda: len(calls) == 2, 5)
        time.sleep(0.3)
        assert len(calls) == 2  # one update a change, not one a poll
    finally:
        stop.set()
        thread.join(5)


def test_veille_index_watch_picks_up_dropped_changed_and_removed_files(
        tmp_path_factory: pytest.TempPathFactory, seed_dirs: tuple[Path, Path], seed_index: Index) -> None:
    where = copy_index(tmp_path_factory.mktemp("watch"), seed_dirs, seed_index.settings.models_dir)
    index, corpus = where["index"], where["corpus"]
    log = (where["tmp"] / "watch.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "veille.cli", "index", "watch", "--interval", "0.5", "--index",
                             str(index)], env=where["env"], stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        _wait_for(lambda: "watching" in (where["tmp"] / "watch.log").read_text())
        (corpus / "japon.txt").write_text(ARTICLE, encoding="utf-8")
        _wait_for(lambda: "japon.txt" in _articles(index))
        answer = json.loads(cli(where["env"], "ask", "Combien de missiles Tomahawk le Japon achète-t-il ?",
                                "--json").stdout)
        assert "400" in answer["answer"] and answer["citations"][0]["source"] == "japon.txt"
        built = json.loads((index / "manifest.json").read_text())["built_at"]
        (corpus / "japon.txt").write_text(ARTICLE.replace("400", "500"), encoding="utf-8")
        _wait_for(lambda: json.loads((index / "manifest.json").read_text())["built_at"] != built)
        (corpus / "japon.txt").unlink()
        _wait_for(lambda: "japon.txt" not in _articles(index))
        # the history line is written once the build has swapped the index in: wait for it too
        log_file = index.parent / f"{index.name}.history.jsonl"
        _wait_for(lambda: log_file.is_file() and log_file.read_text().count('"action": "watch"') == 3)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    history = [json.loads(line) for line in cli(where["env"], "index", "history", "--json").stdout.splitlines()]
    assert [e["targets"] for e in history if e["action"] == "watch"] == [["japon.txt"]] * 3
