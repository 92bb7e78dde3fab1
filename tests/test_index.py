"""The index: retrieval on the seeds, incremental builds, crash safety, and refusing a bad index."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from veille import Index, IndexBusyError, IndexMismatchError, IndexMissingError, InputError, build_index, open_index
from veille.embed import resolve_backend
from veille.store import locked

BLINKEN = "004_b5e3709a28e5c677.txt"
NEW_ARTICLE = (
    "Le Japon renforce sa défense antimissile\n\n"
    "Le gouvernement japonais a annoncé mercredi l’achat de 400 missiles Tomahawk pour renforcer sa défense "
    "face à la Corée du Nord. Le ministre de la Défense, Minoru Kihara, a présenté le plan à Tokyo.\n"
)


def test_the_blinken_question_puts_the_blinken_passage_of_004_first(seed_index: Index) -> None:
    hits = seed_index.search("combien de soldats selon Blinken ?", 5)
    assert hits[0].chunk.source == BLINKEN
    assert "Blinken" in hits[0].chunk.text and "10.000" in hits[0].chunk.text


def test_every_indexed_chunk_slices_back_out_of_its_corpus_file(seed_index: Index) -> None:
    for c in seed_index.chunks.values():
        assert (seed_index.corpus / c.source).read_bytes().decode("utf-8")[c.start : c.end] == c.text


def test_status_counts_articles_and_chunks(seed_index: Index) -> None:
    status = seed_index.status()
    assert status["articles"] == 5 and status["chunks"] == len(seed_index.chunks) > 20
    # "auto" runs bfloat16 on a CPU that computes in it natively, and the model's name says so
    bf16 = resolve_backend(seed_index.settings.backend) == "torch-bf16"
    name = seed_index.settings.model_name  # embeddinggemma-300m unless VEILLE_MODEL says otherwise
    assert status["model"] == (f"{name} (bf16)" if bf16 else name)
    assert status["dimension"] == {"embeddinggemma-300m": 768, "multilingual-e5-small": 384}[name]


def test_adding_one_article_embeds_only_that_article(own_index: Index, tmp_path: Path) -> None:
    new = tmp_path / "japon.txt"
    new.write_text(NEW_ARTICLE, encoding="utf-8")
    before = own_index.embedder.documents_embedded
    report = own_index.add([new])
    new_chunks = [c for c in own_index.chunks.values() if c.source == "japon.txt"]
    assert report.added == ("japon.txt",) and not report.updated and not report.removed
    assert report.embedded_chunks == len(new_chunks) == own_index.embedder.documents_embedded - before
    assert own_index.search("combien de missiles Tomahawk le Japon achète-t-il ?", 1)[0].chunk.source == "japon.txt"


def test_an_unchanged_corpus_embeds_nothing_and_keeps_the_index_files(own_index: Index) -> None:
    stamp = (own_index.folder / "manifest.json").stat().st_mtime_ns
    report = own_index.update()
    assert report.embedded_chunks == 0 and report.unchanged == 5
    assert (own_index.folder / "manifest.json").stat().st_mtime_ns == stamp


def test_an_index_from_before_words_json_answers_and_is_rewritten_once_without_embedding(own_index: Index) -> None:
    folder = own_index.folder
    (folder / "keyword" / "words.json").unlink()  # as an index built before words.json has it
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    del manifest["files"]["keyword/words.json"]
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    old = open_index(folder, settings=own_index.settings, embedder=own_index.embedder)
    assert old._state.keyword.spelled == own_index._state.keyword.spelled  # listed from its chunks
    assert old.ask("combien de soldats selon Blinken ?").citations[0].source == BLINKEN
    report = old.update()
    assert report.embedded_chunks == 0 and (folder / "keyword" / "words.json").is_file()
    assert old.update().embedded_chunks == 0 and "keyword/words.json" in old.manifest["files"]


def test_a_changed_article_is_re_embedded_and_a_deleted_one_dropped(own_index: Index) -> None:
    corpus = own_index.corpus
    path = corpus / "001_567d18c58954b188.txt"
    path.write_text(path.read_text(encoding="utf-8") + "\nUne phrase ajoutée à la fin.\n", encoding="utf-8")
    (corpus / "002_b8ce6e8f7f721623.txt").unlink()
    report = own_index.update()
    assert report.updated == ("001_567d18c58954b188.txt",) and report.removed == ("002_b8ce6e8f7f721623.txt",)
    assert report.embedded_chunks == sum(1 for c in own_index.chunks.values() if c.source.startswith("001"))
    assert not any(c.source.startswith("002") for c in own_index.chunks.values())
    assert len(own_index._state.store) == len(own_index.chunks)


def test_removing_an_article_keeps_its_file_aside(own_index: Index) -> None:
    report = own_index.remove(["000_d899a9611e8e4f52.txt"])
    assert report.removed == ("000_d899a9611e8e4f52.txt",)
    assert (own_index.corpus / ".removed" / "000_d899a9611e8e4f52.txt").is_file()
    with pytest.raises(InputError, match="not in the index"):
        own_index.remove(["nope.txt"])


@pytest.mark.parametrize("point", ["after-write", "mid-swap"])
def test_a_build_killed_half_way_leaves_the_old_index_loadable(own_index: Index, tmp_path: Path, point: str) -> None:
    (own_index.corpus / "japon.txt").write_text(NEW_ARTICLE, encoding="utf-8")
    env = {**os.environ, "VEILLE_FAILPOINT": point, "VEILLE_MODELS_DIR": str(own_index.settings.models_dir)}
    cmd = [sys.executable, "-m", "veille.cli", "index", "build", "--corpus", str(own_index.corpus),
           "--index", str(own_index.folder)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == -9, proc.stderr  # SIGKILL at the failpoint
    again = open_index(own_index.folder, settings=own_index.settings, embedder=own_index.embedder)
    assert again.status()["articles"] == 5
    assert again.search("combien de soldats selon Blinken ?", 1)[0].chunk.source == BLINKEN
    report = build_index(own_index.corpus, own_index.folder, settings=own_index.settings, embedder=own_index.embedder)
    assert report.added == ("japon.txt",)
    leftovers = [p.name for p in own_index.folder.parent.iterdir() if ".tmp-" in p.name or ".old-" in p.name]
    assert leftovers == []


def test_a_second_build_on_the_same_folder_fails_clearly(own_index: Index) -> None:
    with locked(own_index.folder):
        with pytest.raises(IndexBusyError, match="another build"):
            build_index(own_index.corpus, own_index.folder, settings=own_index.settings, embedder=own_index.embedder)


def test_an_index_built_by_another_model_is_refused_with_the_fix(own_index: Index) -> None:
    path = own_index.folder / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["model"]["checksum"] = "0" * 64
    path.write_text(json.dumps(manifest))
    with pytest.raises(IndexMismatchError, match="veille index build"):
        open_index(own_index.folder, settings=own_index.settings, embedder=own_index.embedder)
    manifest["format"] = "veille-index/0"
    path.write_text(json.dumps(manifest))
    with pytest.raises(IndexMismatchError, match="format"):
        open_index(own_index.folder, settings=own_index.settings, embedder=own_index.embedder)


@pytest.mark.parametrize("name", ["faiss.index", "chunks.jsonl", "keyword/ids.json"])
def test_a_truncated_index_file_is_refused_naming_the_file(own_index: Index, name: str) -> None:
    path = own_index.folder / name
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(IndexMismatchError, match=f"{Path(name).name}.*veille index build"):
        open_index(own_index.folder, settings=own_index.settings, embedder=own_index.embedder)


def test_no_index_says_how_to_build_one(tmp_path: Path, own_index: Index) -> None:
    with pytest.raises(IndexMissingError, match="veille index build"):
        open_index(tmp_path / "none", settings=replace(own_index.settings, index=tmp_path / "none"),
                   embedder=own_index.embedder)


def test_uploaded_files_are_checked_before_anything_is_written(own_index: Index, tmp_path: Path) -> None:
    bad = tmp_path / "binaire.txt"
    bad.write_bytes(b"\x00\x01\x02" * 10)
    with pytest.raises(InputError, match="binary"):
        own_index.add([bad])
    assert not (own_index.corpus / "binaire.txt").exists()
    shutil.copy(own_index.corpus / "001_567d18c58954b188.txt", tmp_path / "copie.txt")
    with pytest.raises(InputError, match="copie.txt holds the same text as 001_567d18c58954b188.txt"):
        own_index.add([tmp_path / "copie.txt"])  # an indexed article's text under another name adds nothing
    assert not (own_index.corpus / "copie.txt").exists()


@pytest.mark.parametrize("name", ["../evil.txt", "a/../../evil.txt", "..", ".hidden.txt", "x\\..\\evil.txt", ""])
def test_a_file_name_that_could_leave_the_corpus_folder_is_refused(name: str) -> None:
    from veille.intake import stage_file

    with pytest.raises(InputError, match="not a usable file name"):
        stage_file(name, b"Titre\n\nUne phrase.\n", 1000)
