"""Helpers shared by test modules."""

from __future__ import annotations

import os
import subprocess
import sys

from veille import Index


def run(*args: str, index: Index | None = None, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if index is not None:
        env.update(VEILLE_INDEX=str(index.folder), VEILLE_MODELS_DIR=str(index.settings.models_dir))
    return subprocess.run([sys.executable, "-m", "veille.cli", *args], input=stdin, env=env,
                          capture_output=True, text=True, timeout=300)
