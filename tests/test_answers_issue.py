"""Answers that hold the answer: the short answer first, its offsets, dates, two sentences, synthesis,
and `veille eval` on SQuAD files (PIAF's format), v1.1 and v2.0."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from helpers import check_integrity, run
from veille import Index
from veille.squad import exact_match, f1, holds, normalise, read_squad

ROOT = Path(__file__).resolve().parents[1]
BLINKEN = "004_b5e3709a28e5c677.txt"


def _original(index: Index, source: str) -> str:
    return (index.corpus / source).read_bytes().decode("utf-8")


def test_the_blinken_answer_opens_with_both_figures_at_round_tripping_offsets(seed_index: Index) -> None:
    answer = seed_index.ask("combien de soldats selon Blinken ?")
    check_integrity(seed_index, answer)
    assert answer.short and "10.000" in answer.short and "8.000" in answer.short
    assert answer.text.startswith(answer.short) and answer.text.endswith("[1]")
    (c,) = [c for c in answer.citations if c.short_start is not None]
    assert c.source == BLINKEN and c.short == answer.short
    assert _original(seed_index, c.source)[c.short_start : c.short_end] == answer.short
    assert c.quote_start <= c.short_start < c.short_end <= c.quote_end


def test_ask_json_carries_the_short_answer_and_its_offsets(seed_index: Index) -> None:
    out = json.loads(run("ask", "combien de soldats selon Blinken ?", "--json", index=seed_index).stdout)
    assert "8.000" in out["short"]
    c = out["citations"][0]
    assert _original(seed_index, c["source"])[c["short_start"] : c["short_end"]] == out["short"]


def test_a_when_question_gets_the_relative_day_as_a_full_date(seed_index: Index) -> None:
    answer = seed_index.ask("Quand Zelensky a-t-il déclaré que 650 000 soldats russes avaient été tués ou blessés ?")
    assert not answer.abstained, answer.text
    assert answer.short == "lundi 28 octobre 2024", answer.text  # the article is of Tuesday 29 October 2024
    (c,) = [c for c in answer.citations if c.short_start is not None]
    assert _original(seed_index, c.source)[c.short_start : c.short_end].lower() == "lundi"


def test_a_synthesis_question_quotes_several_articles(seed_index: Index) -> None:
    answer = seed_index.ask("Résume la position de la Corée du Sud")
    check_integrity(seed_index, answer)
    assert not answer.abstained, answer.text
    assert len({c.source for c in answer.citations}) >= 2
    assert answer.text.count("«") >= 2


def test_a_role_in_one_sentence_gets_the_name_from_the_next(seed_index: Index) -> None:
    """« le ministre nord-coréen des Affaires étrangères » in the first sentence, « Choe Son Hui » in the second:
    both are quoted, as one citation, and the name is the short answer."""
    answer = seed_index.ask("Qui est la ministre nord-coréenne des Affaires étrangères ?")
    check_integrity(seed_index, answer)
    assert answer.short == "Choe Son Hui", answer.text
    (c,) = answer.citations
    assert c.source == BLINKEN and "ministre nord-coréen des Affaires étrangères" in c.quote and "Choe Son" in c.quote
    assert _original(seed_index, c.source)[c.short_start : c.short_end] == "Choe Son Hui"


def test_only_a_missing_figure_date_or_name_for_a_role_looks_in_the_next_sentence() -> None:
    from veille.answer import _ROLE, looks_like

    assert looks_like("Choe Son Hui", "person") and looks_like("Rupert de Salzbourg", "person")
    assert not looks_like("Corée du Nord sera aux côtés de la Russie", "person")
    assert not looks_like("Paris", "person")  # one capitalised word is a place as often as a name
    assert looks_like("10.000", "number") and looks_like("lundi", "date") and not looks_like("soldats", "number")
    # PIAF's « Qui est Laura ? » asks what she is (« entremetteuse »), not a name: only a role asks for a name
    assert _ROLE.match("Qui est la ministre nord-coréenne des Affaires étrangères ?")
    assert not _ROLE.match("Qui est Laura ?") and not _ROLE.match("Qui tue Cedric ?")


def test_an_unanswerable_question_still_abstains_with_no_short_answer(seed_index: Index) -> None:
    answer = seed_index.ask("Quel est le budget de la défense française ?")
    assert answer.abstained and answer.short is None


def test_an_unsure_best_sentence_brings_the_runner_up_and_a_sure_one_does_not() -> None:
    from veille.answer import runner_up
    from veille.evidence import Candidate
    from veille.types import Chunk, Hit

    chunk = Chunk(0, "a.txt", 0, 60, "Une phrase. Une autre phrase. Encore une.", "Titre")
    other = Chunk(1, "b.txt", 0, 30, "Une phrase d'un autre article.", "Autre")
    best = Candidate(Hit(chunk, 1.0), 1, ((0, 11),), "Une phrase.", share=0.45)
    overlapping = Candidate(Hit(chunk, 1.0), 1, ((0, 11), (12, 29)), "Une phrase. Une autre phrase.", share=0.3)
    second = Candidate(Hit(other, 0.8), 2, ((0, 30),), "Une phrase d'un autre article.", share=0.2)
    assert runner_up(best, [overlapping, second]) is second  # never the best sentence again, inside a pair
    sure = Candidate(Hit(chunk, 1.0), 1, ((0, 11),), "Une phrase.", share=0.7)
    assert runner_up(sure, [second]) is None


def test_a_figure_given_as_part_of_the_one_before_it_takes_that_one_in() -> None:
    """« jusqu'à 8.000 » of « 10.000 soldats »: both; a figure merely before the one chosen stays out."""
    from veille.answer import _with_figures
    from veille.evidence import Candidate
    from veille.types import Chunk, Hit

    def widened(text: str, figure: str) -> str:
        chunk = Chunk(0, "a.txt", 100, 100 + len(text), text, "Titre")
        cand = Candidate(Hit(chunk, 1.0), 1, ((100, 100 + len(text)),), text)
        a = text.index(figure)
        start, end, got = _with_figures(cand, a, a + len(figure), 80)
        assert text[start - 100 : end - 100] == got
        return got

    part = "Sur les 10.000 soldats entrés en Russie, jusqu'à 8.000 ont été déployés."
    assert widened(part, "8.000") == "10.000 soldats entrés en Russie, jusqu'à 8.000"
    assert widened("La ville comptait 25 000 habitants en 1990 et 30 000 aujourd’hui.", "30 000") == "30 000"


def test_the_french_squad_metric() -> None:
    assert normalise("L'armée « russe », les Américains") == ["armee", "russe", "americains"]
    assert exact_match("la Russie", "Russie") == 1.0 and exact_match("Russie", "France") == 0.0
    assert round(f1("le 28 octobre 2024", "28 octobre"), 3) == 0.8
    assert holds("Elles sont à Koursk.", "koursk") and not holds("Koursks", "koursk")


PARAGRAPHS = [
    ("Corée du Nord", "Citant les services de renseignement américains, le chef de la diplomatie Antony Blinken a "
     "indiqué jeudi que sur les 10.000 soldats nord-coréens entrés en Russie, jusqu'à 8.000 ont été déployés "
     "dans la région de Koursk.", [("Combien de soldats ont été déployés selon Blinken ?", "jusqu'à 8.000")]),
    ("Kremlin", "Le porte-parole du Kremlin, Dmitri Peskov, a refusé de commenter ces informations.",
     [("Qui est le porte-parole du Kremlin ?", "Dmitri Peskov")]),
]


def _squad(path: Path, v2: bool) -> Path:
    data = []
    for title, context, qas in PARAGRAPHS:
        rows = [{"id": f"{title}-{n}", "question": q, "answers": [{"text": a, "answer_start": context.find(a)}]}
                for n, (q, a) in enumerate(qas)]
        if v2:
            rows.append({"id": f"{title}-x", "question": "Quel est le budget de la défense française ?",
                         "answers": [], "is_impossible": True})
        data.append({"title": title, "paragraphs": [{"context": context, "qas": rows}]})
    path.write_text(json.dumps({"version": "v2.0" if v2 else "v1.1", "data": data}), encoding="utf-8")
    return path


def _eval(path: Path, tmp_path: Path, settings_env: dict[str, str]) -> dict:
    env = {**os.environ, **settings_env, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    out = subprocess.run([sys.executable, "-m", "veille.cli", "eval", str(path), "--json"], env=env,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_veille_eval_scores_a_squad_v1_file(tmp_path: Path, seed_index: Index) -> None:
    env = {"VEILLE_MODELS_DIR": str(seed_index.settings.models_dir)}
    result = _eval(_squad(tmp_path / "v1.json", v2=False), tmp_path, env)
    assert (result["questions"], result["answerable"], result["unanswerable"]) == (2, 2, 0)
    for key in ("answered", "gold_in_answer", "short_em", "short_f1", "gold_paragraph_cited", "false_refusals",
                "abstained_when_missing", "p50_ms", "p95_ms"):
        assert key in result
    rows = {r["question"]: r for r in result["rows"]}
    blinken = rows["Combien de soldats ont été déployés selon Blinken ?"]
    assert blinken["answered"] and blinken["holds"] and blinken["cited"] and "8.000" in blinken["short"]
    assert result["gold_in_answer"] == sum(r["holds"] for r in result["rows"]) / 2


def test_veille_eval_counts_a_v2_unanswerable_question_as_one_to_refuse(tmp_path: Path, seed_index: Index) -> None:
    env = {"VEILLE_MODELS_DIR": str(seed_index.settings.models_dir)}
    result = _eval(_squad(tmp_path / "v2.json", v2=True), tmp_path, env)
    assert (result["answerable"], result["unanswerable"]) == (2, 2)
    impossible = [r for r in result["rows"] if not r["answerable"]]
    assert result["abstained_when_missing"] == sum(r["abstained"] for r in impossible) / 2


def test_veille_eval_refuses_the_llm_mode_on_a_squad_file_and_says_what_to_run(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "veille.cli", "eval", str(_squad(tmp_path / "v1.json", v2=False)),
                          "--mode", "llm"], capture_output=True, text=True, timeout=120)
    assert out.returncode != 0 and "bench/llm_piaf.py" in out.stderr, out.stderr


def test_piafs_split_is_fixed_by_the_title_digest(tmp_path: Path) -> None:
    # sha256 of the titles starts with: Iran 1, France 7, Chine 9, Russie f
    data = [{"title": t, "paragraphs": [{"context": f"Un paragraphe sur {t}.",
                                         "qas": [{"id": t, "question": f"Quoi de {t} ?", "answers": [{"text": t}]}]}]}
            for t in ("Iran", "France", "Chine", "Russie")]
    path = tmp_path / "split.json"
    path.write_text(json.dumps({"data": data}), encoding="utf-8")
    dev, test = read_squad(path, "dev"), read_squad(path, "test")
    assert [(q.id, q.indexed) for q in dev.questions] == [("Iran", False), ("France", True)]
    assert [(q.id, q.indexed) for q in test.questions] == [("Chine", False), ("Russie", True)]
    assert not any("Iran" in t for t in dev.paragraphs.values()) and len(dev.paragraphs) == 3
    assert not any("Chine" in t for t in test.paragraphs.values()) and len(test.paragraphs) == 3


def test_the_short_answer_is_the_span_of_highest_expected_f1_when_the_model_hesitates() -> None:
    import numpy as np

    from veille.short import Span, expected_f1

    # « Paris en 1889 »: « Paris » alone is likeliest, but « Paris en 1889 », nearly as likely, shares words
    # with both the others, so its expected F1 is the highest
    spans = [Span(0, 5, {}, words=(0, 1)), Span(0, 14, {}, words=(0, 3)), Span(10, 14, {}, words=(2, 3))]
    gain = expected_f1(spans, np.array([1.0, 0.9, 0.8]), temperature=1.0)
    assert int(np.argmax(gain)) == 1
    # at a low temperature the likeliest span takes all the weight again
    assert int(np.argmax(expected_f1(spans, np.array([1.0, 0.9, 0.8]), temperature=0.01))) == 0


def test_the_names_a_question_writes_count_against_answering_when_the_evidence_lacks_them(seed_index: Index) -> None:
    from veille import abstain, evidence

    def names_missing(text: str) -> float:
        q = evidence.Question.read(text, seed_index.vocabulary)
        hits = seed_index.search(text, 8)
        return abstain.features(q, evidence.select(q, hits), hits, seed_index.vocabulary)["names_missing"]

    assert names_missing("Combien de soldats selon Blinken ?") == 0.0  # « Combien » opens it: not a name
    assert names_missing("Combien de soldats selon Justin Trudeau ?") == 1.0
    assert names_missing("combien de soldats selon Blinken et Trudeau ?") == 0.5
    assert abstain._NAME.findall("Où est-il ? Et Paris, Lyon ?") == ["Paris", "Lyon"]  # « Et » opens a sentence
