"""The int8 ONNX backend (VEILLE_BACKEND=onnx-int8): close to torch, and never mixed with it in one index.

Runs when the int8 model has been built (`make onnx`, which `make test` does); skipped otherwise.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from veille import IndexMismatchError, ModelError, build_index, open_index
from veille.embed import SentenceTransformerEmbedder
from veille.index import default_embedder
from veille.settings import Settings

# Measured with bench/onnx_int8.py: the lowest cosine was 0.992 over 500 news chunks and 0.989 over 1,000
# PIAF questions (means 0.997); these sentences give 0.995 and more. Inputs no user sends (an empty string,
# one sentence repeated 100 times) drift further, to about 0.98, and are held to a looser bound.
MIN_COSINE, MIN_COSINE_ODD = 0.985, 0.95
LONG_ARTICLE = sorted((Path(__file__).resolve().parents[1] / "seeds").glob("*.txt"))[0].read_text(encoding="utf-8")
TEXTS = [
    "Le chef de la diplomatie américaine a indiqué jeudi que 8.000 soldats nord-coréens ont été déployés.",
    "combien de soldats selon Blinken ?",
    "« C'est notre affaire », a déclaré Vladimir Poutine devant la presse à Moscou.",
    "Le budget 2025 prévoit 3,2 milliards d'euros pour l'hôpital public 🏥, selon Bercy.",
    LONG_ARTICLE,  # beyond 512 tokens: both sides truncate the same way
]


@pytest.fixture(scope="module")
def int8(e5_settings: Settings) -> SentenceTransformerEmbedder:
    if importlib.util.find_spec("onnxruntime") is None:  # not imported here: veille imports it telemetry off
        pytest.skip("onnxruntime is not installed: run `make onnx`")
    if not (e5_settings.model_path / "onnx" / "veille-onnx.json").is_file():
        pytest.skip("no int8 ONNX model: run `make onnx`")
    embedder = default_embedder(replace(e5_settings, backend="onnx-int8"))
    assert isinstance(embedder, SentenceTransformerEmbedder)
    return embedder


@pytest.fixture(scope="module")
def torch_embedder(e5_settings: Settings) -> SentenceTransformerEmbedder:
    """e5 on the torch backend (float32) whatever VEILLE_BACKEND says."""
    embedder = default_embedder(replace(e5_settings, backend="torch"))
    assert isinstance(embedder, SentenceTransformerEmbedder)
    return embedder


@pytest.mark.parametrize("kind", ["query", "document"])
def test_int8_vectors_agree_with_torch(int8: SentenceTransformerEmbedder, torch_embedder: SentenceTransformerEmbedder,
                                        kind: str) -> None:
    ours, theirs = int8.embed_batch(TEXTS, kind), torch_embedder.embed_batch(TEXTS, kind)
    assert ours.shape == theirs.shape == (len(TEXTS), torch_embedder.dimension)
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    cosines = (ours * theirs).sum(axis=1)
    assert cosines.min() > MIN_COSINE, cosines


@pytest.mark.parametrize("text", ["", "🏥", "Un article très long. " * 100])
def test_odd_inputs_still_give_close_unit_vectors(int8: SentenceTransformerEmbedder,
                                                  torch_embedder: SentenceTransformerEmbedder, text: str) -> None:
    for kind in ("query", "document"):
        ours, theirs = int8.embed_batch([text], kind)[0], torch_embedder.embed_batch([text], kind)[0]
        assert np.isfinite(ours).all() and abs(np.linalg.norm(ours) - 1.0) < 1e-5
        assert float(ours @ theirs) > MIN_COSINE_ODD


def test_the_backends_have_different_names_and_checksums(int8: SentenceTransformerEmbedder,
                                                         torch_embedder: SentenceTransformerEmbedder) -> None:
    assert int8.checksum != torch_embedder.checksum
    assert "onnx-int8" in int8.name and "onnx-int8" not in torch_embedder.name


def test_an_index_built_by_torch_is_refused_by_int8(tmp_path: Path, e5_settings: Settings,
                                                     int8: SentenceTransformerEmbedder,
                                                     torch_embedder: SentenceTransformerEmbedder) -> None:
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    shutil.copy(sorted(Path(e5_settings.corpus).glob("*.txt"))[0], corpus)
    s = replace(e5_settings, corpus=corpus, index=index, backend="torch")
    build_index(corpus, index, settings=s, embedder=torch_embedder)
    with pytest.raises(IndexMismatchError, match=r"onnx-int8.*veille index build"):
        open_index(index, settings=replace(s, backend="onnx-int8"), embedder=int8)


def test_an_index_built_by_int8_is_refused_by_torch(tmp_path: Path, e5_settings: Settings,
                                                     int8: SentenceTransformerEmbedder,
                                                     torch_embedder: SentenceTransformerEmbedder) -> None:
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    for path in sorted(Path(e5_settings.corpus).glob("*.txt"))[:1]:
        shutil.copy(path, corpus)
    s = replace(e5_settings, corpus=corpus, index=index, backend="onnx-int8")
    build_index(corpus, index, settings=s, embedder=int8)
    assert open_index(index, settings=s, embedder=int8).search("Koursk", k=1)
    with pytest.raises(IndexMismatchError, match=r"built with model multilingual-e5-small \(onnx-int8\).*veille index"):
        open_index(index, settings=replace(s, backend="torch"), embedder=torch_embedder)


def test_building_the_int8_model_again_does_nothing(int8: SentenceTransformerEmbedder, e5_settings: Settings) -> None:
    from veille.onnx_int8 import build_onnx_int8

    assert build_onnx_int8(e5_settings.model_path) is False


def test_an_unknown_backend_says_which_ones_exist(e5_settings: Settings) -> None:
    with pytest.raises(ModelError, match="auto, torch, torch-bf16, onnx-int8"):
        SentenceTransformerEmbedder(e5_settings.model_path, backend="openvino")


def test_onnxruntime_is_told_to_keep_its_telemetry_off(int8: SentenceTransformerEmbedder) -> None:
    int8.embed_query("Koursk")
    assert os.environ.get("ORT_DISABLE_TELEMETRY") == "1"


def test_importing_veille_loads_no_onnxruntime() -> None:
    code = "import sys, veille; assert 'onnxruntime' not in sys.modules and 'onnx' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
