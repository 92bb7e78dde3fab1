"""PDFs: a two-page French report written by reportlab, added, answered from and cited with its page; a
PDF dropped in the corpus folder is read the same way; an image-only PDF is skipped with its reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import run
from veille import Index
from veille.errors import InputError
from veille.extract import pdf_article

PAGE_1 = ["Rapport sur l’éolien en mer en Bretagne",
          "La région Bretagne a publié mardi un rapport sur la filière de l’éolien en mer. Le document dresse "
          "le bilan des cinq dernières années et présente les projets en cours au large de Saint-Brieuc.",
          "Selon la région, le parc de Saint-Brieuc compte désormais 62 éoliennes en service."]
PAGE_2 = ["Emplois et formation",
          "Le rapport estime à 3 400 le nombre d’emplois créés dans la filière depuis 2019, dont la moitié dans "
          "les Côtes-d’Armor. La présidente de la commission, Anne Le Guen, juge ce chiffre « encourageant ».",
          "Un nouveau centre de formation aux métiers de la maintenance ouvrira à Lorient en 2026."]


def write_pdf(path: Path, pages: list[list[str]], title: str = "Rapport éolien") -> Path:
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate

    style = getSampleStyleSheet()["BodyText"]
    story: list = []
    for n, paragraphs in enumerate(pages):
        if n:
            story.append(PageBreak())
        story += [Paragraph(p, style) for p in paragraphs]
    SimpleDocTemplate(str(path), pagesize=A4, title=title, author="Région Bretagne").build(story)
    return path


def image_only_pdf(path: Path) -> Path:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path), pagesize=A4)
    c.setFillColorRGB(0.2, 0.4, 0.8)
    c.rect(100, 400, 300, 200, fill=1)  # a scanned page has pixels, no text layer
    c.showPage()
    c.save()
    return path


def test_the_text_layer_is_read_page_by_page(tmp_path: Path) -> None:
    pdf = write_pdf(tmp_path / "rapport.pdf", [PAGE_1, PAGE_2])
    got = pdf_article(pdf.read_bytes(), "rapport.pdf")
    assert got.name == "rapport.txt" and got.meta["title"] == "Rapport éolien"
    assert got.meta["author"] == "Région Bretagne" and len(got.meta["pages"]) == 2
    second = got.text[got.meta["pages"][1]:]
    assert "3 400" in second and "62 éoliennes" not in second and "62 éoliennes" in got.text
    with pytest.raises(InputError, match="no text layer"):
        pdf_article(image_only_pdf(tmp_path / "scan.pdf").read_bytes(), "scan.pdf")
    with pytest.raises(InputError, match="not a PDF"):
        pdf_article(b"%PDF-1.4 this is not really one", "faux.pdf")


def test_a_pdf_is_added_answered_from_and_cited_with_its_page(own_index: Index, tmp_path: Path) -> None:
    pdf = write_pdf(tmp_path / "rapport.pdf", [PAGE_1, PAGE_2])
    report = own_index.add([pdf])
    assert report.added == ("rapport.txt",)
    answer = own_index.ask("Combien d’emplois la filière de l’éolien en mer a-t-elle créés depuis 2019 ?")
    assert "3 400" in answer.text, answer.text
    c = answer.citations[0]
    assert c.source == "rapport.txt" and c.page == 2 and c.author == "Région Bretagne"
    stored = (own_index.corpus / "rapport.txt").read_text(encoding="utf-8")
    assert stored[c.start:c.end] == c.text and stored[c.quote_start:c.quote_end] == c.quote
    first = own_index.ask("Combien d’éoliennes compte le parc de Saint-Brieuc ?")
    assert "62" in first.text and first.citations[0].page == 1
    out = run("ask", "Combien d’emplois la filière de l’éolien en mer a-t-elle créés depuis 2019 ?", index=own_index)
    assert "p. 2" in out.stdout


def test_a_pdf_in_the_corpus_folder_is_indexed_and_a_scan_skipped_with_its_reason(own_index: Index,
                                                                                  tmp_path: Path) -> None:
    write_pdf(own_index.corpus / "note.pdf", [PAGE_2, PAGE_1], title="Note éolienne")
    image_only_pdf(own_index.corpus / "scan.pdf")
    report = own_index.update()
    assert "note.pdf" in report.added
    assert any(s == "scan.pdf" and "no text layer" in reason for s, reason in report.skipped)
    hits = own_index.search("emplois créés filière éolien 3 400", 3)
    assert hits[0].chunk.source == "note.pdf" and hits[0].chunk.page == 1
    cited = own_index.cite("juge ce chiffre « encourageant »")
    assert cited[0].source == "note.pdf" and cited[0].page == 1
    assert own_index.original("note.pdf")[cited[0].start:cited[0].end] == cited[0].text


def test_the_cli_refuses_an_image_only_pdf_and_changes_nothing(own_index: Index, tmp_path: Path) -> None:
    before = sorted(p.name for p in own_index.corpus.iterdir())
    out = run("index", "add", str(image_only_pdf(tmp_path / "scan.pdf")), index=own_index)
    assert out.returncode == 1 and "no text layer" in out.stderr and "OCR" in out.stderr
    assert sorted(p.name for p in own_index.corpus.iterdir()) == before

