"""The Milvus store behind the same interface: the same answers as FAISS, incremental builds, what a crashed
build leaves, and export/import between the stores. milvus-lite in this process, the real model."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from helpers import ITEMS, check_golden, golden_params
from veille import Answer, Index, IndexMismatchError, InputError, build_index, export_index, import_index, open_index
from veille.milvus import MilvusStore
from veille.settings import Settings

SEEDS = Path(__file__).resolve().parents[1] / "seeds"
CHANGED, REMOVED = "001_567d18c58954b188.txt", "002_b8ce6e8f7f721623.txt"
JAPON = (  # three paragraphs: several chunks, so that a crashed build leaves several orphan vectors
    "Le Japon renforce sa défense antimissile\n\n"
    "Le gouvernement japonais a annoncé mercredi l’achat de 400 missiles Tomahawk pour renforcer sa défense "
    "face à la Corée du Nord. Le ministre de la Défense, Minoru Kihara, a présenté le plan à Tokyo devant "
    "la commission parlementaire chargée de la sécurité. Les premiers missiles doivent être livrés l’an "
    "prochain, et les équipages des destroyers Aegis seront formés aux États-Unis.\n\n"
    "Selon le ministère, le budget de la défense atteindra 2 % du produit intérieur brut d’ici trois ans, "
    "un doublement par rapport à la décennie précédente. L’opposition a dénoncé une rupture avec la "
    "tradition pacifiste de l’après-guerre, tandis que le patronat a salué des commandes pour les chantiers "
    "navals de Nagasaki et de Kobe.\n\n"
    "À Pyongyang, l’agence officielle KCNA a qualifié l’annonce de provocation dangereuse. Des analystes "
    "sud-coréens estiment que la Corée du Nord pourrait répondre par de nouveaux essais de missiles "
    "balistiques en mer du Japon dans les prochaines semaines.\n"
)


class Killed(BaseException):
    """A build killed at some point: nothing after it runs (BaseException, so no handler swallows it)."""


BREVE = "Une brève\n\nLe port de Busan a rouvert jeudi après le passage du typhon, selon les autorités locales.\n"


def _settings(settings: Settings, folder: Path, corpus: Path, store: str) -> Settings:
    return replace(settings, corpus=corpus, index=folder, store=store)


@pytest.fixture(scope="session")
def milvus_seed(tmp_path_factory: pytest.TempPathFactory, settings: Settings, embedder) -> Index:  # noqa: ANN001
    """The seeds built into Milvus (a milvus-lite file beside the index folder), once for the session."""
    base = tmp_path_factory.mktemp("milvus-seed")
    corpus, folder = base / "corpus", base / "index"
    shutil.copytree(SEEDS, corpus)
    s = _settings(settings, folder, corpus, "milvus")
    build_index(corpus, folder, settings=s, embedder=embedder)
    return open_index(folder, settings=s, embedder=embedder)


@pytest.fixture(scope="session")
def stores(seed_index: Index, milvus_seed: Index) -> dict[str, Index]:
    return {"faiss": seed_index, "milvus": milvus_seed}


@pytest.fixture(scope="session")
def faiss_answers(seed_index: Index) -> dict[str, Answer]:
    """The FAISS index's answer to every golden question: what the Milvus indexes must say too."""
    return {item.question: seed_index.ask(item.question) for item in ITEMS}


@pytest.fixture(scope="session")
def faiss_archive(tmp_path_factory: pytest.TempPathFactory, seed_index: Index) -> Path:
    file = tmp_path_factory.mktemp("export") / "seeds.tar"
    export_index(file, seed_index.folder, settings=seed_index.settings)
    return file


@pytest.fixture
def own_milvus(tmp_path: Path, seed_dirs: tuple[Path, Path], faiss_archive: Path, settings: Settings,
               embedder) -> Index:  # noqa: ANN001
    """A private Milvus copy of the seed index, imported from the FAISS export: nothing is embedded."""
    corpus, folder = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(seed_dirs[0], corpus)
    s = _settings(settings, folder, corpus, "milvus")
    before = embedder.documents_embedded
    import_index(faiss_archive, folder, corpus=corpus, settings=s, embedder=embedder)
    assert embedder.documents_embedded == before
    return open_index(folder, settings=s, embedder=embedder)


def _reopen(index: Index) -> Index:
    return open_index(index.folder, settings=index.settings, embedder=index.embedder)


def _in_milvus(index: Index) -> int:
    """How many vectors the index's collection holds, orphans included."""
    store = index._state.store
    assert isinstance(store, MilvusStore)
    return store._count()


def _dense_sources(index: Index, text: str, k: int = 64) -> set[str]:
    return {index.chunks[i].source for i, _ in index._state.store.search(index.embedder.embed_query(text), k)}


# -- the same answers


@pytest.mark.parametrize("item", golden_params())
@pytest.mark.parametrize("kind", ["faiss", "milvus"])
def test_golden_question_on_each_store(stores: dict[str, Index], kind: str, item) -> None:  # noqa: ANN001
    check_golden(stores[kind], item)


def test_both_stores_give_the_same_answers_and_the_same_scores(stores: dict[str, Index],
                                                              faiss_answers: dict[str, Answer]) -> None:
    faiss, milvus = stores["faiss"], stores["milvus"]
    for item in ITEMS:
        a, b = faiss_answers[item.question], milvus.ask(item.question)
        assert a.text == b.text, item.question
        assert [(c.source, c.start, c.end, c.quote) for c in a.citations] == \
            [(c.source, c.start, c.end, c.quote) for c in b.citations]
        query = faiss.embedder.embed_query(item.question)
        dense_a, dense_b = faiss._state.store.search(query, 10), milvus._state.store.search(query, 10)
        assert [i for i, _ in dense_a] == [i for i, _ in dense_b]
        assert np.allclose([s for _, s in dense_a], [s for _, s in dense_b], atol=1e-5)


def test_a_milvus_index_keeps_its_vectors_beside_the_folder_and_says_where(milvus_seed: Index) -> None:
    described = milvus_seed.manifest["vector_store"]
    assert described["kind"] == "milvus" and described["metric"] == "IP"
    assert Path(described["uri"]) == milvus_seed.folder.parent / "index.milvus.db"
    info = json.loads((milvus_seed.folder / "milvus.json").read_text())
    assert info["collection"] == described["collection"] and info["count"] == len(milvus_seed.chunks)
    assert "milvus.json" in milvus_seed.manifest["files"] and "faiss.index" not in milvus_seed.manifest["files"]
    assert _in_milvus(milvus_seed) == len(milvus_seed.chunks)


# -- incremental builds


def test_an_incremental_build_embeds_only_what_changed_and_forgets_the_removed(own_milvus: Index) -> None:
    corpus = own_milvus.corpus
    (corpus / "japon.txt").write_text(JAPON, encoding="utf-8")
    (corpus / CHANGED).write_text((corpus / CHANGED).read_text(encoding="utf-8") + "\nUne phrase ajoutée.\n",
                                  encoding="utf-8")
    (corpus / REMOVED).unlink()
    before = own_milvus.embedder.documents_embedded
    report = own_milvus.update()
    assert (report.added, report.updated, report.removed) == (("japon.txt",), (CHANGED,), (REMOVED,))
    fresh = [c for c in own_milvus.chunks.values() if c.source in ("japon.txt", CHANGED)]
    assert report.embedded_chunks == len(fresh) == own_milvus.embedder.documents_embedded - before
    assert own_milvus.search("combien de missiles Tomahawk le Japon achète-t-il ?", 1)[0].chunk.source == "japon.txt"
    assert REMOVED not in _dense_sources(own_milvus, "Jusqu'à combien de soldats le contingent pourrait-il s'étendre ?")
    assert _in_milvus(own_milvus) == len(own_milvus.chunks)  # the removed article's vectors are deleted


def test_a_reader_of_the_old_index_finds_removed_chunks_until_the_new_index_is_in_place(
    own_milvus: Index, monkeypatch: pytest.MonkeyPatch
) -> None:
    reader = _reopen(own_milvus)  # another reader of the same index, say the UI
    question = "Jusqu'à combien de soldats le contingent nord-coréen pourrait-il s'étendre ?"
    seen_before_swap: list[set[str]] = []

    def failpoint(name: str) -> None:
        if name == "after-write":  # the new folder is written, not yet swapped in
            seen_before_swap.append(_dense_sources(reader, question))

    monkeypatch.setattr("veille.store._failpoint", failpoint)
    (own_milvus.corpus / REMOVED).unlink()
    own_milvus.update()
    assert REMOVED in seen_before_swap[0]
    assert REMOVED not in _dense_sources(reader, question)  # deleted once the swap was done


# -- what a build that died leaves behind


def test_orphans_of_a_build_that_died_before_its_swap_are_ignored_then_deleted(
    own_milvus: Index, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(name: str) -> None:
        if name == "after-write":
            raise Killed  # the vectors are in Milvus, the index folder is not swapped

    (own_milvus.corpus / "japon.txt").write_text(JAPON, encoding="utf-8")
    with monkeypatch.context() as m:
        m.setattr("veille.store._failpoint", crash)
        with pytest.raises(Killed):
            own_milvus.update()
    old = _reopen(own_milvus)
    assert _in_milvus(old) > len(old.chunks)  # the orphans are there...
    assert "japon.txt" not in _dense_sources(old, JAPON)  # ...and a search skips them
    assert old.search("combien de missiles Tomahawk le Japon achète-t-il ?", 3)
    (old.corpus / "japon.txt").unlink()  # the next build has other work: a one-chunk article, fewer ids
    (old.corpus / "breve.txt").write_text(BREVE, encoding="utf-8")
    report = old.update()
    assert report.added == ("breve.txt",) and _in_milvus(old) == len(old.chunks)
    assert old.search("Quand le port de Busan a-t-il rouvert ?", 1)[0].chunk.source == "breve.txt"


def test_vectors_a_build_that_died_before_its_deletes_left_are_ignored_then_deleted(
    own_milvus: Index, monkeypatch: pytest.MonkeyPatch
) -> None:
    def die(self: MilvusStore) -> None:
        raise Killed  # the new index is in place, the removed article's vectors are not deleted

    (own_milvus.corpus / REMOVED).unlink()
    with monkeypatch.context() as m:
        m.setattr(MilvusStore, "commit", die)
        with pytest.raises(Killed):
            own_milvus.update()
    new = _reopen(own_milvus)
    assert REMOVED not in new.manifest["articles"] and _in_milvus(new) > len(new.chunks)
    assert REMOVED not in _dense_sources(new, "Jusqu'à combien de soldats le contingent pourrait-il s'étendre ?")
    (new.corpus / "breve.txt").write_text(BREVE, encoding="utf-8")
    new.update()
    assert _in_milvus(new) == len(new.chunks)


def test_an_index_whose_collection_is_gone_is_refused_with_the_fix(own_milvus: Index) -> None:
    store = own_milvus._state.store
    assert isinstance(store, MilvusStore)
    store.client.drop_collection(store.collection)
    with pytest.raises(IndexMismatchError, match="does not exist.*veille index build"):
        _reopen(own_milvus)


def test_a_second_process_is_told_that_milvus_lite_is_busy(own_milvus: Index) -> None:
    env = {**os.environ, "VEILLE_MODELS_DIR": str(own_milvus.settings.models_dir)}
    proc = subprocess.run([sys.executable, "-m", "veille.cli", "search", "Koursk", "--index", str(own_milvus.folder)],
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1 and "one process at a time" in proc.stderr and "VEILLE_MILVUS_URI" in proc.stderr


# -- export and import


def test_export_from_faiss_then_import_into_milvus_gives_the_same_answers(
    own_milvus: Index, faiss_answers: dict[str, Answer]
) -> None:
    assert own_milvus.manifest["vector_store"]["kind"] == "milvus" and "imported" in own_milvus.manifest
    for item in ITEMS:
        assert own_milvus.ask(item.question).text == faiss_answers[item.question].text, item.question


def test_export_from_milvus_holds_the_very_vectors_faiss_holds(milvus_seed: Index, seed_index: Index,
                                                              tmp_path: Path) -> None:
    export_index(tmp_path / "m.tar", milvus_seed.folder, settings=milvus_seed.settings)
    with tarfile.open(tmp_path / "m.tar") as tar:
        ids = np.load(io.BytesIO(tar.extractfile("ids.npy").read()), allow_pickle=False)
        vectors = np.load(io.BytesIO(tar.extractfile("vectors.npy").read()), allow_pickle=False)
    faiss_ids, faiss_vectors = seed_index._state.store.vectors()
    order = np.argsort(faiss_ids)
    assert ids.tolist() == faiss_ids[order].tolist() == sorted(milvus_seed.chunks)
    assert np.allclose(vectors, faiss_vectors[order], atol=1e-6)


def _rewrite(archive: Path, dest: Path, change: Callable[[dict[str, bytes]], None], digests: bool = True) -> Path:
    """A copy of the archive with `change` applied to its members (and export.json's digests kept in step)."""
    import hashlib

    with tarfile.open(archive) as tar:
        blobs = {m.name: tar.extractfile(m).read() for m in tar}
    change(blobs)
    if digests:
        export = json.loads(blobs["export.json"])
        export["files"] = {n: hashlib.sha256(b).hexdigest() for n, b in blobs.items() if n != "export.json"}
        blobs["export.json"] = json.dumps(export).encode()
    with tarfile.open(dest, "w") as tar:
        for name, data in blobs.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return dest


def _npy(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


def _load(data: bytes) -> np.ndarray:
    return np.load(io.BytesIO(data), allow_pickle=False)


def _one_chunk_fewer(blobs: dict[str, bytes]) -> None:
    blobs["ids.npy"], blobs["vectors.npy"] = _npy(_load(blobs["ids.npy"])[1:]), _npy(_load(blobs["vectors.npy"])[1:])


def _other_model(blobs: dict[str, bytes]) -> None:
    manifest = json.loads(blobs["manifest.json"])
    manifest["model"]["checksum"] = "0" * 64
    blobs["manifest.json"] = json.dumps(manifest).encode()


BAD_ARCHIVES: dict[str, tuple[Callable[[dict[str, bytes]], None], bool, type[Exception], str]] = {
    "edited vectors": (lambda b: b.update({"vectors.npy": b["vectors.npy"][:-4] + b"\0\0\0\0"}), False,
                       InputError, "vectors.npy does not match its sha256"),
    "another model": (_other_model, True, IndexMismatchError, "another.*veille index build"),
    "a missing member": (lambda b: b.pop("ids.npy"), True, InputError, "lacks ids.npy"),
    "a path out of the folder": (lambda b: b.update({"keyword/../../evil": b"x"}), True, InputError,
                                 "no veille export"),
    "a chunk without its vector": (_one_chunk_fewer, True, InputError, "do not match"),
    "vectors not unit length": (lambda b: b.update({"vectors.npy": _npy(2 * _load(b["vectors.npy"]))}), True,
                                InputError, "unit length"),
}


@pytest.mark.parametrize("case", list(BAD_ARCHIVES))
def test_a_bad_archive_is_refused_saying_what_is_wrong_and_nothing_is_written(
    case: str, faiss_archive: Path, tmp_path: Path, seed_index: Index
) -> None:
    change, digests, error, message = BAD_ARCHIVES[case]
    bad = _rewrite(faiss_archive, tmp_path / "bad.tar", change, digests)
    folder = tmp_path / "index"
    with pytest.raises(error, match=message):
        import_index(bad, folder, corpus=seed_index.corpus, settings=replace(seed_index.settings, index=folder),
                     embedder=seed_index.embedder)
    assert not folder.exists()


def test_export_and_import_on_the_command_line(faiss_archive: Path, tmp_path: Path, seed_index: Index) -> None:
    env = {**os.environ, "VEILLE_MODELS_DIR": str(seed_index.settings.models_dir), "VEILLE_STORE": "milvus"}

    def veille(*args: str) -> subprocess.CompletedProcess[str]:
        command = args if args[0] == "ask" else ("index", *args)
        return subprocess.run([sys.executable, "-m", "veille.cli", *command], env=env, capture_output=True,
                              text=True, timeout=300)

    (tmp_path / "junk.tar").write_bytes(b"not an archive")
    proc = veille("import", str(tmp_path / "junk.tar"), "--index", str(tmp_path / "bad"))
    assert proc.returncode == 1 and "veille: " in proc.stderr and "veille index export" in proc.stderr
    folder = tmp_path / "index"
    proc = veille("import", str(faiss_archive), "--index", str(folder), "--corpus", str(seed_index.corpus), "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["store"] == "milvus"
    proc = veille("export", str(tmp_path / "again.tar"), "--index", str(folder), "--json")
    assert proc.returncode == 0 and json.loads(proc.stdout)["chunks"] == len(seed_index.chunks)
    # milvus-lite's in-process server logs a traceback for a call it does not implement: not on the user's terminal
    proc = veille("ask", "combien de soldats selon Blinken ?", "--index", str(folder))
    assert proc.returncode == 0 and "10.000" in proc.stdout and "[1]" in proc.stdout, proc.stderr
    assert "Traceback" not in proc.stderr and "grpc" not in proc.stderr, proc.stderr
    imported = open_index(folder, settings=replace(seed_index.settings, index=folder, store="milvus"),
                          embedder=seed_index.embedder)
    question = "combien de soldats selon Blinken ?"
    assert imported.ask(question).text == seed_index.ask(question).text
