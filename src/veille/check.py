"""The check on a generated answer: no claim without a citation that supports it.

A pure function, so that it can be tested on a table of cases without any model. A generated sentence is
kept only if it cites at least one passage that exists, and every number and every name it states
appears in the passages it cites. Markers that point to no passage are dropped first; sentences that
fail are removed; when nothing supported is left the caller falls back to the extractive answer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from .chunk import sentence_spans
from .keyword import fold, normalise_numbers, skeleton, stopwords
from .terms import NOT_NAMES, names_source

REFUSAL = "Je ne trouve pas cette information dans les articles indexés."
_MARKER = re.compile(r"\s*\[(\d+(?:\s*,\s*\d+)*)\]")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
_WORD = re.compile(r"[^\W\d_][\w'’-]*")


@dataclass(frozen=True)
class Verdict:
    """One generated sentence and why it was kept or removed."""

    sentence: str
    cited: tuple[int, ...]
    supported: bool
    reason: str = ""


@dataclass(frozen=True)
class Checked:
    """The checked answer: the kept sentences with their markers, and what was removed and why."""

    text: str
    cited: tuple[int, ...]
    refusal: bool
    verdicts: tuple[Verdict, ...] = field(default_factory=tuple)
    dropped_markers: tuple[int, ...] = ()

    @property
    def removed(self) -> tuple[Verdict, ...]:
        return tuple(v for v in self.verdicts if not v.supported)

    @property
    def empty(self) -> bool:
        return not self.refusal and not self.text


def _numbers(text: str) -> set[str]:
    return {n.replace(",", ".") for n in _NUMBER.findall(normalise_numbers(text))}


def _names(sentence: str) -> set[str]:
    """Capitalised words that are not the sentence's first word nor common capitalised words."""
    words = _WORD.findall(sentence)
    out = set()
    for i, w in enumerate(words):
        if w[:1].isupper() and fold(w) not in NOT_NAMES and fold(w) not in stopwords():
            if i == 0 and not (len(words) > 1 and words[1][:1].isupper()):
                continue  # "Washington a dit" stays checkable through its other words; a capital opener is not a name
            out.add(w)
    return out


def _supports(name: str, passage_words: set[str]) -> bool:
    key = skeleton(name.split("'")[-1].split("’")[-1])
    return key in passage_words


def missing_facts(claim: str, support: str) -> set[str]:
    """Numbers and names of the claim that the supporting text does not contain."""
    support_words = {skeleton(w) for w in _WORD.findall(support)}
    return (_numbers(claim) - _numbers(support)) | {w for w in _names(claim) if not _supports(w, support_words)}


def _attribute(claim: str, passages: Mapping[int, str]) -> int | None:
    """The passage that supports an uncited claim: all its numbers and names, and most of its words."""
    words = {skeleton(w) for w in _WORD.findall(claim) if fold(w) not in stopwords()}
    best, best_share = None, 0.5
    for n, passage in passages.items():
        if missing_facts(claim, passage):
            continue
        share = len(words & {skeleton(w) for w in _WORD.findall(passage)}) / max(1, len(words))
        if share > best_share:
            best, best_share = n, share
    return best


def check_answer(text: str, passages: Mapping[int, str], attribute: bool = False, named: frozenset[str] = frozenset(),
                 context: Mapping[int, str] | None = None) -> Checked:
    """Check a generated answer against the numbered passages it was given (n -> passage text).

    With `attribute`, a sentence that cites no existing passage is given the passage that supports it
    (every number and name in it, most of its words), if one does; otherwise it is removed as uncited.
    `named`: the tokens of the person the question asks about (« selon Blinken », terms.named_source): a
    sentence none of whose passages (`context`: with their titles) names that person is removed."""
    text = text.strip()
    if fold(REFUSAL).rstrip(".") in fold(text):
        return Checked(REFUSAL, (), True)
    verdicts: list[Verdict] = []
    dropped: set[int] = set()
    kept: list[str] = []
    cited_all: list[int] = []
    for a, b in sentence_spans(text):
        raw = text[a:b]
        refs = [int(n) for group in _MARKER.findall(raw) for n in re.split(r"\s*,\s*", group)]
        valid = tuple(dict.fromkeys(n for n in refs if n in passages))
        dropped.update(n for n in refs if n not in passages)
        claim = _MARKER.sub("", raw).strip()
        if not re.search(r"\w", claim):
            continue
        reason = ""
        if not valid and attribute:
            found = _attribute(claim, passages)
            valid, reason = ((found,), "cited by veille: the passage holds its facts") if found else ((), "")
        if not valid:
            verdicts.append(Verdict(claim, (), False, "no citation to an existing passage"))
            continue
        if not any(names_source(named, (context or passages).get(n, passages[n])) for n in valid):
            verdicts.append(Verdict(claim, valid, False, "its passages do not name the source the question asks for"))
            continue
        missing = missing_facts(claim, " ".join(passages[n] for n in valid))
        if missing:
            verdicts.append(Verdict(claim, valid, False, f"not in the cited passages: {', '.join(sorted(missing))}"))
            continue
        verdicts.append(Verdict(claim, valid, True, reason))
        sentence = re.sub(r"\s+([.!?…])$", r"\1", claim)
        end = sentence[-1] if sentence[-1] in ".!?…" else "."
        kept.append(sentence.rstrip(".!?…") + " " + "".join(f"[{n}]" for n in valid) + end)
        cited_all.extend(valid)
    return Checked(" ".join(kept), tuple(dict.fromkeys(cited_all)), False, tuple(verdicts), tuple(sorted(dropped)))
