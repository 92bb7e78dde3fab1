"""What an article's text can do to the page: nothing. Markdown, LaTeX and HTML in an article are shown as
the article's characters in the chat, the cards and the quote matches (render.py on table-written answers,
then the real page in Debian's chromium); and an article added after the page was built can be removed at
once, from the page and from gradio_client."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from ui.render import answer_html, cards_html, matches_html

from served import ask, copy_index, serving, start_browser
from veille import Answer, Citation, Index, QuoteMatch

OUTSIDE = "198.51.100.7"  # TEST-NET-2: never reached; a request to it would show in the page's log
# Each form an article could use to make the chat show a picture, a link or run a script.
PAYLOADS = [
    f"![carte](http://{OUTSIDE}/pixel.png)",
    f"[le service de connexion](http://{OUTSIDE}/login)",
    "[ici](javascript:alert(document.cookie))",
    "[ici](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    f"<http://{OUTSIDE}/auto>",
    f"http://{OUTSIDE}/bare www.example.org",
    f"[ref]: http://{OUTSIDE}/refdef",
    "$$\\href{javascript:alert(1)}{ici}$$",
    "$\\href{javascript:alert(1)}{ici}$",
    "\\(\\href{javascript:alert(1)}{ici}\\)",
    f"<img src=http://{OUTSIDE}/tag.png onerror=alert(1)>",
    "<script>alert(1)</script>",
    '<a href="javascript:alert(1)">lien</a>',
    f"<svg><image href='http://{OUTSIDE}/svg.png'/></svg>",
    "```mermaid\ngraph TD; A-->B\n```",
    "**gras** _penché_ `code` [^1]",
]
ALLOWED = {"a", "b", "br", "small", "span", "mark", "div", "h4", "p", "i", "details", "summary"}


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def _tags(html_text: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(html_text)
    return parser.tags


def _only_veille_markup(html_text: str, url: str | None = None) -> None:
    for tag, attrs in _tags(html_text):
        assert tag in ALLOWED, f"<{tag}> from an article's text: {html_text[:200]}"
        assert not any(k.startswith("on") or k in ("src", "style") for k in attrs), (tag, attrs)
        if tag == "a":
            assert attrs.get("class") in ("veille-marker", "veille-original"), attrs
            assert (attrs.get("href") or "").startswith("#cite-") or attrs.get("href") == url, attrs


def _citation(text: str, url: str | None = "https://www.example.org/article") -> Citation:
    return Citation(n=1, source="a.txt", title=text[:40], date=None, start=0, end=len(text), text=text, score=0.9,
                    quote_start=0, quote_end=len(text), url=url)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_an_articles_markup_is_rendered_as_its_characters(payload: str) -> None:
    text = f"Le ministre a promis 400 éoliennes {payload} [2] avant 2030 [1]."
    answer = Answer(question="Combien d'éoliennes ?", text=text, citations=(_citation(text),), short="400")
    for out in (answer_html(answer, 1), cards_html(answer, 1)):
        _only_veille_markup(out, "https://www.example.org/article")
        assert "[2]" in re.sub(r"<[^>]+>", "", out)  # a number no citation has stays text, not a link
    match = QuoteMatch(source="a.txt", title=payload, start=21, end=34, text=text[21:34], sentence_start=0,
                       sentence_end=len(text), sentence=text, speaker=payload, kind="exact")
    _only_veille_markup(matches_html(payload, [match]))


@pytest.mark.parametrize("url", ["javascript:alert(1)", "data:text/html,x", "JaVaScRiPt:alert(1)", "//evil.example/x",
                                 "http://", "https://ex ample.org/", "https://example.org/\nx", "file:///etc/passwd"])
def test_only_a_recorded_http_address_becomes_the_original_page_link(url: str) -> None:
    text = "Une phrase."
    out = cards_html(Answer(question="q", text="Une phrase. [1]", citations=(_citation(text, url),)), 1)
    assert "veille-original" not in out


HOSTILE = ("Éoliennes en mer : le plan du ministre\n\n"
           "Le ministre Armand Lefrançois a promis 412 éoliennes en mer d’ici 2031 "
           + " ".join(p.replace("\n", " ") for p in PAYLOADS) + " pour la façade atlantique.\n\n"
           "Le chantier commencera à Saint-Nazaire au printemps.\n")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, seed_dirs: tuple[Path, Path], seed_index: Index) -> Iterator[dict]:
    where = copy_index(tmp_path_factory.mktemp("hostile-ui"), seed_dirs, seed_index.settings.models_dir)
    with serving(where) as running:
        yield running


def test_a_quoted_article_shows_its_markdown_and_latex_as_text_in_the_page(served: dict, tmp_path: Path) -> None:
    from gradio_client import Client

    title = f"Éoliennes en mer ![t](http://{OUTSIDE}/t.png) <img src=x onerror=alert(1)> [l](javascript:alert(1))"
    Client(served["url"], verbose=False).predict(title, HOSTILE, api_name="/paste")
    pw, browser = start_browser()
    outside: list[str] = []
    try:
        page = browser.new_page(viewport={"width": 1366, "height": 900})
        page.on("request", lambda r: outside.append(r.url) if OUTSIDE in r.url or "example.org" in r.url else None)
        page.on("dialog", lambda d: (outside.append("dialog: " + d.message), d.dismiss()))
        page.goto(served["url"])
        ask(page, "Combien d’éoliennes en mer le ministre Lefrançois a-t-il promis ?")
        page.locator("#chat a.veille-marker").first.wait_for(timeout=60_000)
        chat = page.locator("#chat")
        assert "412" in chat.inner_text()
        shown = chat.inner_text()
        for visible in ("![carte](", "[le service de connexion](", "$$\\href{javascript:", "<img src=", "<script>"):
            assert visible in shown, f"{visible!r} is not shown as text in the chat"
        hrefs = page.eval_on_selector_all("#chat a, #cards a", "els => els.map(e => e.getAttribute('href'))")
        assert all(h.startswith("#cite-") for h in hrefs), hrefs
        for selector in ("img", "svg image", "script:not([src])", ".katex", ".mermaid", "code", "strong", "em"):
            assert page.locator(f"#chat .message-row {selector}, #cards {selector}").count() == 0, selector
        page.screenshot(path=str(tmp_path / "hostile.png"), full_page=True)
        page.get_by_role("tab", name="Articles").click()  # the title, in the table and the remove choices
        page.locator("#articles", has_text="![t](").wait_for(timeout=30_000)
        assert page.locator("#articles img, #articles a[href], #articles .katex").count() == 0
    finally:
        browser.close()
        pw.stop()
    assert outside == [], f"the page reached outside or ran a script: {outside}"


def test_an_article_added_after_the_page_was_built_is_removed_at_once(served: dict) -> None:
    from gradio_client import Client

    pw, browser = start_browser()
    try:
        page = browser.new_page(viewport={"width": 1366, "height": 900})
        page.goto(served["url"])  # this page was built before the article below existed
        page.locator("#question textarea").wait_for()
        client = Client(served["url"], verbose=False)
        added = [re.search(r"Ajouté : ([^<]+)", client.predict(title, text, api_name="/paste")[0]).group(1)
                 for title, text in [("Tempête sur la Manche", "La tempête Ciarán a frappé la Manche jeudi."),
                                     ("Grève à la SNCF", "Les cheminots sont en grève depuis lundi."),
                                     ("Vendanges précoces", "Les vendanges ont commencé en août en Alsace.")]]
        notice = client.predict(added[1], api_name="/remove")[0]  # from gradio_client, at once
        assert f"Retiré : {added[1]}" in notice, notice
        page.get_by_role("tab", name="Articles").click()
        page.locator("#articles", has_text=added[0]).wait_for(timeout=30_000)
        assert added[1] not in page.locator("#articles").inner_text()
        page.locator("#remove-choice input").fill(added[0])
        page.locator("#remove-choice input").press("Enter")
        page.locator("#remove-btn").click()
        page.get_by_text(f"Retiré : {added[0]}").wait_for(timeout=120_000)
        page.wait_for_function("name => !document.querySelector('#articles').innerText.includes(name)",
                               arg=added[0], timeout=30_000)
        assert "not in the list of choices" not in page.locator("body").inner_text()
        fresh = browser.new_page(viewport={"width": 1366, "height": 900})
        fresh.goto(served["url"])
        fresh.get_by_role("tab", name="Articles").click()
        fresh.locator("#articles", has_text=added[2]).wait_for(timeout=30_000)
        assert added[0] not in fresh.locator("#articles").inner_text()
    finally:
        browser.close()
        pw.stop()
