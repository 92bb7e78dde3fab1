"""French keyword search: BM25 (bm25s) over stemmed, accent-folded tokens.

Each word gives two tokens: its Snowball stem, accents folded, and a spelling "skeleton" that
transliteration variants share (Koursk/Kursk -> "~kursk", Zelensky/Zelenskyy -> "~zelenski"), so a
passage is not lost because the question spells a name another way. Numbers written "10.000",
"10 000" or "10000" all become "10000".
"""

from __future__ import annotations

import json
import logging
import re
import unicodedata
from array import array
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import numpy as np

from .errors import IndexMismatchError
from .types import Chunk

log = logging.getLogger(__name__)
logging.getLogger("bm25s").setLevel(logging.ERROR)  # it warns about every index it builds

_ELISION = re.compile(r"\b(?:[ldjmnstc]|qu|jusqu|lorsqu|puisqu|quoiqu)['’`´]", re.IGNORECASE)
_THOUSANDS = re.compile(r"(?<![\d,.])(\d{1,3})((?:[ .\u00a0\u202f']\d{3})+)(?![\d])")
_WORD = re.compile(r"\w+", re.UNICODE)
_QUESTION_WORDS = (
    "combien qui quand où ou quel quelle quels quelles quoi comment pourquoi lequel laquelle est-ce "
    "what who when where which how many much why according does did is are the of to in"
).split()


def fold(text: str) -> str:
    """Lower case without accents ("Équipé" -> "equipe")."""
    nfkd = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in nfkd if not unicodedata.combining(c))


@lru_cache(maxsize=1)
def _stemmer():  # noqa: ANN202 - a PyStemmer Stemmer
    import Stemmer

    return Stemmer.Stemmer("french")


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_FRENCH

    return frozenset(fold(w) for w in (*STOPWORDS_FRENCH, *_QUESTION_WORDS))


def normalise_numbers(text: str) -> str:
    """"10.000", "10 000" and "10000" -> "10000"."""
    return _THOUSANDS.sub(lambda m: m.group(1) + re.sub(r"\D", "", m.group(2)), text)


def skeleton(word: str) -> str:
    """A key that spelling variants of a name share: ou->u, y->i, ph->f, doubled letters once."""
    w = fold(word).replace("ou", "u").replace("ph", "f").replace("y", "i").replace("w", "v")
    w = re.sub(r"(.)\1+", r"\1", w)
    return w[:-1] if len(w) > 4 and w.endswith("e") else w


@lru_cache(maxsize=500_000)
def _is_content(word: str) -> bool:
    return fold(word) not in stopwords() and (len(word) > 1 or word.isdigit())


def words(text: str) -> list[str]:
    """Content words of a text, elisions and stop words removed, numbers normalised, case kept."""
    text = normalise_numbers(_ELISION.sub(" ", text))
    return [w for w in _WORD.findall(text) if _is_content(w)]


# Per word, cached: a news archive repeats its words, and folding and stemming each occurrence anew made
# tokenising 94% of building a 2,000-chunk index (bench/scale.py under cProfile).
@lru_cache(maxsize=500_000)
def _word_tokens(word: str) -> tuple[str, ...]:
    low = word.lower()
    stem = fold(_stemmer().stemWord(low))
    return (stem, "~" + skeleton(low)) if not word.isdigit() and len(word) >= 4 else (stem,)


def indexed_text(chunk: Chunk) -> str:
    """What the keyword index reads of a chunk: its article's title, then its text."""
    return f"{chunk.title}\n{chunk.text}"


def _spelled(surface: set[str]) -> list[str]:
    """The distinct words of 4 letters or more, folded, sorted."""
    return sorted({f for w in surface if len(f := fold(w)) >= 4})


def _names(surface: set[str]) -> list[str]:
    """The words of 4 letters or more the corpus only ever writes capitalised (« Kremlin », « Peskov »),
    folded, sorted: the proper names a misspelt question word may be respelt to."""
    lower = {fold(w) for w in surface if w[:1].islower()}
    return sorted({f for w in surface if w[:1].isupper() and len(f := fold(w)) >= 4} - lower)


def tokenize(text: str) -> list[str]:
    """BM25 tokens: the folded stem of each content word, plus its skeleton for names and long words."""
    return [t for w in words(text) for t in _word_tokens(w)]


def _score_matrix(tokens: np.ndarray, counts: np.ndarray, lengths: np.ndarray, pairs: np.ndarray,
                  n_vocab: int, k1: float, b: float) -> dict:
    """bm25s's score matrix (CSC: a column per token, its chunks in order) from each chunk's distinct tokens
    and counts. Each score is computed in the same steps as bm25s's "lucene" method (float32 idf, float64 rest)."""
    df = np.bincount(tokens, minlength=n_vocab)
    n_docs = len(lengths)
    idf = np.log(1 + (n_docs - df + 0.5) / (df + 0.5)).astype(np.float32)
    indptr = np.zeros(n_vocab + 1, dtype=np.int64)
    np.cumsum(df, out=indptr[1:])
    data = np.empty(len(tokens), dtype=np.float32)
    indices = np.empty(len(tokens), dtype=np.int32)
    cursor = indptr[:-1].copy()
    avg = float(lengths.mean())
    end = 0
    for doc, (length, n) in enumerate(zip(lengths.tolist(), pairs.tolist(), strict=True)):
        start, end = end, end + n
        own, tf = tokens[start:end], counts[start:end].astype(np.float64)
        at = cursor[own]
        data[at] = idf[own] * (tf / (k1 * ((1 - b) + b * length / avg) + tf))
        indices[at] = doc
        cursor[own] += 1
    return {"data": data, "indices": indices, "indptr": indptr, "num_docs": n_docs}


class KeywordIndex:
    """BM25 over the chunks, saved as the `keyword/` folder of the index (bm25s's own plain files)."""

    def __init__(self, retriever, ids: np.ndarray, spelled: list[str],  # noqa: ANN001 - a bm25s.BM25
                 names: list[str]) -> None:
        self.retriever = retriever
        self.ids = ids  # row -> chunk id
        self.spelled = spelled  # the corpus's words of 4 letters or more, folded: for spelling correction
        self.names = names  # those of them the corpus only writes capitalised: for respelling

    def frequency(self, token: str) -> int:
        """How many chunks hold this token (its column's length in bm25s's matrix)."""
        column = self.retriever.vocab_dict.get(token) if len(self.ids) and token else None
        if column is None:  # unknown, or bm25s's empty token, which has no column
            return 0
        indptr = self.retriever.scores["indptr"]
        return int(indptr[column + 1] - indptr[column])

    @classmethod
    def build(cls, chunks: list[Chunk]) -> KeywordIndex:
        """BM25 ("lucene" scores, bm25s's defaults) with its score matrix built here: bm25s holds a Python
        int per token, then its matrix as COO and as CSC at once, past 24 GB at 1M chunks (bench/scale.py).
        Here each chunk keeps its distinct tokens and their counts, 6 bytes a pair, and the matrix is filled
        in place. The scores are bm25s's own, bit for bit (tests/test_keyword.py)."""
        import bm25s

        vocab: dict[str, int] = {}
        surface: set[str] = set()
        tokens, counts, lengths, pairs = array("i"), array("H"), array("i"), array("i")
        for c in chunks:
            ws = words(indexed_text(c))
            surface.update(ws)
            own = [t for w in ws for t in _word_tokens(w)] or ["~"]  # tokenize(), its words kept
            ids = np.array([vocab.setdefault(t, len(vocab)) for t in own], dtype=np.int32)
            unique, n = np.unique(ids, return_counts=True)
            tokens.frombytes(unique.tobytes())
            counts.frombytes(np.minimum(n, 65535).astype(np.uint16).tobytes())
            lengths.append(len(ids))
            pairs.append(len(unique))
        retriever = bm25s.BM25()
        if chunks:
            retriever.scores = _score_matrix(np.frombuffer(tokens, np.int32), np.frombuffer(counts, np.uint16),
                                             np.frombuffer(lengths, np.int32), np.frombuffer(pairs, np.int32),
                                             len(vocab), retriever.k1, retriever.b)
            vocab[""] = len(vocab)  # as bm25s.BM25.index adds it, for queries with no known token
            retriever.vocab_dict = vocab
            retriever.unique_token_ids_set = set(vocab.values())
            retriever.nonoccurrence_array = None
        return cls(retriever, np.array([c.id for c in chunks], dtype=np.int64), _spelled(surface), _names(surface))

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        if len(self.ids):
            self.retriever.save(str(folder))
        (folder / "ids.json").write_text(json.dumps(self.ids.tolist()))
        (folder / "words.json").write_text(json.dumps(self.spelled, ensure_ascii=False), encoding="utf-8")
        (folder / "names.json").write_text(json.dumps(self.names, ensure_ascii=False), encoding="utf-8")

    @staticmethod
    def is_current(folder: Path) -> bool:
        """False for a keyword folder written before words.json or names.json: the next build rewrites it."""
        return (folder / "words.json").is_file() and (folder / "names.json").is_file()

    @classmethod
    def load(cls, folder: Path, chunks: dict[int, Chunk]) -> KeywordIndex:
        import bm25s

        try:
            ids = np.array(json.loads((folder / "ids.json").read_text()), dtype=np.int64)
            retriever = bm25s.BM25.load(str(folder)) if len(ids) else bm25s.BM25()
        except (OSError, ValueError, TypeError, AttributeError) as e:  # the last two: JSON of another shape
            raise IndexMismatchError(f"{folder} is damaged ({e}); run `veille index build`") from None
        if set(ids.tolist()) != set(chunks):
            raise IndexMismatchError(f"{folder} does not match chunks.jsonl; run `veille index build`")
        surface: list[set[str]] = []  # the corpus's words, read from its chunks at most once

        def corpus_words() -> set[str]:
            if not surface:
                surface.append({w for c in chunks.values() for w in words(indexed_text(c))})
            return surface[0]

        lists = [_word_list(folder, name, corpus_words, of) for name, of in (("words", _spelled), ("names", _names))]
        return cls(retriever, ids, *lists)

    def search(self, query: str, k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """(chunk id, BM25 score) of the best k chunks that share a token with the query; with `allowed`,
        only among those chunk ids (corpus statistics stay the whole index's)."""
        if not len(self.ids):
            return []
        vocab = self.retriever.vocab_dict
        tokens = [t for t in tokenize(query) if t in vocab]
        if not tokens:
            return []
        scores = self.retriever.get_scores(tokens)
        if allowed is not None:
            scores = np.where(np.isin(self.ids, allowed), scores, 0.0)
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(self.ids[i]), float(scores[i])) for i in top if scores[i] > 0]


def _word_list(folder: Path, name: str, corpus_words: Callable[[], set[str]],
               of: Callable[[set[str]], list[str]]) -> list[str]:
    """words.json or names.json of a keyword folder; for an index built before the file, taken from the
    corpus's words (the next build writes it)."""
    try:
        listed = json.loads((folder / f"{name}.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        return of(corpus_words())
    except ValueError as e:
        raise IndexMismatchError(f"{folder} is damaged ({e}); run `veille index build`") from None
    if not (isinstance(listed, list) and all(isinstance(w, str) and w for w in listed)):
        raise IndexMismatchError(f"{folder} is damaged ({name}.json is not a list of words); "
                                 "run `veille index build`")
    return listed
