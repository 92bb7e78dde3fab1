"""Settings: a VEILLE_* variable veille cannot use is refused once, by name, with the fix."""

from __future__ import annotations

from dataclasses import replace

import pytest

from helpers import run
from veille import Index
from veille.errors import InputError
from veille.settings import load_settings


@pytest.mark.parametrize(("name", "value", "says"), [
    ("VEILLE_K", "abc", "VEILLE_K='abc' is not a whole number"),
    ("VEILLE_DENSE_WEIGHT", "half", "VEILLE_DENSE_WEIGHT='half' is not a number"),
    ("VEILLE_FUSION", "borda", "set VEILLE_FUSION to 'zscore' or 'rrf'"),
    ("VEILLE_STORE", "qdrant", "set VEILLE_STORE to 'faiss' or 'milvus'"),
    ("VEILLE_BACKEND", "cuda", "set VEILLE_BACKEND to 'auto' or 'torch' or 'torch-bf16' or 'onnx-int8'"),
    ("VEILLE_THREADS", "0", "threads must be at least 1, not 0"),
    ("VEILLE_DENSE_WEIGHT", "1.5", "dense_weight must be between 0.0 and 1.0, not 1.5"),
    ("VEILLE_ANN_RECALL", "98", "ann_recall must be between 0.5 and 1.0, not 98.0"),
])
def test_an_unusable_variable_is_refused_by_name(monkeypatch: pytest.MonkeyPatch, name: str, value: str,
                                                 says: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(InputError, match=says.replace("(", r"\(").replace(".", r"\.")):
        load_settings()


def test_usable_variables_and_overrides_are_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VEILLE_K", "3")
    monkeypatch.setenv("VEILLE_FUSION", "rrf")
    monkeypatch.setenv("VEILLE_DENSE_WEIGHT", "0.7")
    settings = load_settings(k=4)
    assert (settings.k, settings.fusion, settings.dense_weight) == (4, "rrf", 0.7)
    assert settings.fusion_dense_weight == 0.7
    with pytest.raises(InputError, match="unknown fusion 'borda'"):
        replace(settings, fusion="borda")


def test_the_dense_weight_is_the_models_own_unless_set() -> None:
    """Each embedding model fuses at the dense weight chosen for it on PIAF dev; a set weight wins."""
    e5, gemma = (load_settings(model_name=m) for m in ("multilingual-e5-small", "embeddinggemma-300m"))
    assert (e5.fusion_dense_weight, gemma.fusion_dense_weight) == (0.5, 0.6)
    assert replace(gemma, dense_weight=0.3).fusion_dense_weight == 0.3


def test_the_cli_says_which_variable_in_one_line(monkeypatch: pytest.MonkeyPatch, seed_index: Index) -> None:
    monkeypatch.setenv("VEILLE_CANDIDATES", "many")
    proc = run("ask", "combien de soldats selon Blinken ?", index=seed_index)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines() == ["veille: VEILLE_CANDIDATES='many' is not a whole number; unset it "
                                                "to use 100 or give a whole number"]


def test_rrf_fusion_answers_with_its_citation(monkeypatch: pytest.MonkeyPatch, seed_index: Index) -> None:
    monkeypatch.setenv("VEILLE_FUSION", "rrf")
    proc = run("ask", "combien de soldats selon Blinken ?", index=seed_index)
    assert proc.returncode == 0, proc.stderr
    assert "10.000" in proc.stdout and "[1]" in proc.stdout and "004_b5e3709a28e5c677.txt" in proc.stdout
