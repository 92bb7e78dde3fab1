"""What quoting the next sentence changes (answer.continued): the best sentence and the one before or after it,
when the best one's short answer is not the figure, the date or the role's name asked for and the pair's is.

    python bench/continued_pairs.py [--split dev|test]     # VEILLE_MODEL picks the embedding model

Every answerable question of the split is asked once; where the pair is quoted, it is asked again without
(answer.continued replaced by one that never goes on), and the two answers are scored as `veille eval` scores
them. Prints, by the kind of question, how many times the pair was quoted and the sums of gold-in-answer,
short-answer F1, exact match and gold paragraph cited with and without it. Questions whose article is missing
are left out: the decision to answer comes before, and does not change.
"""

from __future__ import annotations

import argparse
from collections import Counter, defaultdict
from datetime import date

from fit_answer import PIAF

from veille import answer
from veille.squad_eval import prepare, score
from veille.terms import question_kind

KEYS = ("holds", "f1", "em", "cited")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--split", default="dev", choices=["dev", "test"])
    args = parser.parse_args()
    dataset, index = prepare(PIAF, args.split)
    index.search("échauffement", 1)
    went_on: list[bool] = []
    continued = answer.continued

    def watched(*a, **k):  # noqa: ANN002, ANN003, ANN202
        out = continued(*a, **k)
        went_on.append(out is not None)
        return out

    def never(*a, **k):  # noqa: ANN002, ANN003, ANN202
        return None

    by_kind: dict[str, Counter] = defaultdict(Counter)
    for q in dataset.questions:
        if not q.answerable:
            continue
        went_on.clear()
        answer.continued = watched
        on = score(q, index.ask(q.question), 0.0)
        kind = by_kind[question_kind(q.question)]
        kind["questions"] += 1
        if any(went_on):
            answer.continued = never
            off = score(q, index.ask(q.question), 0.0)
            kind["pairs"] += 1
            for key in KEYS:
                kind[f"{key} with"] += float(on[key])
                kind[f"{key} without"] += float(off[key])
    total = sum((c for c in by_kind.values()), Counter())
    print(f"PIAF {args.split}, the next sentence quoted ({date.today().isoformat()}, "
          f"`python bench/continued_pairs.py --split {args.split}`, {index.settings.model_name})\n")
    print("| kind | questions | pair quoted | " + " | ".join(f"{k} with / without" for k in KEYS) + " |")
    print("|---|---|---|" + "---|" * len(KEYS))
    for name, c in [*sorted(by_kind.items()), ("all", total)]:
        cells = " | ".join(f"{c[f'{k} with']:.1f} / {c[f'{k} without']:.1f}" for k in KEYS)
        print(f"| {name} | {c['questions']} | {c['pairs']} | {cells} |")
    n = max(1, total["questions"])
    print("\nChange over all answerable questions: " + ", ".join(
        f"{k} {(total[f'{k} with'] - total[f'{k} without']) / n:+.4f}" for k in KEYS))


if __name__ == "__main__":
    main()
