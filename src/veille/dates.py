"""Relative days read against the article's date: « lundi » in a Tuesday 29/10/2024 article is « lundi 28 octobre ».

A « quand » answer copied from an article (« hier », « jeudi », « le 3 novembre ») means nothing once the
article is out of sight, so the short answer is given as a full date. The conventions are the news ones:
a bare day name is the most recent one (the same day if it is today), « prochain » or a future tense the
coming one, « ce jeudi » the one of the article's week. Vague spans (« la semaine dernière ») stay as written.

`parse_date` reads the date an article's dateline gives (ingest.py), the date those days are read against.
"""

from __future__ import annotations

import logging
import re
from datetime import date, timedelta

from .keyword import fold

log = logging.getLogger(__name__)

WEEKDAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
          "novembre", "décembre")
_MONTH_NUMBER = {fold(m): n for n, m in enumerate(MONTHS, 1)}
# A written date, as a dateline gives it: « 29/10/2024 14h05 », « 2024-10-29T14:05 », « 29 octobre 2024 ».
_DATE_NUM = re.compile(r"\b(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})(?:\D{1,4}(\d{1,2})[:h](\d{2}))?")
_DATE_ISO = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2}))?")
_DATE_WORDS = re.compile(
    r"\b(\d{1,2})(?:er)?\s+(" + "|".join(MONTHS) + r")\s+(\d{4})(?:\D{1,4}(\d{1,2})\s*[:h]\s*(\d{2}))?",
    re.IGNORECASE,
)
_RELATIVE_DAYS = {"avant-hier": -2, "hier": -1, "aujourd'hui": 0, "ce matin": 0, "ce soir": 0,
                  "cet apres-midi": 0, "demain": 1, "apres-demain": 2}

_WD = "|".join(WEEKDAYS)
# Months only after a day number: « Mars » alone is a planet and « Mai » a name.
_MO = r"janvier|f[ée]vrier|mars|avril|mai|juin|juillet|ao[ûu]t|septembre|octobre|novembre|d[ée]cembre"
_EXPRESSION = re.compile(
    rf"""\b(?:
        (?:(?:le|ce)\s+)?(?:(?P<date_wd>{_WD})\s+)?(?P<day>1er|3[01]|[12]\d|0?[1-9])\s+(?P<month>{_MO})
            (?:\s+(?P<year>\d{{4}}))?
      | (?P<rel>avant-hier|apr[èe]s-demain|aujourd['’]hui|hier|demain|ce\s+matin|ce\s+soir|cet\s+apr[èe]s-midi)
      | (?:(?P<this>ce)\s+)?(?P<wd>{_WD})(?:\s+(?P<dir>dernier|prochain))?
    )(?:\s+(?:matin|soir|apr[èe]s-midi))?(?!\w)""",
    re.IGNORECASE | re.VERBOSE,
)
_ISO = re.compile(r"(\d{4}-\d{2}-\d{2})(?:[T ]|$)")


def find_relative(text: str) -> list[tuple[int, int, str]]:
    """The day expressions of a sentence as (start, end, phrase), with `text[start:end] == phrase`."""
    return [(m.start(), m.end(), m.group()) for m in _EXPRESSION.finditer(text)]


def resolve(phrase: str, article_date: str | None, *, future: bool = False) -> str | None:
    """The full French date the first day expression in `phrase` means in an article of `article_date`.

    `future` says the sentence speaks of what is to come (a future tense), so a bare day name is the
    coming one; « prochain » in the phrase says the same. None when the phrase holds no day expression,
    when the article has no readable date, or when the date does not exist (« 31 février »).
    """
    today = _article_day(article_date)
    m = _EXPRESSION.search(phrase or "")
    if today is None or m is None:
        return None
    future = future or bool(re.search(r"\bprochaine?s?\b", fold(phrase)))
    if m["day"]:
        return _calendar_date(m, today, future)
    if m["rel"]:
        offset = _RELATIVE_DAYS[re.sub(r"\s+", " ", fold(m["rel"])).replace("’", "'")]
        return spell(today + timedelta(days=offset))
    target = WEEKDAYS.index(fold(m["wd"]))
    direction = fold(m["dir"] or "")
    if direction == "dernier":
        future = False
    return spell(_weekday(today, target, this_week=bool(m["this"]), future=future, named=bool(direction)))


def spell(day: date, *, weekday: bool = True) -> str:
    """« mardi 29 octobre 2024 », « 1er novembre 2024 »: the way a French article writes a date."""
    number = "1er" if day.day == 1 else str(day.day)
    text = f"{number} {MONTHS[day.month - 1]} {day.year}"
    return f"{WEEKDAYS[day.weekday()]} {text}" if weekday else text


def _article_day(article_date: str | None) -> date | None:
    m = _ISO.match(article_date.strip()) if isinstance(article_date, str) else None
    try:
        return date.fromisoformat(m.group(1)) if m else None
    except ValueError:  # 2024-13-45: a well-shaped but impossible date
        log.debug("unreadable article date %r", article_date)
        return None


def _weekday(today: date, target: int, *, this_week: bool, future: bool, named: bool) -> date:
    """The day named `target` (0 = lundi) that the article means.

    « ce jeudi » is the Thursday of the article's week. A bare name is today when it is today's name
    (« mardi » in a Tuesday article: news write of their own day so), else the most recent one; a future
    tense turns it to the coming one. « mardi dernier » / « mardi prochain » on a Tuesday skip a week.
    """
    if this_week:
        day = today + timedelta(days=target - today.weekday())
        return day + timedelta(days=7) if future and day < today else day
    ahead = (target - today.weekday()) % 7
    if ahead == 0:
        return today + timedelta(days=(7 if future else -7) if named else 0)
    return today + timedelta(days=ahead if future else ahead - 7)


def _calendar_date(m: re.Match[str], today: date, future: bool) -> str | None:
    """A written day and month, with the article's year when none is written.

    Without a year the date is the one of that day and month nearest the article (so within half a year
    of it: « le 3 janvier » in a December article is next January), the first one not before the article
    when the sentence speaks of the future, and one that falls on the written weekday if there is one.
    """
    day = 1 if fold(m["day"]) == "1er" else int(m["day"])
    month = _MONTH_NUMBER[fold(m["month"])]
    years = [int(m["year"])] if m["year"] else [today.year - 1, today.year, today.year + 1]
    candidates = [d for d in (_date_or_none(y, month, day) for y in years) if d is not None]
    if m["date_wd"]:
        on_weekday = [d for d in candidates if WEEKDAYS[d.weekday()] == fold(m["date_wd"])]
        candidates = on_weekday or candidates
    if not m["year"] and future:
        candidates = [d for d in candidates if d >= today] or candidates
    if not candidates:
        return None
    best = min(candidates, key=lambda d: abs((d - today).days))
    return spell(best, weekday=bool(m["date_wd"]))


def _date_or_none(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:  # 31 novembre, 29 février outside leap years
        return None


def parse_date(text: str) -> str | None:
    """An ISO date (with time when given) from a French or numeric date, or None."""
    for pattern, order in ((_DATE_ISO, "ymd"), (_DATE_NUM, "dmy"), (_DATE_WORDS, "dmy")):
        m = pattern.search(text)
        if not m:
            continue
        parts = dict(zip(order, m.groups()[:3], strict=True))
        month = _MONTH_NUMBER.get(fold(parts["m"])) if not parts["m"].isdigit() else int(parts["m"])
        day, year = int(parts["d"]), int(parts["y"])
        if not month or not (1 <= month <= 12 and 1 <= day <= 31 and 1900 <= year <= 2100):
            continue
        iso = f"{year:04d}-{month:02d}-{day:02d}"
        hour, minute = m.group(4), m.group(5)
        if hour and minute and int(hour) < 24 and int(minute) < 60:
            iso += f"T{int(hour):02d}:{minute}"
        return iso
    return None
