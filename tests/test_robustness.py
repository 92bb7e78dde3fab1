"""Robustness, each proved on the real thing (model, FAISS, `veille` processes, the Gradio server): builds
killed at random moments, questions during writes, two builders at once, hostile files and names, a
tampered index, and a burst of concurrent questions at the UI."""

from __future__ import annotations

import importlib.util
import json
import os
import pickle
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from hypothesis import event, example, given
from hypothesis import settings as budget
from hypothesis import strategies as st

from conftest import ROOT, SEEDS
from helpers import run
from veille import Index, InputError, VeilleError, build_index, open_index
from veille.chunk import chunk_article
from veille.files import sha256_file
from veille.ingest import SUFFIXES, read_corpus
from veille.intake import stage_file
from veille.quotes import find_in_articles
from veille.store import read_manifest, verify_files

BLINKEN_Q = "combien de soldats selon Blinken ?"
BLINKEN = "004_b5e3709a28e5c677.txt"
BRIEF = "Brève {n}\n\nLe conseil municipal de Lille a voté mardi un budget de {n} millions d’euros pour ses écoles.\n"


def _cites_blinken(index: Index) -> None:
    """The index answers the Blinken question with a citation that slices back out of its article."""
    answer = index.ask(BLINKEN_Q)
    c = answer.citations[0]
    assert not answer.abstained and "[1]" in answer.text and c.source == BLINKEN and "10.000" in c.text
    assert index.original(c.source)[c.start : c.end] == c.text


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.parent.glob(f".{folder.name}.*-*") if ".tmp-" in p.name or ".old-" in p.name)


def _build_command(index: Index) -> tuple[list[str], dict[str, str]]:
    """`veille index build` of the index's corpus into its folder, and its environment."""
    env = {**os.environ, "VEILLE_MODELS_DIR": str(index.settings.models_dir), "VEILLE_THREADS": "1"}
    return [sys.executable, "-m", "veille.cli", "index", "build", "--corpus", str(index.corpus), "--index",
            str(index.folder)], env


def _build_process(index: Index) -> subprocess.Popen[str]:
    args, env = _build_command(index)
    return subprocess.Popen(args, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _reopen(index: Index) -> Index:
    return open_index(index.folder, settings=index.settings, embedder=index.embedder)


# -- 1. crash safety
@pytest.mark.parametrize("seed", [7, 2024])
def test_builds_killed_at_random_moments_always_leave_an_index_that_answers(
        own_index: Index, tmp_path: Path, seed: int) -> None:
    rounds, rng, aside, folder = 6, random.Random(seed), tmp_path / "aside", own_index.folder
    aside.mkdir()
    own_index.add_texts([(f"breve-{n}.txt", BRIEF.format(n=n).encode()) for n in range(rounds + 1)])
    # Every round takes one brief out, so every build writes a new index. A build that only removes loads
    # no model, so the kill points fall over reading, writing and swapping rather than over torch's import.
    shutil.move(own_index.corpus / "breve-0.txt", aside)
    began = time.monotonic()
    _, err = (proc := _build_process(own_index)).communicate(timeout=300)
    duration, articles, killed, caught_writing = time.monotonic() - began, 5 + rounds, 0, 0
    assert proc.returncode == 0, err
    for n in range(1, rounds + 1):
        shutil.move(own_index.corpus / f"breve-{n}.txt", aside)
        proc = _build_process(own_index)
        if n % 2:  # anywhere in the build
            time.sleep(rng.uniform(0, duration))
        else:  # in the few ms it writes and swaps, from the moment its new folder appears (at once in round 2:
            while not _leftovers(folder) and proc.poll() is None:  # an idle machine may write it all in 5 ms)
                time.sleep(0.0005)
            time.sleep(0 if n == 2 else rng.uniform(0, 0.005))
        proc.kill()  # SIGKILL
        proc.communicate(timeout=60)
        killed += proc.returncode == -signal.SIGKILL
        caught_writing += bool(_leftovers(folder))
        assert len(_leftovers(folder)) <= 2  # at most what this one build left: none pile up
        index = _reopen(own_index)
        assert _leftovers(folder) == []  # opening it cleaned up after the killed build
        assert index.status()["articles"] in (articles, 5 + rounds - n)  # the old index or the new, whole
        articles = index.status()["articles"]
        verify_files(folder, read_manifest(folder))
        _cites_blinken(index)
    assert killed >= 2 and caught_writing >= 1, f"{killed} builds killed, {caught_writing} while writing"
    report = build_index(own_index.corpus, folder, settings=own_index.settings, embedder=own_index.embedder)
    assert report.articles == 5 and _leftovers(folder) == []


# -- 2. reads during writes
def _guarded(errors: list[str], fn: Callable[[], None]) -> Callable[[], None]:
    def body() -> None:
        try:
            fn()
        except Exception:  # any error at all is what this test looks for
            errors.append(traceback.format_exc())
    return body


def test_questions_from_several_threads_are_answered_while_the_index_is_rewritten(own_index: Index) -> None:
    stop, errors, generations = threading.Event(), [], set()

    def ask_the_shared_index() -> None:  # the UI's way: one Index, updated in place
        while not stop.is_set():
            _cites_blinken(own_index)

    def open_and_ask() -> None:  # the CLI's way: open the folder for each question
        while not stop.is_set():
            _cites_blinken(_reopen(own_index))

    def open_and_count() -> None:  # `veille index status`: opens as fast as it can, so it meets every swap
        while not stop.is_set():
            generations.add(_reopen(own_index).status()["articles"])

    readers = [threading.Thread(target=_guarded(errors, fn))
               for fn in (ask_the_shared_index, ask_the_shared_index, open_and_ask, open_and_count)]
    for r in readers:
        r.start()
    for n in range(4):  # each round: a build of the folder from another thread, and an upload to the Index
        (own_index.corpus / f"breve-{n}.txt").write_text(BRIEF.format(n=n), encoding="utf-8")
        builder = threading.Thread(target=_guarded(errors, lambda: build_index(
            own_index.corpus, own_index.folder, settings=own_index.settings, embedder=own_index.embedder, wait=60)))
        builder.start()
        own_index.add_texts([(f"depeche-{n}.txt", BRIEF.format(n=100 + n).encode())])
        builder.join()
    own_index.update()
    stop.set()
    for r in readers:
        r.join()
    assert errors == [], f"{len(errors)} reads failed; the first: {errors[0]}"
    assert len(generations) >= 3, "too few questions were asked while the index changed"
    assert own_index.status()["articles"] == 13 and _reopen(own_index).status()["articles"] == 13


# -- 3. two builds at once
def _holds_flock(pid: int, path: Path) -> bool:
    """True when process pid holds a flock on path (/proc/locks: "1: FLOCK ADVISORY WRITE pid maj:min:inode ...")."""
    if not path.exists():
        return False
    inode = f":{path.stat().st_ino}"
    held = (line.split() for line in Path("/proc/locks").read_text().splitlines() if "->" not in line)
    return any(f[1] == "FLOCK" and f[4] == str(pid) and f[5].endswith(inode) for f in held)


def _stopped_inside_its_build(index: Index) -> subprocess.Popen[str]:
    """A `veille index build` process, stopped (SIGSTOP) while it holds the index's build lock."""
    lock = index.folder.parent / f".{index.folder.name}.lock"
    for source in ("000_d899a9611e8e4f52.txt", "001_567d18c58954b188.txt", "002_b8ce6e8f7f721623.txt"):
        (index.corpus / source).unlink()  # so the build has something to write, and holds the lock a while
        build = _build_process(index)
        deadline = time.monotonic() + 120
        while not _holds_flock(build.pid, lock):
            assert build.poll() is None and time.monotonic() < deadline, build.communicate()
        build.send_signal(signal.SIGSTOP)
        if _holds_flock(build.pid, lock):
            return build
        build.send_signal(signal.SIGCONT)  # it let go between the two looks: try again with another change
        assert build.wait(timeout=120) == 0
    raise AssertionError("no build could be stopped while holding the lock")


def test_two_builds_at_once_one_fails_clearly_one_waits_and_nothing_is_corrupted(own_index: Index) -> None:
    first = _stopped_inside_its_build(own_index)  # held there, so the others surely meet it
    waited: list[str] = []
    try:
        args, env = _build_command(own_index)
        second = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
        assert second.returncode == 1, second.stderr
        assert "another build is writing" in second.stderr and "Traceback" not in second.stderr
        waiter = threading.Thread(target=_guarded(waited, lambda: build_index(
            own_index.corpus, own_index.folder, settings=own_index.settings, embedder=own_index.embedder, wait=120)))
        waiter.start()
        time.sleep(1)
        assert waiter.is_alive()  # an in-process build given a wait waits for the lock
    finally:
        first.send_signal(signal.SIGCONT)
    _, err = first.communicate(timeout=300)
    waiter.join()
    assert first.returncode == 0 and "Traceback" not in err and waited == [], (err, waited)
    verify_files(own_index.folder, read_manifest(own_index.folder))
    index = _reopen(own_index)
    assert index.status()["articles"] == len(list(own_index.corpus.glob("*.txt"))) and not _leftovers(index.folder)
    _cites_blinken(index)


# -- 4. hostile input
HOSTILE = "\x00\u200f\u202e\u202d\u200b\ufeff\u00a0\u2028\u2029\r\n\t«»“”’…éÉœ."
SENTENCES = [s.strip() + "." for s in (SEEDS / BLINKEN).read_text(encoding="utf-8").split(". ") if len(s) > 20][:30]
ENCODINGS = ["utf-8", "utf-8-sig", "latin-1", "cp1252", "utf-16", "utf-16-le", "utf-16-be"]
LIMIT = 200_000

characters = st.one_of(st.characters(exclude_categories=("Cs",)), st.sampled_from(HOSTILE))
texts = st.text(characters, max_size=300)
# Article-like text: real sentences with hostile characters, odd line ends and random text between them.
articles = st.lists(st.one_of(st.sampled_from(SENTENCES), texts), min_size=1, max_size=10).flatmap(
    lambda parts: st.lists(st.sampled_from([" ", "\n", "\r\n", "\n\n", "\u2029", " \u200f", "\u202e "]),
                           min_size=len(parts), max_size=len(parts)).map(
        lambda seps: "".join(p + s for p, s in zip(parts, seps, strict=True))))
contents = st.one_of(
    st.binary(max_size=400),
    st.builds(lambda t, enc: t.encode(enc, errors="replace"), st.one_of(articles, texts), st.sampled_from(ENCODINGS)),
    st.builds(lambda t, word, n: (t + word * n).encode(), articles,  # huge lines
              st.sampled_from(["Un mot sans fin ", "x", "é\u200f", "\x00"]), st.integers(0, 8000)),
    articles.map(str.encode),
)
# Names a person could give (any characters but the path ones), then names meant to get out of the folder.
plain_names = st.builds(lambda stem, suffix: re.sub(r"[/\\\x00.]", "-", stem) + suffix,
                        st.text(characters, min_size=1, max_size=40), st.sampled_from([".txt", ".md", ".html"]))
escaping_names = st.builds(
    lambda pre, stem, suffix: pre + stem + suffix,
    st.sampled_from(["", "../", "../../", "/", "/tmp/", "./", "~/", "..\\", "C:\\", ".", " ", "\u202e"]),
    texts.map(lambda t: t[:40]), st.sampled_from([*SUFFIXES, ".TXT", ".exe", ".txt\x00.exe", ""]))
long_names = st.builds(lambda ch, n: ch * n + ".txt", st.sampled_from(["a", "é", "€", "\u200f"]), st.integers(60, 300))
names = st.one_of(plain_names, escaping_names, long_names)


def _is_plain_name(name: str) -> bool:
    return (name == Path(name).name and not name.startswith(".") and "\\" not in name and "\x00" not in name
            and Path(name).suffix.lower() in SUFFIXES and len(f".{name}.part".encode()) <= 255)


@budget(max_examples=400, deadline=None, database=None)
@given(name=names, data=contents)
def test_any_incoming_file_is_staged_under_a_plain_name_or_refused_with_a_message(name: str, data: bytes) -> None:
    try:
        staged, kept = stage_file(name, data, LIMIT)
    except InputError as e:
        assert str(e)
        return
    assert _is_plain_name(staged), staged  # so corpus / staged is inside the corpus folder and can be written
    assert (Path("/corpus") / staged).resolve().parent == Path("/corpus")
    kept.decode("utf-8")  # what goes into the corpus is UTF-8


@pytest.mark.parametrize(("encoding", "refusal"), [
    ("utf-8", None), ("utf-8-sig", None), ("latin-1", "not UTF-8"), ("cp1252", "not UTF-8"),
    ("utf-16", "UTF-16 text"), ("utf-16-le", "binary file"), ("utf-16-be", "binary file")])
def test_an_article_in_another_encoding_is_refused_saying_why(tmp_path: Path, encoding: str,
                                                              refusal: str | None) -> None:
    data = "Élection à Séoul\n\n« C'est notre affaire », a déclaré Poutine mardi à Moscou.\n".encode(encoding)
    shutil.copy(SEEDS / BLINKEN, tmp_path / BLINKEN)
    (tmp_path / "article.txt").write_bytes(data)
    read, skipped, _ = read_corpus(tmp_path)
    if refusal is None:
        article = next(a for a in read if a.source == "article.txt")
        assert stage_file("article.txt", data, LIMIT) == ("article.txt", data)
        assert article.original == data.decode("utf-8")  # a BOM stays, as U+FEFF, so offsets hold
        assert all(article.original[c.start : c.end] == c.text for c in chunk_article(article, 600, 1, 0))
        return
    assert [s for s, _ in skipped] == ["article.txt"] and refusal in skipped[0][1]
    with pytest.raises(InputError, match=refusal):
        stage_file("article.txt", data, LIMIT)


def _written_corpus(folder: Path, files: list[tuple[str, bytes]]) -> Path:
    for name, data in files:
        stem = "".join(ch for ch in name if ch not in "/\x00")[:40].lstrip(".") or "x"
        (folder / f"{stem}{len(list(folder.iterdir()))}.txt").write_bytes(data)
    return folder


@budget(max_examples=100, deadline=None, database=None)
@given(files=st.lists(st.tuples(texts, contents), min_size=1, max_size=4))
@example(files=[("", "\u2028".encode())])  # once found: a file of one Unicode line separator made a blank chunk
@example(files=[("a", " \u3000\x85\x0c\u2029 ".encode()), ("b", "Une phrase.\u2028\u205f".encode())])
def test_any_corpus_folder_is_read_and_chunked_with_offsets_that_slice_back(files: list[tuple[str, bytes]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        corpus = _written_corpus(Path(tmp), files)
        try:
            read, skipped, _ = read_corpus(corpus, LIMIT)
        except VeilleError as e:  # nothing readable at all: said so
            assert "could be read" in str(e)
            return
        assert len(read) + len(skipped) <= len(files) and all(reason for _, reason in skipped)
        for article in read:
            original = (corpus / article.source).read_bytes().decode("utf-8")
            assert article.original == original
            chunks = chunk_article(article, 600, 1, 0)
            assert chunks
            for c in chunks:
                assert original[c.start : c.end] == c.text and c.text.strip() and len(c.text) <= 1200
                assert any(s <= c.start and c.end <= e for s, e in article.segments)


@budget(max_examples=150, deadline=None, database=None)
@given(bodies=st.lists(articles, min_size=1, max_size=3), pick=st.tuples(st.integers(0, 2), st.floats(0, 1),
                                                                          st.integers(0, 200)), noise=texts)
def test_quote_lookup_never_fails_and_every_match_slices_back(bodies: list[str], pick: tuple, noise: str) -> None:
    arts = [(f"a{n}.txt", body, body[:50], None) for n, body in enumerate(bodies)]
    n, at, length = pick
    body = bodies[n % len(bodies)]
    start = int(at * len(body))
    for quote in (body[start : start + length], noise, body[start : start + length] + noise):
        try:
            matches = find_in_articles(arts, quote)
        except InputError as e:
            assert "citation" in str(e)
            continue
        for m in matches:
            original = dict((a[0], a[1]) for a in arts)[m.source]
            assert original[m.start : m.end] == m.text and original[m.sentence_start : m.sentence_end] == m.sentence


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory, seed_dirs: tuple[Path, Path], settings, embedder) -> Index:  # noqa: ANN001
    """A private copy of the seed index, two folders down, for the hostile uploads to try to get out of."""
    base = tmp_path_factory.mktemp("scratch")
    corpus, index = base / "a" / "b" / "corpus", base / "a" / "b" / "index"
    shutil.copytree(seed_dirs[0], corpus)
    shutil.copytree(seed_dirs[1], index)
    s = replace(settings, corpus=corpus, index=index, max_file_bytes=20_000)
    build_index(corpus, index, settings=s, embedder=embedder)
    return open_index(index, settings=s, embedder=embedder)


def _outside(index: Index) -> set[str]:
    """Every path under the scratch folder's base that is not the corpus, the index or the index's lock."""
    base = index.corpus.parents[2]
    return {p.relative_to(base).as_posix() for p in base.rglob("*")
            if not {index.corpus, index.folder} & {p, *p.parents} and not p.name.startswith(f".{index.folder.name}.")}


@budget(max_examples=30, deadline=None, database=None)
@given(name=st.one_of(plain_names, plain_names, plain_names, escaping_names, long_names),
       data=st.one_of(articles.map(str.encode), articles.map(str.encode), contents), at=st.floats(0, 1))
def test_hostile_uploads_into_the_real_index_stay_in_the_corpus_and_slice_back(
        scratch: Index, name: str, data: bytes, at: float) -> None:
    outside = _outside(scratch)
    try:
        staged = stage_file(name, data, scratch.settings.max_file_bytes)[0]
        scratch.add_texts([(name, data)])
    except InputError as e:
        assert str(e)
        event("refused")
        return
    finally:
        assert _outside(scratch) == outside  # nothing written beside the corpus, whatever the name
    chunks = [c for c in scratch.chunks.values() if c.source == staged]
    event("indexed" if chunks else "taken in, nothing to index")
    original = (scratch.corpus / staged).read_bytes().decode("utf-8")
    for c in chunks:
        assert original[c.start : c.end] == c.text == scratch.original(staged)[c.start : c.end]
    if chunks:
        c = chunks[int(at * (len(chunks) - 1))]
        quote = c.text[len(c.text) // 4 : len(c.text) // 4 + 80]
        try:
            matches = scratch.cite(quote)
        except InputError:  # only white space or quote marks: nothing to look up, and said so
            matches = []
        for m in matches:
            assert scratch.original(m.source)[m.start : m.end] == m.text
    if staged in scratch.manifest["articles"]:  # so a later example may use the same name for other content
        scratch.remove([staged])
    (scratch.corpus / staged).unlink(missing_ok=True)  # a file skipped as unreadable stays in the folder


# -- 5. a tampered index
KEYWORD = ["ids.json", "params.index.json", "vocab.index.json", "data.csc.index.npy", "indices.csc.index.npy",
           "indptr.csc.index.npy", "words.json", "names.json"]
INDEX_FILES = ["faiss.index", "chunks.jsonl", "manifest.json", *(f"keyword/{k}" for k in KEYWORD)]


class _Payload:
    """Unpickling this creates the marker file: proof that loading ran code from the index folder."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (open, (str(self.marker), "w"))


def _plant(path: Path, marker: Path) -> None:
    if path.suffix == ".npy":  # numpy's own way to carry a pickle, in case a loader allows it
        np.save(path, np.array([_Payload(marker), 1], dtype=object), allow_pickle=True)
    else:
        path.write_bytes(pickle.dumps(_Payload(marker)))


def test_the_planted_payload_runs_code_when_unpickled_and_the_tampering_covers_every_index_file(
        tmp_path: Path, seed_index: Index) -> None:
    marker = tmp_path / "ran"
    _plant(tmp_path / "x.pkl", marker)
    pickle.loads((tmp_path / "x.pkl").read_bytes())
    assert marker.exists()
    assert sorted(seed_index.manifest["files"]) + ["manifest.json"] == sorted(INDEX_FILES)


@pytest.mark.parametrize("name", INDEX_FILES)
def test_a_tampered_index_file_is_refused_by_the_cli_naming_it_and_runs_no_code(
        tmp_path: Path, seed_index: Index, name: str) -> None:
    marker = tmp_path / "ran"
    ways = {"truncated": "search", "pickle": "ask", "pickle, hash forged": "ask"}
    if name.endswith((".json", ".jsonl")):
        ways["JSON of another shape, hash forged"] = "search"
    for how in ways:
        folder = tmp_path / how
        shutil.copytree(seed_index.folder, folder)
        path = folder / name
        if how == "truncated":
            path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
        elif how.startswith("JSON"):
            path.write_text(json.dumps({"format": "veille-index/1", "model": [], "files": [], "ids": {"1": 2}}))
        else:
            _plant(path, marker)
        if how.endswith("forged") and name != "manifest.json":  # the manifest agrees: the parsers meet the payload
            manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
            manifest["files"][name] = sha256_file(path)
            (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with ThreadPoolExecutor(len(ways)) as pool:  # one `veille` process per way, side by side
        procs = dict(zip(ways, pool.map(lambda how: run(ways[how], BLINKEN_Q, "--index", str(tmp_path / how),
                                                        index=seed_index), ways), strict=True))
    for how, proc in procs.items():
        named = name.split("/")[0] if how.endswith("forged") else Path(name).name  # keyword/ names its folder
        assert proc.returncode == 1 and "Traceback" not in proc.stderr, (how, proc.stderr)
        assert named in proc.stderr and "veille index build" in proc.stderr, (how, proc.stderr)
    assert not marker.exists(), f"loading a tampered {name} ran code from the index folder"


# -- 6. a burst at the UI
def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("ui_burst", ROOT / "bench" / "ui_burst.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["ui_burst"] = module  # its dataclass looks itself up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def ui(tmp_path_factory: pytest.TempPathFactory, seed_dirs: tuple[Path, Path], settings, embedder) -> Iterator[tuple]:  # noqa: ANN001
    """The real `veille serve` over a private copy of the seed index, and the bench that fires the burst."""
    base = tmp_path_factory.mktemp("ui")
    corpus, index = base / "corpus", base / "index"
    shutil.copytree(seed_dirs[0], corpus)
    shutil.copytree(seed_dirs[1], index)
    build_index(corpus, index, settings=replace(settings, corpus=corpus, index=index), embedder=embedder)
    bench = _bench()
    with bench.serve(index, {"VEILLE_MODELS_DIR": str(settings.models_dir), "VEILLE_THREADS": "1"}) as url:
        yield bench, url, corpus


def test_a_burst_of_concurrent_questions_gets_every_answer_cited_or_properly_abstained(
        ui: tuple, seed_index: Index) -> None:
    bench, url, corpus = ui
    items = bench.burst_questions(32)
    assert sum(item["kind"] == "unanswerable" for item in items) >= 3
    results, _ = bench.burst(url, items, threads=4)
    assert [r.error for r in results if r.error] == []
    for r in results:
        answer, unanswerable = r.answer, r.item["kind"] == "unanswerable"
        assert answer["abstained"] == unanswerable, (r.item["question"], answer["answer"])
        assert unanswerable or ("[1]" in answer["answer"] and answer["citations"])
        for c in answer["citations"]:
            assert (corpus / c["source"]).read_bytes().decode("utf-8")[c["start"] : c["end"]] == c["text"]
        alone = seed_index.ask(r.item["question"])  # the same answer as when asked alone: no cross-talk
        assert answer["answer"] == alone.text
        assert [c["source"] for c in answer["citations"]] == [c.source for c in alone.citations]
