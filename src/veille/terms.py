"""The question's words, weighted by how rare the corpus says they are, and what kind of answer it asks.

The answer stages see the corpus only through `Vocabulary`: how many chunks there are, in how many a
token appears, and the corpus's words for spelling correction. Nothing here knows the Index.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from .keyword import fold, normalise_numbers, tokenize, words

# The question words PIAF's and the seeds' questions open with, most specific first: the evidence and
# short-answer models learn one weight per kind (bench/fit_answer.py).
KINDS = ("number", "date", "place", "person", "what", "how", "why", "other")
_KIND_PATTERNS = {
    "number": r"\b(?:combien|how (?:many|much)|quel(?:le)?s? (?:nombre|montant|chiffre|pourcentage|taille|"
              r"superficie|population|âge|distance|durée)|nombre de)\b",
    "date": r"\b(?:quand|when|quel jour|quelle date|en quelle année|à quelle (?:époque|date|période)|"
            r"depuis quand|en quel siècle|quelle année|what (?:day|date)|de quand)\b",
    "place": r"(?:\boù\b|\bou (?:sont|se|est|ont|a)\b|\bwhere\b|\bdans quel(?:le)? (?:région|ville|pays|lieu)\b|"
             r"\bquel(?:le)? (?:ville|pays|région|lieu)\b)",
    "person": r"\b(?:qui|who|quel (?:responsable|dirigeant|ministre|président|roi|auteur|homme))\b",
    "what": r"\b(?:que|quoi|qu['’]|quel|quelle|quels|quelles|what|which|lequel|laquelle)\b",
    "how": r"\b(?:comment|how)\b",
    "why": r"\b(?:pourquoi|why)\b",
}
KIND_RE = {k: re.compile(p, re.I) for k, p in _KIND_PATTERNS.items()}
# Words respelt for search: 6 letters or more (a shorter word one letter off is as often another word)
_RESPELT = re.compile(r"\w{6,}")
# What a sentence holding each kind of answer has in it.
_NUMBER = re.compile(r"\d|\b(?:millier|milliers|million|millions|milliard|centaines|dizaines)\b", re.I)
MONTHS = ("janvier|février|fevrier|mars|avril|mai|juin|juillet|août|aout|septembre|octobre|novembre|décembre|"
          "decembre")
_DATE = re.compile(
    rf"\b(?:lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche|{MONTHS}|siècle|hier|aujourd|"
    r"(?:1[0-9]|20)\d\d|[IVX]+e)\b", re.I)
_PLACE = re.compile(r"\b(?:à|en|au|aux|dans|vers|depuis|de la région de|région de)\s+(?:l['’]|la |le )?[A-ZÉ]\w+")
_PERSON = re.compile(r"\b[A-ZÉ][a-zéèëïöüç]+(?:[- ](?:[A-ZÉ][a-zéèëïöüç]+|von|der|de|al|d'))*\s[A-ZÉ][a-zéèëïöüç]+")
_HAS = {"number": _NUMBER, "date": _DATE, "place": _PLACE, "person": _PERSON}
# Capitalised words that are not names: sentence openers, months, days, titles (check.py's names in a claim,
# answer.py's test of a person's name).
NOT_NAMES = frozenset(fold(w) for w in (
    "Le La Les Un Une Des Ce Cette Ces Il Elle Ils Elles Selon Mais Et Or Donc En Au Aux Dans Pour Par Sur "
    "Lundi Mardi Mercredi Jeudi Vendredi Samedi Dimanche Janvier Février Mars Avril Mai Juin Juillet Août "
    "Septembre Octobre Novembre Décembre M Mme Mlle Dr Président Ministre Secrétaire D'après Toutefois "
    "Cependant Ainsi Enfin Aussi Puis Alors Jusqu'à Environ Plus Moins Près Quelque Quelques".split()))
_STRUCTURE = {t for t in tokenize("selon dit déclaré affirmé indiqué article articles source sources") if t[0] != "~"}
_ENGLISH = set("how many much who what which where when the is are of did does according was were said".split())


# « selon (M.) Antony Blinken »: the capitalised words after the attribution, a title before them skipped
_SELON = re.compile(r"\b(?:selon|d['’]après|according to)\s+(?:(?:M|Mme|Mr|Mrs|Ms|Dr)\.?\s+)?"
                    r"([A-ZÉ][\w-]+(?:\s+[A-ZÉ][\w-]+)*)")


def named_source(question: str) -> frozenset[str]:
    """Tokens of the person a question attributes what it asks to (« selon Blinken »), if it names one: of
    a full name, the last word (« selon Antony Blinken » as a passage writes it, « M. Blinken »)."""
    m = _SELON.search(question)
    return frozenset(tokenize(m.group(1).split()[-1])) if m else frozenset()


def names_source(named: frozenset[str], text: str) -> bool:
    """Whether a passage (its title and text) names the source a question asks for (`named_source`); any
    passage does when the question names none. The one attribution check of both generated modes."""
    return not named or bool(named & set(tokenize(text)))


def question_kind(question: str) -> str:
    """The kind of answer asked for, by the question word that comes first (« Quel roi … qui … » asks
    for what the « quel » asks, not a person)."""
    found = [(m.start(), n, kind) for n, (kind, pattern) in enumerate(KIND_RE.items())
             if (m := pattern.search(question))]
    return min(found)[2] if found else "other"


def has_kind(sentence: str, kind: str) -> bool:
    """Whether the sentence holds the kind of thing asked for (any sentence does for open questions)."""
    pattern = _HAS.get(kind)
    return pattern is None or bool(pattern.search(normalise_numbers(sentence) if kind == "number" else sentence))


def new_kind(sentence: str, kind: str, question: str) -> bool:
    """Whether the sentence holds the kind of thing asked for that the question does not already say
    (a figure, a name, a date other than the question's own)."""
    pattern = _HAS.get(kind)
    if pattern is None:
        return True
    norm = (lambda t: normalise_numbers(t)) if kind == "number" else (lambda t: t)
    asked = {fold(m.group()) for m in pattern.finditer(norm(question))}
    return any(fold(m.group()) not in asked for m in pattern.finditer(norm(sentence)))


def is_english(question: str) -> bool:
    """Two or more English function words: a question asked in English."""
    return len(set(re.findall(r"[a-z]+", question.lower())) & _ENGLISH) >= 2


@dataclass
class Vocabulary:
    """What the answer stages know of the corpus."""

    chunks: int
    frequency: Callable[[str], int]  # in how many chunks a token (stem or skeleton) appears
    spelled: Sequence[str] = ()  # the corpus's words, folded, for spelling correction
    model: str = ""  # the embedding model of the index: its dense scores are what the fitted weights read
    names: Sequence[str] = ()  # the corpus's words it only writes capitalised, folded: respelling's targets
    _buckets: dict[str, dict[tuple[str, int], list[str]]] = field(default_factory=dict, repr=False)

    def _closest(self, word: str, pool: str) -> str:
        """The word of the pool ("spelled" or "names") most like the folded word (difflib's ratio of at
        least 0.8), else the word."""
        buckets = self._buckets.get(pool)
        if buckets is None:  # bucketed by (first letter, length) once per vocabulary
            buckets = self._buckets[pool] = {}
            for w in getattr(self, pool):
                buckets.setdefault((w[0], len(w)), []).append(w)
        near = [w for n in range(len(word) - 2, len(word) + 3) for w in buckets.get((word[0], n), ())]
        best = difflib.get_close_matches(word, near, n=1, cutoff=0.8)
        return best[0] if best else word

    def correct(self, word: str) -> str:
        """A word the corpus never uses, replaced by the corpus word it is most likely a misspelling of."""
        f = fold(word)
        if len(f) < 5 or f.isdigit():
            return word
        fixed = self._closest(f, "spelled")
        return word if fixed == f else fixed

    def respell(self, question: str) -> str:
        """The question with each word the corpus never uses (by stem or skeleton) followed by the name of the
        corpus it is one letter away from (« kremlim » -> « kremlim (kremlin) »), for the dense search: an
        embedding model reads a misspelt name as another word (EmbeddingGemma's cosine to the Peskov passage
        of the seeds: 0.17 misspelt, 0.38 respelt). Towards names only (words the corpus only writes
        capitalised), and the typed word kept: replacing any unknown word by any corpus word one letter
        away cost PIAF dev answers and refusals; this form changes 52 of its 3,738 questions, for one gold
        answer less and two refusals more of a missing article (bench/respell.py)."""
        def fix(m: re.Match[str]) -> str:
            w = m.group(0)
            toks = tokenize(w)  # none for a stop word
            if not toks or w.isdigit() or any(self.frequency(t) for t in toks):
                return w
            f = fold(w)
            fixed = self._closest(f, "names")
            return f"{w} ({fixed})" if one_edit(f, fixed) and any(self.frequency(t) for t in tokenize(fixed)) else w

        return _RESPELT.sub(fix, question) if self.names else question


def one_edit(a: str, b: str) -> bool:
    """Whether b is a one-letter typo of a: one letter changed, added, dropped, or two swapped."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 or (len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]]
                                  and a[diff[1]] == b[diff[0]])
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return any(long[:i] + long[i + 1:] == short for i in range(len(long)))


Weights = dict[tuple[str, str], float]  # (stem, spelling skeleton) -> IDF weight


def term_weights(vocabulary: Vocabulary, question: str) -> Weights:
    """Question words (stem, skeleton) with IDF weights. A French word the corpus never uses weighs the
    most: it is what the question is about and nothing here speaks of it. In an English question such
    a word is just English, so it weighs nothing and the names carry the match."""
    n_docs = max(1, vocabulary.chunks)
    english = is_english(question)
    freq_of = vocabulary.frequency
    weights: Weights = {}
    for w in words(question):
        toks = tokenize(w)
        if not toks or toks[0] in _STRUCTURE:
            continue
        stem, skel = toks[0], toks[-1]
        if not (freq_of(stem) or freq_of(skel)):
            fixed = tokenize(vocabulary.correct(w))
            if fixed and (freq_of(fixed[0]) or freq_of(fixed[-1])):
                stem, skel = fixed[0], fixed[-1]
        freq = max(freq_of(stem), freq_of(skel))
        if freq == 0 and english:
            continue
        weights[(stem, skel)] = math.log(1 + n_docs / (1 + freq))
    return weights


def coverage(weights: Weights, tokens: set[str]) -> float:
    """Weighted share of the question's words present, by stem or by spelling skeleton."""
    total = sum(weights.values())
    got = sum(w for (stem, skel), w in weights.items() if stem in tokens or skel in tokens)
    return got / total if total else 0.0


def matched(weights: Weights, tokens: set[str]) -> int:
    """How many of the question's words are present (unweighted)."""
    return sum(1 for stem, skel in weights if stem in tokens or skel in tokens)
