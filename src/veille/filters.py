"""Which articles a question may be answered from: a period (--since, --until) and a source (--source).

A filter becomes the chunk ids it lets through, and search ranks only those (retrieve.py): the answer
comes from the best passages of the allowed articles, not from what is left of the best passages of all.
An article without a date is outside every period. The source glob is matched against the file name,
the site's name and the host of the article's URL, case-insensitively: `--source 'gazette*'`,
`--source '*.lemonde.fr'`, `--source 'rapports/*'`.
"""

from __future__ import annotations

import fnmatch
import re
import urllib.parse
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np

from .errors import InputError

_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_FR = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")


def parse_day(text: str, option: str) -> str:
    """YYYY-MM-DD from `2024-11-04` or `4/11/2024`, or an error naming the option."""
    text = text.strip()
    m = _ISO.match(text)
    parts = (int(m[1]), int(m[2]), int(m[3])) if m else None
    if parts is None and (f := _FR.match(text)):
        parts = (int(f[3]), int(f[2]), int(f[1]))
    try:
        if parts is None:
            raise ValueError
        return date(*parts).isoformat()
    except ValueError:
        raise InputError(f"{option} {text!r}: give a day as 2024-11-04 or 4/11/2024") from None


@dataclass(frozen=True)
class Where:
    since: str | None = None  # YYYY-MM-DD, inclusive
    until: str | None = None
    source: str | None = None  # a glob

    @classmethod
    def of(cls, since: str | None = None, until: str | None = None, source: str | None = None) -> Where | None:
        """The filter the options ask for, or None when they ask for none."""
        where = cls(parse_day(since, "--since") if since else None, parse_day(until, "--until") if until else None,
                    source.strip() if source and source.strip() else None)
        if where.since and where.until and where.since > where.until:
            raise InputError(f"--since {where.since} is after --until {where.until}; swap them")
        return where if where != cls() else None

    def admits(self, source: str, article: dict[str, Any]) -> bool:
        day = (article.get("date") or "")[:10]
        if (self.since or self.until) and not day:
            return False
        if self.since and day < self.since or self.until and day > self.until:
            return False
        if self.source:
            pattern = self.source.lower()
            host = urllib.parse.urlsplit(article.get("url") or "").hostname or ""
            names = [source.lower(), source.rsplit("/", 1)[-1].lower(), (article.get("site") or "").lower(), host]
            return any(n and fnmatch.fnmatchcase(n, pattern) for n in names)
        return True

    def describe(self) -> str:
        parts = [f"--since {self.since}" if self.since else "", f"--until {self.until}" if self.until else "",
                 f"--source {self.source}" if self.source else ""]
        return " ".join(p for p in parts if p)


def allowed_chunks(where: Where, articles: dict[str, dict[str, Any]]) -> np.ndarray:
    """The chunk ids of the articles the filter lets through (manifest["articles"]), or why there are none."""
    ids = [i for s, a in articles.items() if where.admits(s, a) for i in a["chunks"]]
    if not ids:
        raise InputError(f"no indexed article matches {where.describe()}; `veille index status` lists the "
                         "articles with their dates")
    return np.array(sorted(ids), dtype=np.int64)


class Scoped:
    """An index seen through a filter: what ask.py's Reader needs, searching only the allowed articles."""

    def __init__(self, index: Any, where: Where) -> None:  # an Index; typed loosely: no import of index.py
        self.index, self.where = index, where
        self.allowed = allowed_chunks(where, index.manifest["articles"])

    @property
    def vocabulary(self) -> Any:
        return self.index.vocabulary

    def search(self, query: str, k: int | None = None) -> Any:
        return self.index.search(query, k, allowed=self.allowed)

    def cite(self, text: str, limit: int = 10) -> Any:
        return self.index.cite(text, limit, where=self.where)

    def passage_around(self, source: str, offset: int) -> tuple[int, int, str]:
        return self.index.passage_around(source, offset)  # type: ignore[no-any-return]

    def token_states(self, text: str, layers: Any) -> Any:
        return self.index.token_states(text, layers)
