"""Quote lookup over the real seed articles: the three tiers, exact offsets, speakers, and questions."""

from __future__ import annotations

from pathlib import Path

import pytest

from veille.chunk import sentence_spans
from veille.errors import InputError
from veille.ingest import read_article
from veille.quotes import check_quote, find_in_articles, quote_answer, quote_from_question
from veille.speakers import speaker_of
from veille.types import QuoteMatch

SEEDS = Path(__file__).resolve().parents[1] / "seeds"
PUTIN = "003_2b871e9edb605c10.txt"


@pytest.fixture(scope="module")
def corpus() -> list[tuple[str, str, str, str | None]]:
    out = []
    for path in sorted(SEEDS.glob("*.txt")):
        article = read_article(path, path.name)
        out.append((path.name, path.read_bytes().decode("utf-8"), article.title, article.date))
    return out


def _originals(corpus: list[tuple[str, str, str, str | None]]) -> dict[str, str]:
    return {source: original for source, original, _, _ in corpus}


def _assert_offsets(corpus: list[tuple[str, str, str, str | None]], matches: list[QuoteMatch]) -> None:
    originals = _originals(corpus)
    for m in matches:
        original = originals[m.source]
        assert original[m.start : m.end] == m.text
        assert original[m.sentence_start : m.sentence_end] == m.sentence
        assert m.sentence_start <= m.start < m.end <= m.sentence_end
        assert 0.0 < m.score <= 1.0


def _context(original: str, sentence: str) -> tuple[str, str]:
    start = original.index(sentence)
    return sentence, original[max(0, start - 600) : start]


def _sentence_with(original: str, words: str) -> str:
    return next(original[a:b] for a, b in sentence_spans(original) if words in original[a:b])


def test_a_quote_as_written_is_found_exactly_with_its_sentence_and_speaker(corpus: list) -> None:
    matches = find_in_articles(corpus, "C'est notre affaire")
    assert [(m.source, m.kind, m.score) for m in matches] == [(PUTIN, "exact", 1.0)]
    m = matches[0]
    assert m.text == "C'est notre affaire"
    assert m.sentence == "C'est notre affaire."
    assert m.speaker == "Poutine"
    assert m.title.startswith("Nato dit des troupes") and m.date == "2024-10-29T11:12"
    _assert_offsets(corpus, matches)


@pytest.mark.parametrize("quote", ["c’est NOTRE affaire", "“C’est notre affaire”", "« c'est notre AFFAIRE »",
                                   "C'est  notre\u00a0affaire"])
def test_quote_marks_apostrophes_case_and_spaces_do_not_matter(corpus: list, quote: str) -> None:
    matches = find_in_articles(corpus, quote)
    assert [(m.source, m.kind, m.text) for m in matches] == [(PUTIN, "normalised", "C'est notre affaire")]
    _assert_offsets(corpus, matches)


def test_accents_and_dashes_do_not_matter_and_offsets_stay_exact(corpus: list) -> None:
    matches = find_in_articles(corpus, "le personnel militaire occidental TRAVAILLE depuis longtemps en ukraine")
    assert [m.kind for m in matches] == ["normalised"]
    assert matches[0].text == "Le personnel militaire occidental travaille depuis longtemps en Ukraine"
    assert find_in_articles(corpus, "village de Tsukuryne a Donetsk - la derniere localite")[0].text == (
        "village de Tsukuryne à Donetsk – la dernière localité")
    _assert_offsets(corpus, matches)


def test_straight_quotes_surrounding_the_text_are_ignored(corpus: list) -> None:
    matches = find_in_articles(corpus, '  "premier pas vers la guerre mondiale"  ')
    assert [(m.kind, m.text) for m in matches] == [("exact", "premier pas vers la guerre mondiale")]


def test_a_reworded_quote_is_found_fuzzily(corpus: list) -> None:
    matches = find_in_articles(corpus, "Le personnel militaire de l'Occident travaille en Ukraine depuis longtemps")
    assert matches and matches[0].kind == "fuzzy" and matches[0].source.startswith("000")
    assert 0.75 <= matches[0].score < 1.0
    assert matches[0].sentence.startswith("«Le personnel militaire occidental")
    assert matches[0].speaker == "Lavrov"
    _assert_offsets(corpus, matches)


def test_a_misspelt_quote_is_found_fuzzily(corpus: list) -> None:
    matches = find_in_articles(corpus, "leur peuple pourit sur le terrain")
    assert [(m.kind, m.text) for m in matches[:1]] == [("fuzzy", "leur peuple pourrit sur le terrain")]
    assert find_in_articles(corpus, "C'est notre afaire")[0].text == "C'est notre affaire"
    _assert_offsets(corpus, matches)


@pytest.mark.parametrize("phrase", [
    "le budget de la défense française", "la réforme des retraites en France",
    "nous devons protéger notre planète", "le président américain a parlé de la guerre",
])
def test_an_unrelated_phrase_matches_nothing(corpus: list, phrase: str) -> None:
    assert find_in_articles(corpus, phrase) == []


def test_a_word_is_not_found_inside_a_longer_word(corpus: list) -> None:
    assert all(m.text == "pays" for m in find_in_articles(corpus, "pays", limit=50))
    assert not any(m.kind == "exact" for m in find_in_articles(corpus, "Pyongyan"))


def test_results_are_sorted_deduplicated_and_limited(corpus: list) -> None:
    matches = find_in_articles(corpus, "troupes nord-coréennes", limit=50)
    assert len(matches) > 10 and all(m.kind == "exact" for m in matches)
    assert [m.source for m in matches] == sorted(m.source for m in matches)
    spans = [(m.source, m.start, m.end) for m in matches]
    assert len(set(spans)) == len(spans)
    assert len(find_in_articles(corpus, "troupes nord-coréennes", limit=3)) == 3
    _assert_offsets(corpus, matches)


def test_text_outside_the_article_body_is_not_searched(corpus: list) -> None:
    # 003 ends with a list of other stories (cut by ingest.clean); 002 with "Aucun commentaire".
    assert find_in_articles(corpus, "Le frère de Paul Pogba emprisonné") == []
    assert find_in_articles(corpus, "Aucun commentaire") == []


def test_offsets_hold_in_a_file_with_bom_crlf_and_decomposed_accents() -> None:
    original = "\ufeffTitre de l’article\r\n\r\nLe ministre a parlé.\r\n« Nous de\u0301ciderons », a dit M. Dupont.\r\n"
    articles = [("x.txt", original, "Titre", None)]
    for quote in ("nous décideronS", "Nous de\u0301ciderons", "a dit M. Dupont"):
        (m,) = find_in_articles(articles, quote)
        assert original[m.start : m.end] == m.text and original[m.sentence_start : m.sentence_end] == m.sentence
    assert m.speaker == "Dupont"
    assert find_in_articles(articles, "nous décideronS")[0].text == "Nous de\u0301ciderons"


@pytest.mark.parametrize("text", ["", "   ", "« »", "\n\t"])
def test_an_empty_quote_is_refused_with_a_hint(corpus: list, text: str) -> None:
    with pytest.raises(InputError, match="citation"):
        find_in_articles(corpus, text)


def test_an_overlong_quote_is_refused(corpus: list) -> None:
    with pytest.raises(InputError, match="2000"):
        find_in_articles(corpus, "mot " * 600)


def test_a_quote_running_over_sentences_is_credited_to_who_began_it(corpus: list) -> None:
    original = _originals(corpus)[PUTIN]
    assert speaker_of(*_context(original, "C'est notre affaire.")) == "Poutine"
    assert speaker_of(*_context(original, _sentence_with(original, "Que nous l'utilisons"))) == "Poutine"
    # A narrative sentence breaks the run: nobody is credited with it.
    assert speaker_of(*_context(original, _sentence_with(original, "Son avertissement que"))) is None


def test_a_pronoun_speaker_is_the_last_person_named(corpus: list) -> None:
    original = _originals(corpus)["004_b5e3709a28e5c677.txt"]
    assert speaker_of(*_context(original, _sentence_with(original, "Nous n’avons pas encore vu"))) == "Antony Blinken"
    assert speaker_of(*_context(original, _sentence_with(original, "Nous réaffirmons"))) == "Choe Son Hui"


def test_a_named_speaker_is_taken_from_the_sentence(corpus: list) -> None:
    o = _originals(corpus)
    assert speaker_of(_sentence_with(o["000_d899a9611e8e4f52.txt"], "Le personnel militaire")) == "Lavrov"
    assert speaker_of(_sentence_with(o["004_b5e3709a28e5c677.txt"], "Il ne fait aucun doute")) == "Choe Son Hui"
    assert speaker_of(_sentence_with(o["004_b5e3709a28e5c677.txt"], "Mme Choe a également")) == "Choe"
    assert speaker_of(_sentence_with(o["003_2b871e9edb605c10.txt"], "Sabrina Singh")) == "Sabrina Singh"
    assert speaker_of(_sentence_with(o["002_b8ce6e8f7f721623.txt"], "selon Mark Rutte")) == "Mark Rutte"
    assert speaker_of(_sentence_with(o["001_567d18c58954b188.txt"], "Lloyd Austin")) == "Lloyd Austin"


@pytest.mark.parametrize("sentence, speaker", [
    ("« C'est clair », a déclaré le ministre russe des Affaires étrangères, Sergueï Lavrov.", "Sergueï Lavrov"),
    ("« Nous agirons », a affirmé mardi la présidente Ursula von der Leyen.", "Ursula von der Leyen"),
    ("Le président Emmanuel Macron a estimé que « rien n'est joué ».", "Emmanuel Macron"),
    ("« Rien n'est joué », a-t-il ajouté.", None),  # a pronoun with nobody before it
    ("Les troupes sont arrivées lundi à Koursk.", None),
    ("Le ministère de la Défense a annoncé que le village était tombé.", None),
])
def test_speaker_patterns(sentence: str, speaker: str | None) -> None:
    assert speaker_of(sentence) == speaker


@pytest.mark.parametrize("question, quote", [
    ("qui a dit “C'est notre affaire” ?", "C'est notre affaire"),
    ("Qui a déclaré « Nous continuons de surveiller la situation de près » ?",
     "Nous continuons de surveiller la situation de près"),
    ("who said 'c'est notre affaire'", "c'est notre affaire"),
    ('Who said "it is our business"?', "it is our business"),
    ("Où apparaît « premier pas vers la guerre mondiale » ?", "premier pas vers la guerre mondiale"),
    ("d'où vient la citation « escalade importante » ?", "escalade importante"),
    ("qui a dit c'est notre affaire ?", "c'est notre affaire"),
    ("Qui a déclaré : nous serons toujours à vos côtés", "nous serons toujours à vos côtés"),
    ("Que dit l'OTAN sur les troupes nord-coréennes ?", None),
    ("Qui est Mark Rutte ?", None),
    ("qui a dit ?", None),
    ("", None),
])
def test_quote_questions_give_their_quotation(question: str, quote: str | None) -> None:
    assert quote_from_question(question) == quote


def test_a_question_found_quote_leads_to_its_article(corpus: list) -> None:
    quote = quote_from_question("qui a dit « c’est notre affaire » ?")
    assert quote is not None
    (m,) = find_in_articles(corpus, quote)
    assert (m.source, m.speaker) == (PUTIN, "Poutine")


def test_a_quote_over_two_sentences_gives_both_as_its_sentence(corpus: list) -> None:
    (m,) = find_in_articles(corpus, "un transfert d'expérience. C'est notre affaire")
    assert m.kind == "normalised" and m.text == "un transfert d'expérience.\nC'est notre affaire"
    assert m.sentence.startswith("Que nous l'utilisons") and m.sentence.endswith("C'est notre affaire.")
    assert m.speaker == "Poutine"
    _assert_offsets(corpus, [m])


def test_a_quote_answer_names_the_speaker_and_cites_the_passage_around_it(corpus: list) -> None:
    (m,) = find_in_articles(corpus, "c’est notre affaire")
    assert (m.source, m.kind, m.speaker, m.date) == (PUTIN, "normalised", "Poutine", "2024-10-29T11:12")
    original = next(o for s, o, _, _ in corpus if s == PUTIN)
    start, end = max(0, m.sentence_start - 40), min(len(original), m.sentence_end + 10)
    answer = quote_answer("qui a dit « c'est notre affaire » ?", m, start, end, original[start:end])
    assert answer.text.startswith("Poutine l'a dit") and answer.short == "Poutine" and answer.text.endswith("[1]")
    (c,) = answer.citations
    assert original[c.quote_start : c.quote_end] == c.quote == m.sentence
    with pytest.raises(InputError):
        check_quote(" ")
