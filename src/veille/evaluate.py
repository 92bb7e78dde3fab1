"""Scores of answers against a golden JSONL file: {"question", "expected", "sources"} a line.

expected: strings the answer must contain ("a|b" accepts either); compared without case, accents or
thousands separators, so "10 000" matches "10.000". sources: acceptable source files; empty when the
corpus cannot answer, and then the right answer is to abstain. Retrieval is scored on the articles
search ranks (each article once, at its best chunk): recall@1/5/10 and MRR@10 of an acceptable source.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import InputError
from .keyword import fold, normalise_numbers

if TYPE_CHECKING:
    from .index import Index


TOP = 10


@dataclass(frozen=True)
class GoldenItem:
    question: str
    expected: tuple[str, ...]
    sources: tuple[str, ...]
    kind: str = ""


@dataclass
class EvalResult:
    rows: list[dict[str, Any]] = field(default_factory=list)

    def _mean(self, key: str, answerable_only: bool) -> float:
        rows = [r for r in self.rows if r["sources"] or not answerable_only]
        return sum(r[key] for r in rows) / len(rows) if rows else 0.0

    def scores(self) -> dict[str, float]:
        answerable = [r for r in self.rows if r["sources"]]
        ranks = [r["rank"] for r in answerable]
        n = len(ranks) or 1
        return {
            "answer_accuracy": self._mean("answer_ok", True),
            "cited_source_accuracy": self._mean("source_ok", True),
            "abstention_accuracy": self._mean("abstain_ok", False),
            **{f"recall@{k}": sum(r is not None and r <= k for r in ranks) / n for k in (1, 5, 10)},
            "MRR@10": sum(1 / r for r in ranks if r is not None) / n,
        }

    @property
    def failures(self) -> list[str]:
        return [f"{r['question']!r} -> {r['answer'][:160]!r}" for r in self.rows if not passed(r)]

    def to_dict(self) -> dict[str, Any]:
        return {"questions": len(self.rows), **self.scores(), "rows": self.rows}


def passed(row: dict[str, Any]) -> bool:
    """An answerable question needs the facts and the right sources; an unanswerable one, abstention."""
    if row["sources"]:
        return bool(row["answer_ok"] and row["source_ok"])
    return bool(row["abstain_ok"])


def _norm(text: str) -> str:
    text = normalise_numbers(text.replace("’", "'"))
    return re.sub(r"\s+", " ", fold(text))


def contains(answer: str, expected: str) -> bool:
    """Whether the answer holds the expected string or one of its "|" alternatives."""
    hay = _norm(answer)
    return any(_norm(alt) in hay for alt in expected.split("|"))


def read_golden(path: Path) -> list[GoldenItem]:
    items = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            items.append(GoldenItem(str(row["question"]), tuple(row.get("expected", [])),
                                    tuple(row.get("sources", [])), str(row.get("kind", ""))))
        except (ValueError, KeyError, TypeError) as e:
            raise InputError(f"{path} line {n}: not a {{question, expected, sources}} object ({e})") from None
    if not items:
        raise InputError(f"{path} holds no questions")
    return items


def evaluate(index: Index, items: list[GoldenItem], mode: str = "extractive") -> EvalResult:
    """Ask every question in the mode ("extractive" or "llm") and score the answer and the search."""
    result = EvalResult()
    for item in items:
        answer = index.ask(item.question, mode=mode)
        ranked = list(dict.fromkeys(h.chunk.source for h in index.search(item.question, 3 * TOP)))[:TOP]
        answerable = bool(item.sources)
        cited = {c.source for c in answer.citations}
        result.rows.append({
            "question": item.question, "kind": item.kind, "sources": list(item.sources),
            "answer": answer.text, "abstained": answer.abstained, "cited": sorted(cited),
            "answer_ok": answerable and not answer.abstained and all(contains(answer.text, e) for e in item.expected),
            "source_ok": answerable and not answer.abstained and bool(cited) and cited <= set(item.sources),
            "abstain_ok": answer.abstained != answerable,
            "rank": next((n for n, source in enumerate(ranked, 1) if source in item.sources), None),
        })
    return result
