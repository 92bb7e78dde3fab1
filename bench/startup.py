"""Start-up times: `import veille`, `veille --help`, and `veille serve` to the first answer.

The first answer is asked over HTTP (gradio_client, /ask) as soon as the server answers its page, so the
time includes loading the index and the model on first use. Medians of a few runs, each a fresh process.

    python bench/startup.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from veille.settings import ROOT

VEILLE = Path(sys.executable).with_name("veille")
QUESTION = "combien de soldats selon Blinken ?"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def timed(cmd: list[str]) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - t


def serve_to_answer(index: Path, env: dict[str, str] | None = None,
                    on_answer: Callable[[subprocess.Popen], object] | None = None) -> tuple[float, float]:
    """Seconds from launching `veille serve` to its page, and to its first cited answer (then on_answer(proc),
    while the server still runs)."""
    from gradio_client import Client

    port = _free_port()
    url = f"http://127.0.0.1:{port}/"
    with tempfile.TemporaryFile() as log:
        t = time.perf_counter()
        proc = subprocess.Popen([str(VEILLE), "serve", "--port", str(port), "--index", str(index)],
                                stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, env=env)
        try:
            while True:
                try:
                    urllib.request.urlopen(url, timeout=2)
                    break
                except OSError:
                    if proc.poll() is not None:
                        raise RuntimeError("veille serve exited") from None
                    time.sleep(0.05)
            page = time.perf_counter() - t
            answer = Client(url, verbose=False).predict(QUESTION, api_name="/ask")
            first = time.perf_counter() - t
            assert answer["citations"], answer
            if on_answer:
                on_answer(proc)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    return page, first


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    with tempfile.TemporaryDirectory() as tmp:
        index = Path(tmp) / "index"
        subprocess.run([str(VEILLE), "index", "build", "--index", str(index)], check=True, capture_output=True)
        rows = {
            "`python -c 'import veille'`": [timed([sys.executable, "-c", "import veille"]) for _ in range(args.runs)],
            "`veille --help`": [timed([str(VEILLE), "--help"]) for _ in range(args.runs)],
        }
        serves = [serve_to_answer(index) for _ in range(max(1, args.runs // 2))]
        rows["`veille serve` to its page"] = [p for p, _ in serves]
        rows["`veille serve` to the first cited answer"] = [f for _, f in serves]
    print("| start-up | median (s) | runs |\n|---|---|---|")
    for name, xs in rows.items():
        print(f"| {name} | {statistics.median(xs):.2f} | {len(xs)} |")


if __name__ == "__main__":
    main()
