"""Structured generated answers: the model quotes, veille checks.

The model answers as JSON (constrained by a grammar on the local model, by a JSON schema on a server that
takes one): a short answer, and claims, each a passage number and a verbatim quote of that passage. Here,
with no model: the draft is parsed, each quote is found in its passage (exactly, then folded for case,
accents, quotation marks, dashes and spaces) to get its offsets, and a claim whose quote is not there is
dropped; a kept quote is widened to the whole sentences it sits in, which is what is shown. The short answer
is kept only when those sentences hold its numbers and names. Nothing unchecked leaves this module.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

from .check import REFUSAL, missing_facts
from .chunk import sentence_spans
from .keyword import fold
from .terms import names_source

MAX_CLAIMS = 3
MIN_QUOTE_CHARS = 12  # a shorter « quote » (« oui », a lone figure) proves nothing about where it came from


def schema(passages: int) -> dict:
    """The JSON schema of a draft over `passages` numbered passages."""
    claim = {"type": "object", "properties": {"passage": {"type": "integer", "minimum": 1, "maximum": passages},
                                              "citation": {"type": "string"}},
             "required": ["passage", "citation"], "additionalProperties": False}
    return {"type": "object", "properties": {"reponse": {"type": "string"},
                                             "preuves": {"type": "array", "items": claim, "maxItems": MAX_CLAIMS}},
            "required": ["reponse", "preuves"], "additionalProperties": False}


@dataclass(frozen=True)
class Claim:
    """A quote the model gave, where it says it comes from, and where veille found it (or why not)."""

    passage: int
    quote: str
    start: int = -1  # offsets in the passage's text, -1 when not found
    end: int = -1
    reason: str = ""


@dataclass(frozen=True)
class Checked:
    """The draft after the check: the short answer (None when its facts are not in the kept quotes), the
    kept claims with their offsets, the dropped ones with why, and whether the model refused."""

    short: str | None
    kept: tuple[Claim, ...]
    dropped: tuple[Claim, ...]
    refusal: bool = False
    malformed: bool = False


def parse(text: str) -> dict | None:
    """The draft's JSON object (the first {...} of the text), or None when there is none to read. A draft the
    token cap cut short (llm.MAX_TOKENS: a model quoting whole long sentences) keeps the claims it wrote whole."""
    start = text.find("{")
    if start < 0:
        return None
    try:
        value, _ = json.JSONDecoder().raw_decode(text[start:])
    except json.JSONDecodeError:
        value = _closed(text[start:])
    return value if isinstance(value, dict) else None


def _closed(cut: str) -> dict | None:
    """A cut draft closed after its last whole claim: `{"reponse": …, "preuves": [{…}, {…}, {"passage": 3, "cit`
    reads as its first two claims. None when no claim was written whole."""
    at = len(cut)
    while (at := cut.rfind("}", 0, at)) > 0:
        try:
            value, _ = json.JSONDecoder().raw_decode(cut[: at + 1] + "]}")
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict) and isinstance(value.get("preuves"), list):
            return value
    return None


_QUOTES = str.maketrans({"«": '"', "»": '"', "“": '"', "”": '"', "„": '"', "‘": "'", "’": "'", "`": "'",
                         "–": "-", "—": "-", "‑": "-", "\u00a0": " ", "\u202f": " "})


def _folded(text: str) -> tuple[str, list[int]]:
    """The text folded for matching (lower case, no accents, one kind of quote and dash, one space between
    words, no space around quotes) and, for each folded character, its offset in the text."""
    out: list[str] = []
    where: list[int] = []
    for i, ch in enumerate(text):
        for c in unicodedata.normalize("NFKD", ch.lower().translate(_QUOTES)):
            if unicodedata.combining(c):
                continue
            if c.isspace() or c == '"':
                if out and out[-1] == " ":
                    continue
                c = " "
            out.append(c)
            where.append(i)
    return "".join(out), where


def locate(quote: str, passage: str) -> tuple[int, int] | None:
    """Where the quote is in the passage (offsets in the passage), exactly or folded; None if absent."""
    quote = quote.strip().strip("«»\"“” ").strip()
    if not quote:
        return None
    at = passage.find(quote)
    if at >= 0:
        return at, at + len(quote)
    fq, _ = _folded(quote)
    fq = fq.strip(" .")
    fp, where = _folded(passage)
    at = fp.find(fq) if fq else -1
    if at < 0:
        return None
    return where[at], where[at + len(fq) - 1] + 1


def check_draft(draft: dict | None, passages: Mapping[int, str], named: frozenset[str] = frozenset(),
                context: Mapping[int, str] | None = None) -> Checked:
    """Keep the claims whose quote is in the passage they name; keep the short answer if they hold it.
    `named`: the tokens of the person the question asks about (« selon Blinken »): a claim whose passage
    (`context`, when the model read an excerpt of it: the whole passage and its title) does not name that
    person says nothing of what they said, and is dropped."""
    if draft is None or not isinstance(draft.get("preuves", []), list):
        return Checked(None, (), (), malformed=True)
    short = str(draft.get("reponse") or "").strip()
    if fold(REFUSAL).rstrip(".") in fold(short) or fold(short).startswith("je ne trouve pas"):
        return Checked(None, (), (), refusal=True)
    kept: list[Claim] = []
    dropped: list[Claim] = []
    for raw in draft.get("preuves", [])[:MAX_CLAIMS]:
        n, quote = (raw.get("passage"), str(raw.get("citation") or "")) if isinstance(raw, dict) else (None, "")
        if not isinstance(n, int) or n not in passages:
            dropped.append(Claim(-1, quote, reason=f"passage {n!r} was not given"))
            continue
        if not names_source(named, (context or passages).get(n, passages[n])):
            dropped.append(Claim(n, quote, reason="its passage does not name the source the question asks for"))
            continue
        if len(quote.strip()) < MIN_QUOTE_CHARS:
            dropped.append(Claim(n, quote, reason="the quote is too short to check"))
            continue
        span = locate(quote, passages[n])
        if span is not None:  # shown: the whole sentences the quoted words sit in (models quote fragments)
            spans = [s for s in sentence_spans(passages[n]) if s[0] < span[1] and span[0] < s[1]]
            span = (spans[0][0], spans[-1][1]) if spans else span
        if span is None:
            dropped.append(Claim(n, quote, reason="the quote is not in its passage"))
        elif any(c.passage == n and c.start < span[1] and span[0] < c.end for c in kept):
            dropped.append(Claim(n, quote, *span, reason="the same words as another claim"))
        else:
            kept.append(Claim(n, passages[n][span[0]:span[1]], *span))
    held = " ".join(c.quote for c in kept)
    supported = bool(short) and bool(kept) and not missing_facts(short, held)
    return Checked(short if supported else None, tuple(kept), tuple(dropped))
