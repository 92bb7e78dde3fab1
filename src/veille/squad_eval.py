"""`veille eval` on a SQuAD file: index its paragraphs, ask every question, score the answers.

Scores, over the questions whose paragraph is indexed and has an answer: how often veille answers,
whether the answer text holds a gold answer, the short answer's exact match and F1, whether a
citation is the gold paragraph; over the others (paragraph left out, or v2.0 unanswerable): how often
it refuses. Plus the latency of `ask`, warm.
"""

from __future__ import annotations

import hashlib
import os
import statistics
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .embed import resolve_backend
from .index import Index, build_index, open_index
from .settings import Settings, load_settings
from .squad import Dataset, Question, exact_match, f1, holds, read_squad, write_corpus


def cache_folder(file: Path, split: str, settings: Settings | None = None) -> Path:
    """Where the file's corpus and index live between runs (nothing is embedded twice), one folder per
    embedding model, size and backend (multilingual-e5-small's in float32 without a suffix: the first)."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "veille" / "eval"
    digest = hashlib.sha256(file.read_bytes()).hexdigest()[:12]
    s = settings or load_settings()
    model = "" if s.model_name == "multilingual-e5-small" else f"-{s.model_name}"
    model += f"@{s.dimension}" if s.dimension else ""
    model += "" if resolve_backend(s.backend) == "torch" else f"-{resolve_backend(s.backend)}"
    return base / f"{file.stem}-{digest}-{split}{model}"


def prepare(file: Path, split: str = "all", index_dir: Path | None = None, settings: Settings | None = None,
            progress: bool = False) -> tuple[Dataset, Index]:
    """The file's questions and an up-to-date index of its paragraphs (built, or brought up to date)."""
    dataset = read_squad(file, split)
    settings = settings or load_settings()
    folder = cache_folder(file, split, settings)
    corpus = folder / "corpus"
    index_dir = index_dir or folder / "index"
    write_corpus(dataset, corpus)
    s = replace(settings, corpus=corpus, index=index_dir)
    build_index(corpus, index_dir, settings=s, progress=progress)
    return dataset, open_index(index_dir, settings=s)


@dataclass
class SquadResult:
    rows: list[dict[str, Any]] = field(default_factory=list)

    def scores(self) -> dict[str, float]:
        ans = [r for r in self.rows if r["answerable"]]
        rest = [r for r in self.rows if not r["answerable"]]
        ms = sorted(r["ms"] for r in self.rows)

        def mean(rows: list[dict[str, Any]], key: str) -> float:
            return sum(float(r[key]) for r in rows) / len(rows) if rows else 0.0

        return {
            "questions": len(self.rows), "answerable": len(ans), "unanswerable": len(rest),
            "answered": mean(ans, "answered"), "false_refusals": 1.0 - mean(ans, "answered") if ans else 0.0,
            "gold_in_answer": mean(ans, "holds"), "short_em": mean(ans, "em"), "short_f1": mean(ans, "f1"),
            "gold_paragraph_cited": mean(ans, "cited"), "abstained_when_missing": mean(rest, "abstained"),
            "p50_ms": statistics.median(ms) if ms else 0.0,
            "p95_ms": ms[min(len(ms) - 1, int(0.95 * len(ms)))] if ms else 0.0,
        }

    def to_dict(self) -> dict[str, Any]:
        return {**self.scores(), "rows": self.rows}


def score(q: Question, answer: Any, ms: float) -> dict[str, Any]:
    """One question's row: what veille said and how it scores."""
    answered = not answer.abstained
    short = (answer.short or "") if answered else ""
    golds = q.answers or ("",)
    return {
        "id": q.id, "question": q.question, "answers": list(q.answers), "source": q.source,
        "answerable": q.answerable, "answer": answer.text, "short": answer.short, "answered": answered,
        "abstained": answer.abstained, "ms": round(ms, 2),
        "holds": answered and any(holds(answer.text, g) for g in golds),
        "em": max(exact_match(short, g) for g in golds) if answered else 0.0,
        "f1": max(f1(short, g) for g in golds) if answered else 0.0,
        "cited": answered and any(c.source == q.source for c in answer.citations),
    }


def evaluate_squad(index: Index, questions: tuple[Question, ...] | list[Question], limit: int = 0) -> SquadResult:
    result = SquadResult()
    index.search("échauffement", 1)  # the model's first call is slow: keep it out of the latencies
    for q in questions[:limit] if limit else questions:
        t = time.perf_counter()
        answer = index.ask(q.question)
        result.rows.append(score(q, answer, (time.perf_counter() - t) * 1000))
    return result
