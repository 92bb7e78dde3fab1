"""What limits the extractive answer on PIAF dev: the runner-up rule and the abstention features.

    python bench/answer_limits.py

On PIAF dev (the index and hits bench/fit_answer.py caches, float32 vectors, the package's weights):

1. Runner-up: how often the best candidate holds a gold answer against its softmax share, and what
   quoting the runner-up below a share T does to "holds a gold answer" and to the answers' length (the
   share of answers with two quotes). answer.RUNNER_UP_BELOW sits where the best is likelier wrong.
2. Abstention: the refusals of missing questions at 5% of answerable ones refused, held out (two folds
   by article, the threshold chosen on the other fold), for abstain.FEATURES and with each of a dozen
   query-performance signals more (dense and keyword score spreads, how many of the top passages come
   from the top article, the best single passage's coverage...), and with gradient-boosted trees instead
   of the logistic model (threshold at 5% on the held-out fold itself: its best case).

Prints Markdown for docs/BENCHMARKS.md.
"""

from __future__ import annotations

import statistics
import zlib
from dataclasses import replace

import numpy as np
from fit_answer import MAX_UNKNOWN_SHARE, PIAF, collect, fit, rank, threshold
from sklearn.ensemble import HistGradientBoostingClassifier

from veille import abstain, evidence
from veille.answer import next_apart
from veille.keyword import tokenize
from veille.settings import load_settings
from veille.squad import holds
from veille.squad_eval import prepare
from veille.terms import coverage


def runner_up_table(data: list[dict]) -> None:
    rows = []
    for d in data:
        if not d["q"].answerable or not d["order"]:
            continue
        cands = [d["cands"][i] for i in d["order"]]
        best, golds = cands[0], d["q"].answers
        second = next_apart(best, cands[1:])
        h1 = any(holds(best.text, g) for g in golds)
        rows.append((best.share, h1, h1 or (second is not None and any(holds(second.text, g) for g in golds))))
    a = np.array(rows, dtype=float)
    print(f"\nRunner-up, PIAF dev ({len(a)} answerable questions)\n\n| best's share | questions | best holds "
          "a gold answer | best or runner-up |\n|---|---|---|---|")
    for lo in np.arange(0, 1, 0.1):
        m = (a[:, 0] >= lo) & (a[:, 0] < lo + 0.1 + (lo > 0.85))
        if m.sum():
            print(f"| {lo:.1f}-{lo + 0.1:.1f} | {m.sum()} | {a[m, 1].mean():.3f} | {a[m, 2].mean():.3f} |")
    print("\n| runner-up quoted below share | holds a gold answer | answers with two quotes |\n|---|---|---|")
    for t in (0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1.01):
        print(f"| {t:.2f} | {np.where(a[:, 0] >= t, a[:, 1], a[:, 2]).mean():.3f} | {(a[:, 0] < t).mean():.3f} |")


def more_features(d: dict) -> dict[str, float]:
    """Query-performance signals abstain.py does not use."""
    q, hits = d["question"], d["hits"]
    cands = [d["cands"][i] for i in d["order"]]
    dense = [h.dense for h in hits if h.dense is not None] or [0.0]
    kw = [h.keyword for h in hits if h.keyword is not None] or [0.0]
    titles = [h.chunk.title for h in hits[:5]]
    covs = [coverage(q.weights, set(tokenize(f"{h.chunk.title} {h.chunk.text}"))) for h in hits[:5]] or [0.0]
    return {
        "dense_gap": dense[0] - statistics.mean(dense[1:] or dense), "dense_std": statistics.pstdev(dense),
        "dense_mean": statistics.mean(dense), "keyword_top": max(kw), "keyword_gap": max(kw) - statistics.mean(kw),
        "top_article_share": titles.count(titles[0]) / len(titles) if titles else 0.0,
        "articles_in_top5": float(len(set(titles))), "best_passage_coverage": max(covs), "top_coverage": covs[0],
        "question_words": float(len(q.weights)), "fused_top": hits[0].score if hits else 0.0,
        "fused_gap": hits[0].score - hits[min(4, len(hits) - 1)].score if hits else 0.0,
        "second_score": cands[1].score if len(cands) > 1 else -10.0,
    }


def abstention_table(data: list[dict], vocabulary) -> None:  # noqa: ANN001
    rows, y, fold, ruled = [], [], [], []
    for d in data:
        cands = [d["cands"][i] for i in d["order"]]
        if not cands:
            continue
        f = abstain.features(d["question"], cands, d["hits"], vocabulary)
        rows.append({**f, **more_features(d)})
        y.append(int(d["q"].answerable))
        fold.append(zlib.crc32(d["q"].source.split("_")[0].encode()) % 2)  # by article: a0123_p004.txt
        ruled.append(f["unknown_share"] > MAX_UNKNOWN_SHARE)
    ya, fa, ra = np.array(y), np.array(fold), np.array(ruled)

    def refused(p_fit: np.ndarray, yf: np.ndarray, rf: np.ndarray, p: np.ndarray, r: np.ndarray) -> np.ndarray:
        t = threshold(np.sort(p_fit[(yf == 1) & ~rf]), int((yf == 1).sum()), int(((yf == 1) & rf).sum()))
        return (p < t) | r

    def held_out(names: list[str], trees: bool = False) -> tuple[float, float]:
        x = np.array([[r[n] for n in names] for r in rows])
        missing, false = [], []
        for k in (0, 1):
            tr, te = fa != k, fa == k
            if trees:
                m = HistGradientBoostingClassifier(max_iter=200, learning_rate=0.05, max_leaf_nodes=15,
                                                   min_samples_leaf=40, random_state=0).fit(x[tr], ya[tr])
                p = m.predict_proba(x[te])[:, 1]
                out = refused(p, ya[te], ra[te], p, ra[te])
            else:
                model = evidence.LogisticModel.from_dict(fit(x[tr], ya[tr], tuple(names), {}))
                out = refused(model.probability(x[tr]), ya[tr], ra[tr], model.probability(x[te]), ra[te])
            missing.append((out & (ya[te] == 0)).sum() / (ya[te] == 0).sum())
            false.append((out & (ya[te] == 1)).sum() / (ya[te] == 1).sum())
        return float(np.mean(missing)), float(np.mean(false))

    base, extra = list(abstain.FEATURES), list(more_features(data[0]))
    print(f"\nAbstention, PIAF dev held out by article ({len(rows)} questions; threshold at 5% false refusals"
          " on the other fold)\n\n| features | missing refused | answerable refused |\n|---|---|---|")
    for label, names in [("abstain.FEATURES (13)", base), *((f"+ {n}", base + [n]) for n in extra),
                         (f"all {len(base) + len(extra)}", base + extra)]:
        print("| {} | {:.3f} | {:.3f} |".format(label, *held_out(names)))
    print("| trees, abstain.FEATURES, threshold on the held-out fold | {:.3f} | {:.3f} |".format(
        *held_out(base, trees=True)))
    print("| trees, all, threshold on the held-out fold | {:.3f} | {:.3f} |".format(*held_out(base + extra, True)))


def main() -> None:
    dataset, index = prepare(PIAF, "dev", settings=replace(load_settings(), backend="torch"))
    data = collect(index, dataset.questions, 8)
    rank(data, evidence.load_model("evidence", index.vocabulary.model))
    runner_up_table(data)
    abstention_table(data, index.vocabulary)


if __name__ == "__main__":
    main()
