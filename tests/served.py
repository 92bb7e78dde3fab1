"""A real `veille serve` on a free port over a private copy of the seed index, and the real browser."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def copy_index(base: Path, seed_dirs: tuple[Path, Path], models_dir: Path, **env: str) -> dict:
    """A private corpus and index (re-pointed at the copy by one build: no embedding) and their env."""
    corpus, index = base / "corpus", base / "index"
    shutil.copytree(seed_dirs[0], corpus)
    shutil.copytree(seed_dirs[1], index)
    environ = {**os.environ, "VEILLE_MODELS_DIR": str(models_dir), "VEILLE_CORPUS": str(corpus),
               "VEILLE_INDEX": str(index), "GRADIO_ANALYTICS_ENABLED": "False", **env}
    cli(environ, "index", "build", "--corpus", str(corpus), "--index", str(index))
    return {"corpus": corpus, "index": index, "env": environ, "tmp": base}


def cli(env: dict, *args: str, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "veille.cli", *args], env=env, input=stdin, check=check,
                          capture_output=True, text=True, timeout=300)


@contextmanager
def serving(where: dict, *args: str, host: str = "127.0.0.1") -> Iterator[dict]:
    """`veille serve ARGS` on a free port, reached through 127.0.0.1, until the block ends."""
    port = free_port()
    log_file = where["tmp"] / f"server-{port}.log"
    with log_file.open("w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "veille.cli", "serve", "--host", host, "--port", str(port),
                                 "--index", str(where["index"]), *args], env=where["env"], stdout=log,
                                stderr=subprocess.STDOUT, cwd=ROOT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 180
    while True:
        try:
            urllib.request.urlopen(url, timeout=2)
            break
        except urllib.error.HTTPError:
            break  # it answers (a login page may say 401 to some paths)
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(log_file.read_text()) from None
            time.sleep(0.5)
    try:
        yield {**where, "url": url, "log": log_file}
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def start_browser():  # noqa: ANN201 - (playwright, chromium)
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail("Debian chromium is missing: `make browser` installs it (apt-get install chromium)")
    pw = sync_playwright().start()
    return pw, pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)


def ask(page, question: str) -> None:  # noqa: ANN001
    count = page.locator("#chat .message-row, #chat [data-testid='bot']").count()
    page.locator("#question textarea").fill(question)
    page.locator("#send").click()
    page.wait_for_function(
        "n => document.querySelectorAll(\"#chat .message-row, #chat [data-testid='bot']\").length > n", arg=count,
        timeout=60_000)
