"""Text -> normalised vectors. One abstract method, `embed_batch`; batching and counting are built on it."""

from __future__ import annotations

import logging
import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
from tqdm import tqdm

from .errors import ModelError
from .settings import CHOICES

log = logging.getLogger(__name__)
Kind = Literal["query", "document"]
TokenStates = tuple[list[tuple[int, int]], np.ndarray]
BACKENDS = CHOICES["backend"]  # what runs the model; Settings checks VEILLE_BACKEND against the same


def native_bf16() -> bool:
    """Whether this CPU multiplies bfloat16 in hardware (x86 AVX-512 BF16 or AMX); emulated, it is slower."""
    try:
        flags = set(Path("/proc/cpuinfo").read_text().split())
    except OSError:
        return False
    return bool(flags & {"avx512_bf16", "amx_bf16"})


def resolve_backend(backend: str) -> str:
    """The backend that runs: "auto" is torch-bf16 where the CPU computes in bfloat16 natively, else torch."""
    if backend != "auto":
        return backend
    return "torch-bf16" if native_bf16() else "torch"


class Embedder(ABC):
    """Turns texts into unit vectors; counts what it embedded so callers can check incremental work."""

    name: str = ""
    dimension: int = 0
    checksum: str = ""

    def __init__(self) -> None:
        self.documents_embedded = 0  # documents embedded since this object was made

    @abstractmethod
    def embed_batch(self, texts: Sequence[str], kind: Kind) -> np.ndarray:
        """A float32 array (len(texts), dimension) of L2-normalised vectors."""

    def embed_documents(self, texts: Sequence[str], batch_size: int = 16, progress: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        bar = tqdm(total=len(texts), desc="embedding", unit="chunk", disable=not progress)
        # Longest first, so each batch pads to similar lengths; results go back in input order.
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        for b in range(0, len(order), batch_size):
            idx = order[b : b + batch_size]
            out[idx] = self.embed_batch([texts[i] for i in idx], "document")
            bar.update(len(idx))
        bar.close()
        self.documents_embedded += len(texts)
        return out

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_batch([text], "query")[0]

    def token_states(self, text: str, layers: Sequence[int]) -> TokenStates | None:
        """The text's tokens' character offsets and the states of them that these layers output (layers x
        tokens x dimension; layer n is the n-th block, as hidden_states[n]), what probe.py reads; None where
        the model's layers are not reachable."""
        return None


class SentenceTransformerEmbedder(Embedder):
    """The converted multilingual-e5-small, run by sentence-transformers on the CPU (backend "torch"), or its
    int8 ONNX copy run by onnxruntime (backend "onnx-int8"), or EmbeddingGemma-300M (gemma.py) with its own
    query and document prompts, which sentence-transformers reads from the model folder. Name and checksum
    say which, so an index built with one is refused by the other: even e5's two backends' vectors differ
    slightly (cosine about 0.997, bench/onnx_int8.py)."""

    def __init__(self, path: Path, threads: int = 1, backend: str = "torch", dimension: int = 0) -> None:
        super().__init__()
        if backend not in BACKENDS:
            raise ModelError(f"unknown embedding backend {backend!r}; VEILLE_BACKEND is one of {', '.join(BACKENDS)}")
        backend = resolve_backend(backend)
        marker = path / "veille-model.json"
        if not marker.is_file():
            build = "make setup" if path.name == "embeddinggemma-300m" else "make e5"
            raise ModelError(f"no embedding model in {path}; build it with `veille model build --model {path.name}` "
                             f"(or `{build}`)")
        import json

        from .model import model_checksum

        info = json.loads(marker.read_text())
        self.path = path
        self.name = path.name
        self.checksum = model_checksum(path)
        self.backend = backend
        if backend == "onnx-int8":
            from .onnx_int8 import onnx_checksum  # reads a JSON file; onnxruntime loads with the model

            self.name, self.checksum = f"{path.name} (onnx-int8)", onnx_checksum(path)
        elif backend == "torch-bf16":  # other vectors (cosine about 0.99 to fp32's), so another name and checksum
            self.name, self.checksum = f"{path.name} (bf16)", f"{self.checksum}+bf16"
        self.dimension = int(info.get("dimension", 384))
        # A Matryoshka size keeps the first `dimension` coordinates (renormalised): other vectors, another
        # name and checksum, so an index of one size is rebuilt, with a warning, at another.
        self.truncate = dimension if dimension and dimension < self.dimension else None
        if self.truncate:
            self.name, self.checksum = f"{self.name}@{self.truncate}", f"{self.checksum}@{self.truncate}"
            self.dimension = self.truncate
        self._threads = threads
        self._model = None
        # One call at a time: the Rust tokenizer refuses concurrent use ("Already borrowed"), and the UI
        # answers questions while an upload is being embedded.
        self._lock = threading.Lock()

    def _load(self):  # noqa: ANN202 - returns a SentenceTransformer, imported lazily
        if self._model is None and self.backend == "onnx-int8":
            from .onnx_int8 import OnnxEncoder

            self._model = OnnxEncoder(self.path, self._threads)
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            import torch
            import transformers
            from sentence_transformers import SentenceTransformer

            transformers.utils.logging.disable_progress_bar()  # a bar for loading 199 tensors is noise

            # Thread count from settings: 2 measured fastest here when the machine is not shared (bench/run.py).
            torch.set_num_threads(self._threads)
            bf16 = self.backend == "torch-bf16"
            # bf16 weights are read as bf16 (no float32 copy on the way: Gemma's build peaked 1.5 GB higher)
            self._model = SentenceTransformer(str(self.path), device="cpu", local_files_only=True,
                                              truncate_dim=self.truncate,
                                              model_kwargs={"dtype": torch.bfloat16} if bf16 else None)
            if bf16:
                self._model.to(torch.bfloat16)  # the modules after the transformer too (Gemma's Dense heads)
            self.dimension = self._model.get_embedding_dimension() or self.dimension
        return self._model

    def embed_batch(self, texts: Sequence[str], kind: Kind) -> np.ndarray:
        with self._lock:
            model = self._load()
            encode = model.encode_query if kind == "query" else model.encode_document
            vecs = encode(list(texts), batch_size=len(texts), normalize_embeddings=True, convert_to_numpy=True)
        vecs = np.asarray(vecs, dtype=np.float32)
        if self.backend == "torch-bf16":  # normalised in bfloat16 (norms 0.996-1.004): again, in float32
            vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
        return vecs

    def token_states(self, text: str, layers: Sequence[int]) -> TokenStates | None:
        if self.backend == "onnx-int8":  # the int8 graph gives the pooled vector only
            return None
        import torch

        with self._lock:
            model = self._load()
            encoder = model[0].auto_model
            blocks = getattr(encoder, "layers", None) or encoder.encoder.layer  # Gemma's, BERT's (e5)
            if not layers or not all(1 <= n <= len(blocks) for n in layers):
                raise ValueError(f"layers {list(layers)}: this model has layers 1 to {len(blocks)}")
            enc = model.tokenizer(text, return_offsets_mapping=True, return_tensors="pt", truncation=True,
                                  max_length=512)
            offsets = [(int(a), int(b)) for a, b in enc.pop("offset_mapping")[0].tolist()]
            got: dict[int, torch.Tensor] = {}
            deepest = max(layers)

            def keep(n: int):  # noqa: ANN202 - a forward hook
                def hook(module: object, args: object, output: object) -> None:
                    got[n] = output[0] if isinstance(output, tuple) else output  # type: ignore[assignment]
                    if n == deepest:
                        raise _Enough  # the layers above are not read: a third of Gemma's time for layer 16
                return hook

            handles = [blocks[n - 1].register_forward_hook(keep(n)) for n in set(layers)]
            try:
                with torch.inference_mode():
                    encoder(**enc)
            except _Enough:
                pass
            finally:
                for h in handles:
                    h.remove()
        return offsets, np.stack([got[n][0].float().numpy() for n in layers])


class _Enough(Exception):
    """Raised by token_states' hook once the deepest layer it reads has run."""
