"""The generative mode on PIAF, against the extractive answer on the same questions.

    python bench/llm_piaf.py [--split test] [--answerable 100] [--missing 20] [--modes claims text]
                             [--excerpts 3] [--around 1]     # what the claims mode reads (tune on dev)
                             [--json rows.json]              # every row, with the question and the draft

Questions drawn with a fixed seed from the split (test: articles 8-f; those of articles 8-9 are missing
from the index and must be refused). Per mode (settings.llm_answer: "claims", JSON quotes checked against
their passages; "text", free sentences checked for numbers and names): gold in answer, abstention on the
missing questions, answers that fell back to the extractive one, and the seconds to the first draft token
and to the checked answer (warm: the model is loaded before the clock starts). "shown quotes not in their
passage" reads every citation's quote back from the article file: it must be 0.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

import veille.structured as structured
from veille import Answer, open_index
from veille.claims import check_draft, parse
from veille.settings import ROOT
from veille.squad import holds
from veille.squad_eval import prepare

PIAF = ROOT.parent / "shared" / "data" / "piaf" / "piaf-v1.1.json"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--split", default="test", choices=["dev", "test"])
    parser.add_argument("--answerable", type=int, default=100)
    parser.add_argument("--missing", type=int, default=20)
    parser.add_argument("--modes", nargs="+", default=["claims", "text"], choices=["claims", "text"])
    parser.add_argument("--excerpts", type=int, default=structured.EXCERPTS)
    parser.add_argument("--ungated", action="store_true",
                        help="only questions the extractive gate refuses, and the model asked all the same")
    parser.add_argument("--around", type=int, default=structured.AROUND, help="sentences either side (99: the passage)")
    parser.add_argument("--json", type=Path, help="also write every row here, with the question and the model's draft")
    args = parser.parse_args()
    structured.EXCERPTS, structured.AROUND = args.excerpts, args.around
    dataset, index = prepare(PIAF, args.split)
    rng = random.Random(0)
    pool = dataset.questions
    if args.ungated:
        structured.GATED = False
        pool = [q for q in rng.sample(pool, min(len(pool), 40 * (args.answerable + args.missing)))
                if index.ask(q.question).abstained]
    questions = rng.sample([q for q in pool if q.answerable], args.answerable)
    questions += rng.sample([q for q in pool if not q.answerable], args.missing)
    model = index.chat_model()
    readers = {m: open_index(index.folder, settings=replace(index.settings, llm_answer=m), embedder=index.embedder)
               for m in args.modes}
    for r in readers.values():
        r._llm = model  # one loaded model for every mode
    next(iter(readers.values())).ask("Quelle est la capitale de la France ?", mode="llm")  # warm
    rows: dict[str, list[dict]] = {"extractive": [], **{m: [] for m in args.modes}}
    for q in questions:
        rows["extractive"].append(score(index, q, index.ask(q.question), 0.0, 0.0))
        for m, reader in readers.items():
            t0, first, answer, draft = time.perf_counter(), None, None, []
            for item in reader.ask_stream(q.question, mode="llm"):
                if isinstance(item, Answer):
                    answer = item
                else:
                    draft.append(item)
                    first = first if first is not None else time.perf_counter() - t0
            assert answer is not None
            rows[m].append(score(index, q, answer, first or 0.0, time.perf_counter() - t0))
            # a claims draft the check cannot read as JSON (its own definition, with no passage to look in)
            text = "".join(draft)
            rows[m][-1]["malformed"] = m == "claims" and bool(text) and check_draft(parse(text), {}).malformed
            rows[m][-1]["cut"] = m == "claims" and bool(text) and not rows[m][-1]["malformed"] and not whole(text)
            rows[m][-1].update(question=q.question, answers=list(q.answers), draft=text)
    if args.json:
        args.json.write_text(json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf-8")
    fmt_env = f"VEILLE_LLM_FORMAT={os.environ['VEILLE_LLM_FORMAT']} " if os.environ.get("VEILLE_LLM_FORMAT") else ""
    print(f"\nPIAF {args.split}, generative mode against extractive ({date.today().isoformat()}, `{fmt_env}python "
          f"bench/llm_piaf.py --split {args.split} --answerable {args.answerable} --missing {args.missing} "
          f"--excerpts {args.excerpts} --around {args.around}{' --ungated' if args.ungated else ''}`)\n")
    print("| measure | " + " | ".join(rows) + " |")
    print("|---|" + "---|" * len(rows))
    for label, fn in [
        ("gold in answer (answerable)", lambda r: mean(r, "gold", True)),
        ("refused (answerable)", lambda r: mean(r, "abstained", True)),
        ("refused (missing)", lambda r: mean(r, "abstained", False)),
        ("fell back to the extractive answer", lambda r: mean(r, "fallback", None)),
        ("drafts that are not valid JSON", lambda r: sum(x.get("malformed", 0) for x in r)),
        ("drafts cut by the token cap, read up to their last whole claim", lambda r: sum(x.get("cut", 0) for x in r)),
        ("shown quotes not in their passage", lambda r: sum(x["bad_quotes"] for x in r)),
        ("first draft token, median (s)", lambda r: median(r, "first")),
        ("checked answer, median (s)", lambda r: median(r, "total")),
    ]:
        print(f"| {label} | " + " | ".join(fmt(fn(r)) for r in rows.values()) + " |")


def whole(draft: str) -> bool:
    """The draft is one whole JSON object (not one the token cap cut, which claims.parse closes)."""
    try:
        json.JSONDecoder().raw_decode(draft[draft.find("{"):])
    except json.JSONDecodeError:
        return False
    return "{" in draft


def score(index, q, answer: Answer, first: float, total: float) -> dict:  # noqa: ANN001
    bad = sum(index.original(c.source)[c.quote_start:c.quote_end] != c.quote or not c.quote.strip()
              for c in answer.citations)
    return {"answerable": q.answerable, "gold": any(holds(answer.text, g) for g in q.answers),
            "abstained": answer.abstained, "fallback": answer.fallback, "bad_quotes": bad, "first": first,
            "total": total}


def mean(rows: list[dict], key: str, answerable: bool | None) -> float:
    sel = [r[key] for r in rows if answerable is None or r["answerable"] == answerable]
    return sum(sel) / max(1, len(sel))


def median(rows: list[dict], key: str) -> float:
    values = [r[key] for r in rows if r[key] > 0]
    return statistics.median(values) if values else 0.0


def fmt(v: float) -> str:
    return str(v) if isinstance(v, int) else f"{v:.3f}" if v < 1 else f"{v:.1f}"


if __name__ == "__main__":
    main()
