"""How often « Les sources divergent » fires on PIAF dev, by the divergence gap (answer.DIVERGENCE_GAPS).

    python bench/divergence_gap.py [--gaps 1.5 2 2.5 3]     # VEILLE_MODEL picks the embedding model

PIAF's « combien » questions each have one answer, so every divergence announced on them is a false one,
and a divergence quotes a second sentence, which may hold the gold answer when the first does not. The gap is
in the evidence model's logit units, and each model's fitted weights have their own scale: this prints, per
gap, the share of answered dev number questions given a divergence and the share whose answer holds a gold
answer, so a model's gap can be set to the false-divergence rate the first model was accepted at.
"""

from __future__ import annotations

import argparse
from dataclasses import replace

from fit_answer import FIT_BACKEND, PIAF, searched

from veille import answer
from veille.settings import load_settings
from veille.squad import holds
from veille.squad_eval import prepare
from veille.terms import question_kind


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--gaps", type=float, nargs="+", default=[1.5, 2.0, 2.5, 3.0])
    args = parser.parse_args()
    settings = load_settings()
    dataset, index = prepare(PIAF, "dev", settings=replace(settings, backend=FIT_BACKEND[settings.model_name]))
    questions = [q for q in dataset.questions if q.answerable and question_kind(q.question) == "number"]
    hits = searched(index, dataset.questions, 8)
    by_text = {q.question: h for q, h in zip(dataset.questions, hits, strict=True)}
    print(f"\n{settings.model_name}: {len(questions)} answerable « combien » questions of PIAF dev\n")
    print("| gap | divergences (share of answered) | gold in answer |")
    print("|---|---|---|")
    for gap in args.gaps:
        answer.DIVERGENCE_GAPS[settings.model_name] = gap
        answered = diverged = gold = 0
        for q in questions:
            a = answer.answer_question(q.question, by_text[q.question], index.vocabulary)
            if a.abstained:
                continue
            answered += 1
            diverged += a.text.startswith(answer.DIVERGENCE)
            gold += any(holds(a.text, g) for g in q.answers)
        print(f"| {gap} | {diverged / answered:.3f} | {gold / answered:.3f} |", flush=True)


if __name__ == "__main__":
    main()
