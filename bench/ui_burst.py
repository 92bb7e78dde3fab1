"""A burst of concurrent questions at the real chat UI: how many cited answers a second it holds.

    python bench/ui_burst.py                      # 4 threads x 8 golden questions, 5 rounds
    python bench/ui_burst.py --threads 2 --rounds 3

Starts `veille serve` on a free loopback port over a copy of seeds/ (the repository's index/ is copied
when it is there, so nothing is embedded again), warms it with one question, then fires the burst through
gradio_client's /ask endpoint, one client per thread. Prints a Markdown table: answers per second (the
median of the rounds) and the latency of one answer under the burst (p50, p95 over every round). The
server answers with VEILLE_THREADS from the environment (1 when unset: the burst is the parallelism).
tests/test_robustness.py runs the same burst and checks every answer.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden.jsonl"


@dataclass(frozen=True)
class Result:
    """One question of the burst: the /ask JSON it got, or the error it met, and how long it took."""

    item: dict[str, Any]  # the golden line: question, expected, sources, kind
    answer: dict[str, Any] | None
    error: str | None
    seconds: float


def burst_questions(n: int = 32, path: Path = GOLDEN) -> list[dict[str, Any]]:
    """n golden questions spread evenly over the file, so every kind (unanswerable ones too) is in."""
    golden = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [golden[i * len(golden) // n] for i in range(min(n, len(golden)))]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(index: Path, env: dict[str, str] | None = None, timeout: float = 300) -> Iterator[str]:
    """`veille serve` over an index folder on a free loopback port; yields its URL, answers warm."""
    import urllib.request

    port = _free_port()
    env = {"GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "VEILLE_THREADS": "1", **os.environ, **(env or {})}
    with tempfile.TemporaryFile("w+") as log:
        proc = subprocess.Popen([sys.executable, "-m", "veille.cli", "serve", "--port", str(port), "--index",
                                 str(index)], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        url = f"http://127.0.0.1:{port}/"
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    urllib.request.urlopen(url, timeout=2)
                    break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        log.seek(0)
                        raise RuntimeError(f"veille serve did not come up:\n{log.read()[-3000:]}") from None
                    time.sleep(0.5)
            from gradio_client import Client

            # The first question loads the model: not part of any burst.
            Client(url, verbose=False).predict("Qui est le porte-parole du Kremlin ?", api_name="/ask")
            yield url
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def burst(url: str, items: list[dict[str, Any]], threads: int = 4) -> tuple[list[Result], float]:
    """Ask every item's question, `threads` clients at once (item i goes to client i % threads).
    Returns the results in item order and the wall time from the first question to the last answer."""
    from gradio_client import Client

    results: list[Result | None] = [None] * len(items)
    clients = [Client(url, verbose=False) for _ in range(threads)]
    start = threading.Barrier(threads + 1)

    def worker(t: int) -> None:
        start.wait()
        for i in range(t, len(items), threads):
            began = time.perf_counter()
            try:
                answer, error = clients[t].predict(items[i]["question"], api_name="/ask"), None
            except Exception as e:  # every failure is a result of the burst, for the caller to report
                answer, error = None, f"{type(e).__name__}: {e}"
            results[i] = Result(items[i], answer, error, time.perf_counter() - began)

    workers = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    start.wait()
    began = time.perf_counter()
    for w in workers:
        w.join()
    wall = time.perf_counter() - began
    assert all(r is not None for r in results)
    return [r for r in results if r is not None], wall


def _pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(p * (len(xs) - 1)))]


def _seed_index(base: Path) -> Path:
    """A copy of seeds/ and its index (copied from index/ when it is there, so only the path changes)."""
    from veille import build_index
    from veille.settings import load_settings

    corpus, index = base / "corpus", base / "index"
    shutil.copytree(ROOT / "seeds", corpus)
    if (ROOT / "index" / "manifest.json").is_file():
        shutil.copytree(ROOT / "index", index)
    build_index(corpus, index, settings=load_settings(corpus=corpus, index=index))
    return index


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--per-thread", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    items = burst_questions(args.threads * args.per_thread)
    rates, latencies, failures, load = [], [], 0, os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp, serve(_seed_index(Path(tmp))) as url:
        for _ in range(args.rounds):
            results, wall = burst(url, items, args.threads)
            answered = [r for r in results if r.error is None]
            failures += len(results) - len(answered)
            rates.append(len(answered) / wall)
            latencies += [r.seconds * 1000 for r in answered]
    print(f"`python bench/ui_burst.py --threads {args.threads} --per-thread {args.per_thread} --rounds {args.rounds}`"
          f" ({os.cpu_count()} cores, {platform.machine()}, server VEILLE_THREADS="
          f"{os.environ.get('VEILLE_THREADS', '1')}, load average {load:.1f} at the start; "
          f"{len(items)} golden questions a round)\n")
    print("| concurrent clients | answers/s (median of rounds) | p50 latency | p95 latency | errors |")
    print("|---|---|---|---|---|")
    print(f"| {args.threads} | {statistics.median(rates):.1f} | {statistics.median(latencies):.0f} ms "
          f"| {_pct(latencies, 0.95):.0f} ms | {failures} / {len(items) * args.rounds} |")


if __name__ == "__main__":
    main()
