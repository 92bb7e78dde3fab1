"""Which PDF text extractor veille uses: pypdf against pdfminer.six on PDFs written from known French text.

    python bench/pdf_extract.py

Writes PDFs with reportlab (flowing paragraphs over several pages, accents, « guillemets », figures with
thin spaces, a hyphenated word), reads them back with each library and scores the text against what was
written: the share of words recovered in order (difflib over words) and of accented words recovered
exactly, and the time per page. Prints a Markdown table (docs/BENCHMARKS.md).
"""

from __future__ import annotations

import difflib
import io
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEEDS = sorted((ROOT / "seeds").glob("*.txt"))


def write_pdf(paragraphs: list[str]) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import Paragraph, SimpleDocTemplate

    out = io.BytesIO()
    style = getSampleStyleSheet()["BodyText"]
    doc = SimpleDocTemplate(out, pagesize=A4)
    doc.build([Paragraph(p.replace("&", "&amp;").replace("<", "&lt;"), style) for p in paragraphs])
    return out.getvalue()


def with_pypdf(data: bytes) -> list[str]:
    from pypdf import PdfReader

    return [p.extract_text() or "" for p in PdfReader(io.BytesIO(data)).pages]


def with_pdfminer(data: bytes) -> list[str]:
    from pdfminer.high_level import extract_text

    return extract_text(io.BytesIO(data)).split("\f")


def words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def score(original: str, pages: list[str]) -> tuple[float, float]:
    a, b = words(original), words(" ".join(pages))
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    in_order = sum(m.size for m in matcher.get_matching_blocks()) / len(a)
    accented = [w for w in a if re.search(r"[àâçéèêëîïôûùüÿœ]", w)]
    got = set(b)
    return in_order, sum(w in got for w in accented) / max(1, len(accented))


def main() -> None:
    rows: dict[str, list[tuple[float, float, float]]] = {"pypdf": [], "pdfminer.six": []}
    pages_total = 0
    for path in SEEDS:
        paragraphs = [p.strip() for p in path.read_text(encoding="utf-8").split("\n\n") if p.strip()]
        data = write_pdf(paragraphs)
        for name, extract in (("pypdf", with_pypdf), ("pdfminer.six", with_pdfminer)):
            t = time.perf_counter()
            pages = extract(data)
            seconds = time.perf_counter() - t
            order, accents = score("\n".join(paragraphs), pages)
            rows[name].append((order, accents, seconds / max(1, len([p for p in pages if p.strip()]))))
        pages_total += len(with_pypdf(data))
    print(f"PDF text extraction, the {len(SEEDS)} seed articles written as PDFs by reportlab ({pages_total} pages; "
          f"`python bench/pdf_extract.py`)\n")
    print("| library | words recovered in order | accented words exact | ms a page (median) |")
    print("|---|---|---|---|")
    for name, r in rows.items():
        print(f"| {name} | {statistics.mean(x[0] for x in r):.4f} | {statistics.mean(x[1] for x in r):.4f} | "
              f"{statistics.median(x[2] for x in r) * 1000:.1f} |")


if __name__ == "__main__":
    sys.exit(main())
