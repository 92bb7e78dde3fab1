"""The bfloat16 backend (VEILLE_BACKEND=torch-bf16, what "auto" picks on a CPU with AVX-512 BF16 or AMX):
the same vectors as fp32 to a cosine of 0.999, another name and checksum, never mixed with fp32 in one index."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from veille import IndexMismatchError, build_index, embed, open_index
from veille.embed import SentenceTransformerEmbedder, resolve_backend
from veille.index import default_embedder
from veille.settings import Settings

# bench/gemma_speed.py: over 192 news chunks the lowest cosine to fp32 was 0.9998 (Gemma) and 1.0000 (e5).
MIN_COSINE = 0.999
TEXTS = ["Le chef de la diplomatie américaine a indiqué jeudi que 8.000 soldats nord-coréens ont été déployés.",
         "combien de soldats selon Blinken ?", "🏥", "Un article très long. " * 100]


@pytest.fixture(scope="module")
def both(settings: Settings) -> tuple[SentenceTransformerEmbedder, SentenceTransformerEmbedder]:
    fp32, bf16 = (default_embedder(replace(settings, backend=b)) for b in ("torch", "torch-bf16"))
    assert isinstance(fp32, SentenceTransformerEmbedder) and isinstance(bf16, SentenceTransformerEmbedder)
    return fp32, bf16


@pytest.mark.parametrize("kind", ["query", "document"])
def test_bf16_vectors_are_unit_vectors_close_to_fp32(both, kind: str) -> None:  # noqa: ANN001
    fp32, bf16 = both
    ours, theirs = bf16.embed_batch(TEXTS, kind), fp32.embed_batch(TEXTS, kind)
    assert ours.dtype == np.float32 and ours.shape == theirs.shape
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)  # renormalised in float32
    assert (ours * theirs).sum(axis=1).min() > MIN_COSINE


def test_bf16_has_its_own_name_and_checksum(both) -> None:  # noqa: ANN001
    fp32, bf16 = both
    assert bf16.name == f"{fp32.name} (bf16)" and bf16.checksum != fp32.checksum


def test_auto_is_bf16_only_where_the_cpu_computes_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embed, "native_bf16", lambda: True)
    assert resolve_backend("auto") == "torch-bf16"
    monkeypatch.setattr(embed, "native_bf16", lambda: False)
    assert resolve_backend("auto") == "torch"
    assert resolve_backend("onnx-int8") == "onnx-int8" and resolve_backend("torch-bf16") == "torch-bf16"


def test_an_index_built_in_fp32_is_refused_in_bf16_with_the_fix(tmp_path: Path, settings: Settings, both) -> None:  # noqa: ANN001
    fp32, bf16 = both
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    shutil.copy(sorted(Path(settings.corpus).glob("*.txt"))[0], corpus)
    s = replace(settings, corpus=corpus, index=index, backend="torch")
    build_index(corpus, index, settings=s, embedder=fp32)
    with pytest.raises(IndexMismatchError, match=r"VEILLE_BACKEND=torch to answer from it.*veille index build"):
        open_index(index, settings=replace(s, backend="torch-bf16"), embedder=bf16)
    report = build_index(corpus, index, settings=replace(s, backend="torch-bf16"), embedder=bf16)
    assert report.embedded_chunks == report.total_chunks > 0  # rebuilt whole, never a mix of the two
    assert open_index(index, settings=replace(s, backend="torch-bf16"), embedder=bf16).search("Koursk", k=1)
