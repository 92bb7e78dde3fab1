"""Who said a quotation. French news credits a quote with an incise (« ... », a déclaré X), a subject
(X a déclaré que), "selon X", or a pronoun (a-t-il ajouté) that points back to the last named speaker.
"""

from __future__ import annotations

import re

from .chunk import sentence_spans

_UP = "A-ZÀ-ÖØ-ÞŒ"
_NAME = (rf"\b(?:(?:M\.|MM\.|Mmes?|Mlle|Dr|Pr)\s+)?[{_UP}][\w-]+"
         rf"(?:[ \u00a0](?:(?:von|van|der|den|de|du|des|di|da|del|bin|ben|al|el|ibn)[ \u00a0])*[{_UP}][\w-]+){{0,4}}")
_VERB = ("(?:déclaré|affirmé|ajouté|souligné|dit|indiqué|estimé|assuré|prévenu|expliqué|précisé|annoncé|confirmé|"
         "insisté|martelé|répondu|écrit|noté|rappelé|averti|jugé|reconnu|déploré|dénoncé|poursuivi|raconté|confié|"
         "relevé|promis|répété|alerté|commenté)")
_NOW = ("(?:déclare|affirme|ajoute|souligne|dit|indique|estime|assure|prévient|explique|précise|annonce|confirme|"
        "insiste|martèle|répond|écrit|note|rappelle|avertit|juge|reconnaît|déplore|dénonce|poursuit)")
_ADV = r"(?:(?:\w+ment|aussi|encore|déjà|enfin|ensuite|pourtant|toutefois|par ailleurs|pour sa part)\s+){0,2}"
_SAYS = rf"(?:(?:a|avait|aurait|ont|avaient)\s+{_ADV}{_VERB}|{_ADV}{_NOW})"
_NAME_RE = re.compile(_NAME)
_INCISE = re.compile(rf"[,»”\"]\s*{_SAYS}\s+(?P<rest>[^;:!?«»“”\"(\[]{{1,160}})")
# "X a déclaré", "X, porte-parole du Kremlin, a déclaré"; never a complement ("le ministère de la Défense a").
_SUBJECT = re.compile(rf"(?<!de )(?<!du )(?<!des )(?<!de la )(?<!d')(?<!d’)(?<!de l')(?<!de l’)(?P<name>{_NAME})"
                      rf"(?:\s*,\s*[a-zà-ÿ][^,;.«»“”]{{0,100}},|\s*,)?\s+{_SAYS}\b")
_PRONOUN = re.compile(rf"\b(?:(?:a|avait)-t-(?:il|elle)\s+{_ADV}{_VERB}|{_NOW}(?:-t)?-(?:il|elle)\b"
                      rf"|(?:Il|Elle)\s+{_SAYS}|selon (?:lui|elle)\b)")
_SELON = re.compile(rf"\b[Ss]elon\s+(?P<name>{_NAME})")
_LEAD = re.compile(rf"^(?:(?:lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche|hier|soir|matin|dernier|"
                   rf"(?:à|au|en|depuis) [{_UP}][\w-]+)[\s,]+)*")
_CUT = re.compile(r",\s*(?=[a-zà-ÿ])|(?<![A-Z])\.|\s+(?:que|qu['’]|qui|lors|après|avant|dans|devant|pour|sur|en|"
                  r"à|au|aux|selon|depuis|avec|et|dont|car|mais)\b")
_DEFINITE = re.compile(r"(?:l['’]|les?\s|la\s|sa\s|son\s|ses\s)")
# "a ajouté la ministre" points back to a person; "a confirmé la présence de" has an object, not a speaker.
_ROLE = re.compile(r"(?:l['’]|les?\s|la\s|sa\s|son\s)(?:[\w-]+\s){0,2}?(?:ministre|président|secrétaire|chef|"
                   r"porte-parole|responsable|dirigeant|ambassad|diplomate|général|chancel|direct|commandant|homologue)")
_PLACE = re.compile(r" d(?:u|es) ")  # "Corée du Nord": no one a pronoun could be guessed to be
_TITLE = re.compile(r"(?:M\.|MM\.|Mmes?|Mlle)\s")
_REPORTED = re.compile(r"\b(?:je|j['’]|nous|notre|nos|mon|ma|mes|vous|votre|vos)\b", re.IGNORECASE)
# Words a capitalised run may start with that are not the person: articles, pronouns, days, honorifics and
# roles. Honorifics are dropped on purpose, so that "M. Lavrov" and "Lavrov" are one speaker.
_NOT_NAME = frozenset(
    "le la les l un une des du de ce cet cette ces et mais il elle ils elles on en dans selon pour son sa ses "
    "leur lundi mardi mercredi jeudi vendredi samedi dimanche m. mm. mme mmes mlle dr pr président présidente "
    "secrétaire ministre premier première général chancelier chancelière sénateur député maire roi reine pape "
    "porte-parole chef directeur directrice ambassadeur von van der den di da del bin ben al el ibn".split()
)


def _person(raw: str) -> str | None:
    words = raw.split()
    while words and words[0].lower() in _NOT_NAME:
        words.pop(0)
    return " ".join(words) or None


def _subject(rest: str) -> tuple[str, str | None] | None:
    """Who an incise names: "Choe Son Hui", "le ministre russe ..., Sergueï Lavrov", or a role alone."""
    rest = _CUT.split(_LEAD.sub("", rest), maxsplit=1)[0].strip()
    names = [(m, p) for m in _NAME_RE.finditer(rest) if (p := _person(m.group()))]
    det = _DEFINITE.match(rest)
    for m, p in names:  # the apposition after a role, then a name right after the verb, then any full name
        if rest[: m.start()].rstrip().endswith(","):
            return "name", p
    for m, p in names:
        if m.start() == (det.end() if det else 0) or _TITLE.match(m.group()) or " " in p:
            return "name", p
    return ("role", None) if _ROLE.match(rest) else None


def _attribution(sentence: str) -> tuple[str, str | None] | None:
    """("name", X) when the sentence names its speaker, ("pronoun" or "role", None) when it points back."""
    for m in _INCISE.finditer(sentence):
        if found := _subject(m.group("rest")):
            return found
    for m in _SUBJECT.finditer(sentence):
        if name := _person(m.group("name")):
            return "name", name
    if _PRONOUN.search(sentence):
        return "pronoun", None
    selon = _SELON.search(sentence)
    return ("name", name) if selon and (name := _person(selon.group("name"))) else None


def speaker_of(sentence: str, context_before: str = "") -> str | None:
    """The person the sentence credits with its words (honorifics dropped), or None when none is said.

    ``context_before`` is the article text just before the sentence: a pronoun ("a-t-il ajouté") is the
    last named speaker there, and a quote running on over sentences that name nobody belongs to the
    attribution it started with, up to three sentences back.
    """
    spans = sentence_spans(context_before)
    found, k = _attribution(sentence), len(spans)
    if found is None and _REPORTED.search(sentence):
        while k > 0 and len(spans) - k < 3:
            k -= 1
            prev = context_before[spans[k][0] : spans[k][1]]
            found = _attribution(prev)
            if found or not _REPORTED.search(prev):
                break  # a narrative sentence ends the quote run: nobody to credit
    if found is None or found[0] == "name":
        return found[1] if found else None
    for a, b in reversed(spans[:k]):
        earlier = _attribution(context_before[a:b])
        if earlier and earlier[0] == "name":
            return earlier[1]
    if found[0] == "role":  # "la ministre" points back to someone who spoke, never to a mere mention
        return None
    names = [p for m in _NAME_RE.finditer(context_before[: spans[k - 1][1] if k else 0])
             if (p := _person(m.group())) and (_TITLE.match(m.group()) or " " in p and not _PLACE.search(p))]
    return names[-1] if names else None
