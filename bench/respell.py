"""Respelling the question's unknown words for search (terms.Vocabulary.respell), measured on PIAF dev.

    python bench/respell.py [--split dev]      # VEILLE_MODEL picks the embedding model

Only the questions that respelling changes can change; they are asked with and without it
(settings.respell; the embedding model reads the respelt question, BM25 the typed one), the rest of the split
is counted but not asked again. Reported per group: gold in
answer for the answerable ones, refusals for the ones whose article is missing.
"""

from __future__ import annotations

import argparse
from dataclasses import replace

from fit_answer import FIT_BACKEND, PIAF

from veille import open_index
from veille.settings import load_settings
from veille.squad import holds
from veille.squad_eval import prepare


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--split", default="dev", choices=["dev", "test"])
    args = parser.parse_args()
    s = load_settings()
    dataset, index = prepare(PIAF, args.split, settings=replace(s, backend=FIT_BACKEND[s.model_name]))
    changed = [q for q in dataset.questions if index.vocabulary.respell(q.question) != q.question]
    n_ans = sum(q.answerable for q in dataset.questions)
    print(f"{s.model_name}, PIAF {args.split}: respelling changes {sum(q.answerable for q in changed)} of {n_ans} "
          f"answerable questions and {sum(not q.answerable for q in changed)} of "
          f"{len(dataset.questions) - n_ans} missing ones\n")
    print("| respell | gold in answer (changed answerable) | refused (changed missing) |\n|---|---|---|")
    for on in (False, True):
        reader = open_index(index.folder, settings=replace(index.settings, respell=on), embedder=index.embedder)
        answers = [(q, reader.ask(q.question)) for q in changed]
        gold = [any(holds(a.text, g) for g in q.answers) for q, a in answers if q.answerable]
        refused = [a.abstained for q, a in answers if not q.answerable]
        print(f"| {'on' if on else 'off'} | {sum(gold) / max(1, len(gold)):.3f} ({sum(gold)}) | "
              f"{sum(refused) / max(1, len(refused)):.3f} ({sum(refused)}) |", flush=True)


if __name__ == "__main__":
    main()
