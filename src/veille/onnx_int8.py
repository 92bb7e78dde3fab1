"""An int8 copy of the embedding model for onnxruntime (VEILLE_BACKEND=onnx-int8), built once beside it.

sentence-transformers' own ONNX backend (`backend="onnx"`, `export_dynamic_quantized_onnx_model`) goes
through optimum-onnx, whose only releases require transformers < 4.58 (veille pins 5.23) and fail to
import with it. So veille does the two steps optimum would do, itself: `torch.onnx.export` (the
torch.export-based exporter; the same bytes on every run here) and onnxruntime's dynamic quantisation
with the settings of optimum's `AutoQuantizationConfig` for this CPU. The file is named as
sentence-transformers names it (`onnx/model_quint8_avx2.onnx`), and the encoder below reproduces its
tokenise -> mean-pool -> normalise pipeline, prompts included.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import tempfile
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from .errors import ModelError
from .files import sha256_file

log = logging.getLogger(__name__)

SUBFOLDER, MARKER_FILE = "onnx", "veille-onnx.json"
BUILD_VERSION = 1  # bump when the export or the quantisation changes, so existing copies are rebuilt
OPSET = 18
_FIX = ("build it with `veille model build --model multilingual-e5-small --onnx-int8` (after "
        "`pip install -e '.[onnx]'`, or `make onnx`)")


def _onnxruntime() -> Any:
    """onnxruntime, imported with its telemetry off.

    Its Linux wheels record a usage event (device id, OS, CPU, Python path) on every import and session
    and queue it for upload to mobile.events.data.microsoft.com; ORT_DISABLE_TELEMETRY=1, set before the
    first import, stops both (measured on 1.31.1: no new rows in ~/.cache/Microsoft/DeveloperTools).
    """
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    try:
        import onnxruntime
    except ImportError:
        raise ModelError(f"onnxruntime is not installed; {_FIX}") from None
    return onnxruntime


def quantization_target() -> tuple[str, str]:
    """(optimum's config name, weight type) for this CPU: int8 weights with VNNI or AVX-512, uint8 on AVX2."""
    if platform.machine().lower() in ("aarch64", "arm64"):
        return "arm64", "QInt8"
    try:
        flags = set(Path("/proc/cpuinfo").read_text().split())
    except OSError:
        flags = set()
    if "avx512_vnni" in flags:
        return "avx512_vnni", "QInt8"
    if "avx512f" in flags:
        return "avx512", "QInt8"
    return "avx2", "QUInt8"


def _marker(model_dir: Path) -> dict[str, Any] | None:
    try:
        return json.loads((model_dir / SUBFOLDER / MARKER_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def onnx_checksum(model_dir: Path) -> str:
    """sha256 of the int8 file, as recorded when it was built; ModelError if there is none."""
    marker = _marker(Path(model_dir))
    if not marker or "sha256" not in marker:
        raise ModelError(f"no int8 ONNX model in {Path(model_dir) / SUBFOLDER}; {_FIX}")
    return str(marker["sha256"])


def _is_current(model_dir: Path, model_sha256: str) -> bool:
    marker = _marker(model_dir) or {}
    if (marker.get("model_sha256"), marker.get("build_version")) != (model_sha256, BUILD_VERSION):
        return False
    path = model_dir / SUBFOLDER / str(marker.get("file"))
    return path.is_file() and path.stat().st_size == marker.get("bytes")


def _export(model_dir: Path, out: Path) -> None:
    """The float32 transformer (input_ids, attention_mask -> last_hidden_state) as ONNX, shapes dynamic."""
    import torch
    import transformers
    from torch.export import Dim
    from transformers import AutoModel

    transformers.utils.logging.disable_progress_bar()
    model = AutoModel.from_pretrained(str(model_dir), local_files_only=True).eval()

    class LastHidden(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            return self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    # Two rows of different lengths, so the traced graph is the padded-batch one (a real mask).
    ids = torch.tensor([[0, 1313, 7, 83, 2], [0, 1313, 2, 1, 1]])
    mask = (ids != 1).long()
    batch, seq = Dim("batch_size"), Dim("sequence_length", max=512)
    with warnings.catch_warnings():  # the exporter's notes on axis names and deprecations are not ours to fix
        warnings.simplefilter("ignore")
        torch.onnx.export(
            LastHidden(), (ids, mask), str(out), dynamo=True, opset_version=OPSET, external_data=False,
            input_names=["input_ids", "attention_mask"], output_names=["last_hidden_state"],
            dynamic_shapes={"input_ids": {0: batch, 1: seq}, "attention_mask": {0: batch, 1: seq}}, verbose=False,
        )


class _QuietQuantizer(logging.Filter):
    """onnxruntime's quantiser logs on the root logger: a line per tensor, and advice that optimum skips too."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING and "pre-processing before quantization" not in record.getMessage()


@contextmanager
def _quiet() -> Iterator[None]:
    """Hundreds of log lines from the exporter and the quantiser (graph rewrites, absent torchvision) hidden."""
    loggers = [logging.getLogger(name) for name in ("torch.onnx", "onnxscript", "onnx_ir")]
    levels = [lg.level for lg in loggers]
    quiet = _QuietQuantizer()
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    logging.getLogger().addFilter(quiet)
    try:
        yield
    finally:
        logging.getLogger().removeFilter(quiet)
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def _quantize(src: Path, dest: Path, weight_type: str) -> None:
    """onnxruntime dynamic quantisation with AutoQuantizationConfig's settings (per channel, full range)."""
    _onnxruntime()
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(src, dest, per_channel=True, reduce_range=False, weight_type=getattr(QuantType, weight_type),
                     extra_options={"WeightSymmetric": True, "ActivationSymmetric": False})


def build_onnx_int8(model_dir: Path, *, force: bool = False) -> bool:
    """Write `model_dir/onnx/model_<type>_<target>.onnx` from the converted model; False if already current."""
    from .model import model_checksum

    model_dir = Path(model_dir)
    try:
        model_sha256 = model_checksum(model_dir)
    except ValueError:
        raise ModelError(f"no embedding model in {model_dir}; run `veille model build` first") from None
    if not force and _is_current(model_dir, model_sha256):
        log.info("%s already holds the int8 ONNX model, nothing to do", model_dir / SUBFOLDER)
        return False
    onnxruntime = _onnxruntime()
    target, weight_type = quantization_target()
    name = f"model_{weight_type.lower()}_{target}.onnx"
    folder = model_dir / SUBFOLDER
    folder.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".onnx-build-", dir=folder) as tmp:
        log.info("exporting %s to ONNX, then quantising it for %s", model_dir, target)
        with _quiet():
            _export(model_dir, Path(tmp) / "model.onnx")
            _quantize(Path(tmp) / "model.onnx", Path(tmp) / name, weight_type)
        os.chmod(Path(tmp) / name, 0o644)
        marker = {"file": name, "sha256": sha256_file(Path(tmp) / name), "bytes": (Path(tmp) / name).stat().st_size,
                  "model_sha256": model_sha256, "build_version": BUILD_VERSION, "opset": OPSET,
                  "quantization": {"target": target, "weights": weight_type, "activations": "QUInt8",
                                   "per_channel": True, "reduce_range": False, "weights_symmetric": True},
                  "onnxruntime": onnxruntime.__version__}
        (Path(tmp) / MARKER_FILE).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
        os.chmod(Path(tmp) / MARKER_FILE, 0o644)
        # The model file first, the marker last: a marker always describes a complete file.
        os.replace(Path(tmp) / name, folder / name)
        os.replace(Path(tmp) / MARKER_FILE, folder / MARKER_FILE)
    log.info("wrote %s (sha256 %s)", folder / name, marker["sha256"])
    return True


class OnnxEncoder:
    """encode_query / encode_document as sentence-transformers does them, on the int8 file via onnxruntime."""

    def __init__(self, model_dir: Path, threads: int = 1) -> None:
        ort = _onnxruntime()
        from tokenizers import Tokenizer

        marker = _marker(model_dir)
        if not marker:
            raise ModelError(f"no int8 ONNX model in {model_dir / SUBFOLDER}; {_FIX}")
        st_config = json.loads((model_dir / "config_sentence_transformers.json").read_text(encoding="utf-8"))
        tok_config = json.loads((model_dir / "tokenizer_config.json").read_text(encoding="utf-8"))
        self.prompts: dict[str, str] = st_config.get("prompts", {})
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        # sentence-transformers truncates at the model's 512 tokens (<s> and </s> included) and pads to the longest.
        self.tokenizer.enable_truncation(int(tok_config.get("model_max_length", 512)))
        pad = str(tok_config.get("pad_token", "<pad>"))
        self.tokenizer.enable_padding(pad_id=self.tokenizer.token_to_id(pad), pad_token=pad)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        # Idle pool threads sleep instead of spinning: on these 2 shared cores spinning cost int8 about a fifth
        # of its speed against torch (bench/onnx_int8.py), as OpenMP's spinning costs torch (bench/run.py).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        path = model_dir / SUBFOLDER / str(marker["file"])
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def _encode(self, texts: Sequence[str], prompt: str) -> np.ndarray:
        encoded = self.tokenizer.encode_batch([prompt + t for t in texts])
        ids = np.array([e.ids for e in encoded], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
        (hidden,) = self.session.run(["last_hidden_state"], {"input_ids": ids, "attention_mask": mask})
        summed = (hidden * mask[..., None]).sum(axis=1)
        mean = summed / np.clip(mask.sum(axis=1, keepdims=True), 1e-9, None)
        return (mean / np.linalg.norm(mean, axis=1, keepdims=True)).astype(np.float32)

    def encode_query(self, texts: Sequence[str], **_: object) -> np.ndarray:
        return self._encode(texts, self.prompts.get("query", ""))

    def encode_document(self, texts: Sequence[str], **_: object) -> np.ndarray:
        return self._encode(texts, self.prompts.get("document", ""))
