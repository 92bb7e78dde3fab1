"""Structure: veille keeps the import contracts of pyproject.toml, and those contracts catch a cycle."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    # --no-cache: the graph of 30-odd modules builds in milliseconds, and no cache folder is left behind
    return subprocess.run([str(LINT_IMPORTS), "--no-cache", "--no-logo", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_veille_keeps_its_import_contracts() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_contracts_catch_the_store_milvus_cycle(tmp_path: Path) -> None:
    # A copy of veille under the same pyproject.toml, so the same contracts; PYTHONPATH puts the copy
    # ahead of the editable install (whose finder comes after sys.path).
    shutil.copytree(ROOT / "src" / "veille", tmp_path / "veille", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}

    kept = lint_imports(tmp_path, "--contract", "stores", env=env)
    assert kept.returncode == 0, kept.stdout + kept.stderr

    milvus = tmp_path / "veille" / "milvus.py"
    source = milvus.read_text(encoding="utf-8")
    assert "from .vectors import FIX, VectorStore\n" in source
    # The import as it was before vectors.py: milvus.py from store.py, which imports milvus.py back
    milvus.write_text(source.replace("from .vectors import", "from .store import"), encoding="utf-8")

    broken = lint_imports(tmp_path, "--contract", "stores", "--contract", "acyclic", env=env)
    assert broken.returncode != 0
    assert "veille.milvus is not allowed to import veille.store" in broken.stdout
    assert re.search(r"\.(store -> \.milvus|milvus -> \.store) ", broken.stdout), broken.stdout
