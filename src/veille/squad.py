"""SQuAD v1.1 / v2.0 files (PIAF's format) as a corpus of paragraphs and a list of questions.

Each paragraph becomes one article file, its Wikipedia article's title on the first line, so that
veille indexes it like a news article and a citation names the paragraph it came from. PIAF has one
split that everyone here uses, fixed by the sha256 of each article's title:

- dev: digests starting 0-7. Its articles 0-1 are left out of the dev index, so that dev too has
  questions whose article is missing (to fit abstention against).
- test: digests starting 8-f. Articles 8-9 are left out of the test index: their questions must be
  refused. Nothing is tuned on test.

The short-answer metric is SQuAD's exact match and F1, with French normalisation: case, accents,
punctuation and the articles le/la/les/l'/un/une/des/du/de/d'.
"""

from __future__ import annotations

import hashlib
import json
import re
import string
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from .errors import InputError

SPLITS = ("all", "dev", "test")
_LEFT_OUT = {"dev": "01", "test": "89"}
_IN_SPLIT = {"dev": "01234567", "test": "89abcdef"}
_ARTICLES = re.compile(r"\b(?:le|la|les|l|un|une|des|du|de|d)\b")
_PUNCT = set(string.punctuation) | set("«»’‘“”–—…")


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    answers: tuple[str, ...]  # gold answers; empty for a v2.0 unanswerable question
    source: str  # the paragraph's file in the corpus
    indexed: bool  # whether that paragraph is in the index (False: the answer is to refuse)

    @property
    def answerable(self) -> bool:
        return self.indexed and bool(self.answers)


@dataclass(frozen=True)
class Dataset:
    paragraphs: dict[str, str]  # file name -> file text (title line, blank line, paragraph)
    questions: tuple[Question, ...]


def digest(title: str) -> str:
    return hashlib.sha256(title.encode("utf-8")).hexdigest()


def read_squad(path: Path, split: str = "all") -> Dataset:
    """The file's paragraphs that go in the index and the split's questions.

    split "all": every paragraph, every question. "dev"/"test": PIAF's split above."""
    if split not in SPLITS:
        raise InputError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))["data"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise InputError(f"{path}: not a SQuAD JSON file ({{'data': [...]}}): {e}") from None
    paragraphs: dict[str, str] = {}
    questions: list[Question] = []
    try:
        for a, article in enumerate(data):
            title = str(article.get("title", "")).strip() or f"Article {a}"
            first = digest(title)[0]
            # another split's article is indexed as it is (a distractor), its questions are not asked
            left_out = split != "all" and first in _LEFT_OUT[split]
            asked = split == "all" or first in _IN_SPLIT[split]
            for p, para in enumerate(article["paragraphs"]):
                name = f"a{a:04d}_p{p:03d}.txt"
                if not left_out:
                    paragraphs[name] = f"{title}\n\n{para['context'].strip()}\n"
                if not asked:
                    continue
                for qa in para["qas"]:
                    golds = () if qa.get("is_impossible") else tuple(x["text"] for x in qa.get("answers", []))
                    questions.append(Question(str(qa.get("id", len(questions))), qa["question"], golds,
                                              name, not left_out))
    except (KeyError, TypeError, AttributeError) as e:
        raise InputError(f"{path}: a paragraph or question lacks a SQuAD field ({e})") from None
    if not questions:
        raise InputError(f"{path} holds no questions for split {split!r}")
    return Dataset(paragraphs, tuple(questions))


def write_corpus(dataset: Dataset, folder: Path) -> None:
    """The paragraphs as files; a file already there with the same text is left alone (so an index of
    it stays current and nothing is embedded again)."""
    folder.mkdir(parents=True, exist_ok=True)
    wanted = set(dataset.paragraphs)
    for old in folder.glob("*.txt"):
        if old.name not in wanted:
            old.unlink()
    for name, text in dataset.paragraphs.items():
        target = folder / name
        if not target.is_file() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8")


def normalise(text: str) -> list[str]:
    """SQuAD's answer normalisation, in French."""
    text = unicodedata.normalize("NFD", text.lower().replace("’", "'"))
    text = "".join(c for c in text if unicodedata.category(c) != "Mn")
    text = "".join(" " if c in _PUNCT else c for c in text)
    return _ARTICLES.sub(" ", text).split()


def exact_match(prediction: str, gold: str) -> float:
    return float(normalise(prediction) == normalise(gold))


def f1(prediction: str, gold: str) -> float:
    p, g = normalise(prediction), normalise(gold)
    common = sum((Counter(p) & Counter(g)).values())
    if not common:
        return 0.0
    precision, recall = common / len(p), common / len(g)
    return 2 * precision * recall / (precision + recall)


def holds(text: str, gold: str) -> bool:
    """Whether the text contains the gold answer, word for word after normalisation."""
    g = normalise(gold)
    return bool(g) and f" {' '.join(g)} " in f" {' '.join(normalise(text))} "
