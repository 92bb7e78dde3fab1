"""Every tunable of veille in one place, each overridable by a VEILLE_* environment variable."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from .errors import InputError

# The repository root when running from a checkout (src/veille/settings.py -> ../../..).
ROOT = Path(__file__).resolve().parents[2]


def _default_models_dir() -> Path:
    return ROOT / "models"


@dataclass(frozen=True)
class Settings:
    corpus: Path = ROOT / "seeds"
    index: Path = ROOT / "index"
    models_dir: Path = _default_models_dir()
    # The embedding model (VEILLE_MODEL or VEILLE_MODEL_NAME): embeddinggemma-300m (`make setup`,
    # ../shared/docs/embedding-model.md) or multilingual-e5-small (`make e5`): EmbeddingGemma answers PIAF test
    # better (gold in answer 0.70 against 0.66) for 3.5x the indexing time (docs/BENCHMARKS.md). `dimension`:
    # 0 for the model's own; EmbeddingGemma's Matryoshka sizes 512, 256 or 128 keep that many of its 768.
    model_name: str = "embeddinggemma-300m"
    dimension: int = 0
    # Chunking: a chunk holds whole sentences up to this many characters (about 4 characters a token
    # for French with this tokenizer, so far below the model's 512), and repeats the previous chunk's
    # last sentence so an answer straddling a boundary is still whole in one chunk. Measured on PIAF
    # (bench/chunk_size.py): 400/600/1000 characters give recall@5 0.887/0.891/0.896; 600 keeps the
    # passage a reader opens short for a cost of 0.005.
    chunk_chars: int = 600
    chunk_overlap_sentences: int = 1
    max_file_bytes: int = 5_000_000
    batch_size: int = 16
    threads: int = 2  # measured 1.67x faster than 1 on these 2 cores (bench/run.py); VEILLE_THREADS=1 if busy
    # What runs the embedding model: "torch" (sentence-transformers, fp32), "torch-bf16" (the same in bfloat16),
    # "onnx-int8" (onnxruntime on the int8 copy that `veille model build --onnx-int8` writes; bench/onnx_int8.py)
    # or "auto": torch-bf16 on a CPU that computes in bfloat16 natively (AVX-512 BF16 or AMX), where it embeds
    # about 3x faster at a cosine of 0.9999 to fp32 (bench/gemma_speed.py), else torch. An index remembers
    # which built it.
    backend: str = "auto"
    # The vector store: "faiss" (files in the index folder) or "milvus" (docs/SCALING.md)
    store: str = "faiss"
    # Milvus: a server or cluster URI (http://host:19530) or a milvus-lite file ending in .db. Empty means
    # `<index>.milvus.db` beside the index folder, not inside it: every build replaces that folder whole,
    # and the vectors must stay where the next build finds them. The token ("user:password" or an API
    # key) is never written to the index. One collection name per index folder on a shared server.
    milvus_uri: str = ""
    milvus_token: str = ""
    milvus_collection: str = "veille"
    # FAISS searches exactly up to this many vectors (about 8 ms a question at 50k here, bench/scale.py),
    # then through an IVF index whose nprobe finds at least `ann_recall` of exact search's top 10 (ann.py).
    exact_limit: int = 50_000
    ann_recall: float = 0.98
    # Retrieval: dense and BM25 each give their `candidates` best chunks; "zscore" fusion turns each list's
    # scores into z-scores over its own candidates and adds them, `dense_weight` to the dense one ("rrf":
    # reciprocal rank fusion with `rrf_k`, the previous default). Measured on PIAF (bench/piaf_fusion.py:
    # chosen on half of its Wikipedia articles, reported on the other half): RRF k=60 over 30 candidates
    # gave held-out recall@5 0.893, MRR@10 0.799; zscore, weight 0.5, 100 candidates 0.902, 0.816 (weights
    # 0.45-0.55 and 50-200 candidates are within 0.003; the best RRF, k=5 over 100, 0.898, 0.808).
    # `dense_weight` -1 means the embedding model's own, chosen on PIAF dev (DENSE_WEIGHTS).
    k: int = 5
    fusion: str = "zscore"
    dense_weight: float = -1.0
    rrf_k: int = 60
    candidates: int = 100
    # Respelling (VEILLE_RESPELL=0 turns it off): the embedding model reads each word the corpus never uses
    # followed by the corpus name one letter away (« kremlim » -> « kremlim (kremlin) », Vocabulary.respell);
    # BM25 reads the words as typed. Towards names only: towards any corpus word it changed 151 PIAF dev
    # questions and cost 3 gold answers and 3 refusals among them; this form changes 52 and is even there
    # (one gold answer less, two refusals more; bench/respell.py), and finds a misspelt name's article.
    respell: bool = True
    # The generative mode (--mode llm): "claims", the model answers as JSON (a short answer and verbatim quotes
    # with their passage numbers) under a grammar, and only the quotes found in their passages are shown
    # (structured.py); "text", free sentences with [n] markers whose numbers and names are checked (generate.py).
    llm_answer: str = "claims"
    # A shared server's limits (ui/app.py): asks per client (its user name, else its address) in any
    # `ask_window` seconds, and files per upload. bench/ui_burst.py's 160 asks in about 20 s stay under.
    ask_limit: int = 240
    ask_window: float = 60.0
    max_upload_files: int = 20
    # Feeds: at most this many entry pages fetched by one `veille feed update` (all feeds together), so a
    # feed of 10,000 entries cannot hold one request for hours; the rest wait for the next update.
    feed_max_entries: int = 50
    # Logins on a shared server (access.py): `login_tries` failures per name and `login_address_tries` per
    # address are free, then each locks the name or address for `login_lock` seconds, doubling up to 15 min;
    # at most `login_checks` argon2 checks (64 MiB each) run at once. Uploads to the server's cache: at most
    # `upload_files` files and `upload_mb` MB per editor in any `upload_window` seconds (5 MB a file).
    login_tries: int = 5
    login_address_tries: int = 20
    login_lock: int = 2
    login_checks: int = 2
    upload_files: int = 200
    upload_mb: int = 100
    upload_window: int = 3600

    def __post_init__(self) -> None:
        """Refuse a value veille cannot use once, here, rather than at the first question."""
        for name, allowed in CHOICES.items():
            if getattr(self, name) not in allowed:
                raise InputError(f"unknown {name} {getattr(self, name)!r}; set VEILLE_{name.upper()} to "
                                 + " or ".join(repr(a) for a in allowed))
        if self.dimension not in DIMENSIONS[self.model_name]:
            sizes = ", ".join(str(d) for d in DIMENSIONS[self.model_name] if d)
            raise InputError(f"{self.model_name} has no {self.dimension}-dimension vectors; set VEILLE_DIMENSION to "
                             f"{sizes} (or unset it)")
        for name in POSITIVE:
            if getattr(self, name) < 1:
                raise InputError(f"{name} must be at least 1, not {getattr(self, name)}; fix VEILLE_{name.upper()}")
        for name, low, high in FRACTIONS:
            if not low <= getattr(self, name) <= high and not (name == "dense_weight" and self.dense_weight == -1):
                raise InputError(f"{name} must be between {low} and {high}, not {getattr(self, name)}; "
                                 f"fix VEILLE_{name.upper()}")

    @property
    def model_path(self) -> Path:
        return self.models_dir / self.model_name

    @property
    def fusion_dense_weight(self) -> float:
        """The dense list's weight in z-score fusion: the one set, else the model's own."""
        return self.dense_weight if self.dense_weight >= 0 else DENSE_WEIGHTS[self.model_name]


CHOICES = {"fusion": ("zscore", "rrf"), "store": ("faiss", "milvus"), "llm_answer": ("claims", "text"),
           "backend": ("auto", "torch", "torch-bf16", "onnx-int8"),
           "model_name": ("multilingual-e5-small", "embeddinggemma-300m")}
# The dense weight of z-score fusion that ranks PIAF dev best for each model (bench/embedding_models.py --parts
# fusion, 2,000 dev questions): e5 0.5 (bench/piaf_fusion.py), EmbeddingGemma 0.6 (dev recall@5 0.916 against
# 0.913 at 0.5 and 0.906 at 0.7); a better retriever earns a larger share.
DENSE_WEIGHTS = {"multilingual-e5-small": 0.5, "embeddinggemma-300m": 0.6}
DIMENSIONS = {"multilingual-e5-small": (0, 384), "embeddinggemma-300m": (0, 768, 512, 256, 128)}
POSITIVE = ("chunk_chars", "max_file_bytes", "batch_size", "threads", "exact_limit", "k", "rrf_k", "candidates",
            "ask_limit", "ask_window", "max_upload_files", "feed_max_entries", "login_tries", "login_address_tries",
            "login_lock", "login_checks", "upload_files", "upload_mb", "upload_window")
FRACTIONS = (("ann_recall", 0.5, 1.0), ("dense_weight", 0.0, 1.0))  # dense_weight may also be -1 (the model's own)


def _coerce(value: str, like: object) -> object:
    if isinstance(like, Path):
        return Path(value).expanduser()
    if isinstance(like, bool):
        return value.lower() in {"1", "true", "yes", "on"}
    if isinstance(like, int):
        return int(value)
    if isinstance(like, float):
        return float(value)
    return value


def load_settings(**overrides: object) -> Settings:
    """Defaults, then VEILLE_<FIELD> variables, then explicit overrides (None means 'not given')."""
    base = Settings()
    changes: dict[str, Any] = {}
    if os.environ.get("VEILLE_MODEL") and not os.environ.get("VEILLE_MODEL_NAME"):
        changes["model_name"] = os.environ["VEILLE_MODEL"].strip()
    for f in fields(Settings):
        env = os.environ.get(f"VEILLE_{f.name.upper()}")
        if env:
            try:
                changes[f.name] = _coerce(env, getattr(base, f.name))
            except ValueError:
                kind = "a whole number" if isinstance(getattr(base, f.name), int) else "a number"
                raise InputError(f"VEILLE_{f.name.upper()}={env!r} is not {kind}; unset it to use "
                                 f"{getattr(base, f.name)!r} or give {kind}") from None
    for name, value in overrides.items():
        if value is not None:
            changes[name] = Path(str(value)) if isinstance(getattr(base, name), Path) else value
    return replace(base, **changes)
