"""Generative mode: time to first token, total time and checked answers, by number of passages given.

    python bench/llm.py [--rounds 1] [--passages 2 3 4]      # the local model (make llm)
    VEILLE_LLM_URL=http://127.0.0.1:8000/v1 python bench/llm.py  # any OpenAI-compatible server

A run counts as right when the final answer holds the golden facts and cites a golden source; "kept" is
how many generated drafts passed the check (the others fell back to the extractive answer).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from veille import Answer, open_index
from veille.evaluate import contains
from veille.settings import ROOT

QUESTIONS = [
    "combien de soldats selon Blinken ?",
    "Qui est le porte-parole du Kremlin ?",
    "Combien de soldats russes ont été tués ou blessés ?",
    "Quand la Corée du Sud a-t-elle convoqué l'ambassadeur russe à Séoul ?",
    "Quel village les troupes russes ont-elles capturé à Donetsk ?",
    "Qui est le secrétaire américain à la Défense ?",
]


def main() -> None:
    import veille.generate as generate

    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--passages", type=int, nargs="+", default=[generate.PASSAGES])
    args = parser.parse_args()
    golden = {r["question"]: r for r in map(json.loads, (ROOT / "tests" / "golden.jsonl").read_text().splitlines())}
    index = open_index()
    index.ask(QUESTIONS[0], mode="llm")  # warm: both models loaded
    print("| passages | time to first token, median (s) | total, median (s) | drafts kept | right |")
    print("|---|---|---|---|---|")
    for k in args.passages:
        generate.PASSAGES = k
        first, total, kept, right = [], [], 0, 0
        for _ in range(args.rounds):
            for q in QUESTIONS:
                t0, ttft, answer = time.perf_counter(), None, None
                for item in generate.stream_answer(index, q, index.chat_model(), k=k):
                    if isinstance(item, Answer):
                        answer = item
                    elif ttft is None:
                        ttft = time.perf_counter() - t0
                total.append(time.perf_counter() - t0)
                first += [ttft] if ttft is not None else []
                assert answer is not None
                kept += not answer.fallback
                row = golden[q]
                facts = all(contains(answer.text, e) for e in row["expected"][:1])
                right += facts and {c.source for c in answer.citations} <= set(row["sources"])
        n = args.rounds * len(QUESTIONS)
        print(f"| {k} | {statistics.median(first):.1f} | {statistics.median(total):.1f} | {kept}/{n} | {right}/{n} |",
              flush=True)


if __name__ == "__main__":
    main()
