"""PIAF answers, end to end: `veille eval` on PIAF's test split (and dev, which the answerer was fit on).

    python bench/piaf_answers.py [--splits test dev] [--json FILE]

Test: the articles whose title's sha256 starts with 8-f; those starting 8-9 are left out of the index
and their questions must be refused. Nothing is tuned on test (bench/fit_answer.py fits on dev).
Prints the Markdown table kept in docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import date
from pathlib import Path

from veille.settings import ROOT
from veille.squad_eval import evaluate_squad, prepare

PIAF = ROOT.parent / "shared" / "data" / "piaf" / "piaf-v1.1.json"
ROWS = [("answered (not refused), answerable questions", "answered"),
        ("answer text holds a gold answer", "gold_in_answer"),
        ("short answer exact match", "short_em"), ("short answer F1", "short_f1"),
        ("gold paragraph among the citations", "gold_paragraph_cited"),
        ("refused, questions whose article is missing", "abstained_when_missing"),
        ("answerable questions refused", "false_refusals"), ("ask p50 (ms)", "p50_ms"), ("ask p95 (ms)", "p95_ms")]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--splits", nargs="+", default=["test"], choices=["dev", "test"])
    parser.add_argument("--json", type=Path, default=None, help="also write every row here")
    args = parser.parse_args()
    scores, rows = {}, {}
    for split in args.splits:
        t = time.perf_counter()
        dataset, index = prepare(PIAF, split)
        result = evaluate_squad(index, dataset.questions)
        scores[split], rows[split] = result.scores(), result.rows
        scores[split]["seconds"] = time.perf_counter() - t
    print(f"PIAF v1.1 answers, extractive mode ({date.today().isoformat()}, `python bench/piaf_answers.py "
          f"--splits {' '.join(args.splits)}`)\n")
    print("| measure | " + " | ".join(f"{s} ({scores[s]['answerable']} answerable, {scores[s]['unanswerable']} "
                                       f"missing)" for s in args.splits) + " |")
    print("|---|" + "---|" * len(args.splits))
    for label, key in ROWS:
        cells = [f"{scores[s][key]:.0f}" if key.endswith("_ms") else f"{scores[s][key]:.3f}" for s in args.splits]
        print(f"| {label} | " + " | ".join(cells) + " |")
    if args.json:
        args.json.write_text(json.dumps({"scores": scores, "rows": rows}, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main()
