"""A small news site on loopback for the tests: French article pages with site chrome, an Atom feed, an
RSS 2.0 feed, and the bad cases (404, a page over the size cap, JSON, a redirect loop). The test edits
`site.pages` and `site.feeds` while it runs and reads `site.requests`."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CHROME_TOP = ("<header><nav><a href='/'>Accueil</a> <a href='/monde'>Monde</a> <a href='/eco'>Économie</a>"
              "</nav><p>Abonnez-vous à notre newsletter</p></header>")
CHROME_BOTTOM = ("<aside><h3>Sur le même sujet</h3><ul><li><a href='/x'>Un autre article sans rapport</a></li>"
                 "<li><a href='/y'>La météo du week-end</a></li></ul></aside>"
                 "<footer>© La Gazette du Port 2024 · Mentions légales · Contact</footer>")


def article_page(title: str, date: str, author: str, paragraphs: list[str], canonical: str) -> str:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (f"<!doctype html><html lang='fr'><head><meta charset='utf-8'><title>{title} - La Gazette du Port"
            f"</title><meta property='og:title' content='{title}'><meta property='og:site_name' "
            f"content='La Gazette du Port'><meta name='author' content='{author}'><meta property="
            f"'article:published_time' content='{date}T08:00:00+01:00'><link rel='canonical' href='{canonical}'>"
            f"</head><body>{CHROME_TOP}<main><article><h1>{title}</h1><p class='byline'>Par {author}</p>{body}"
            f"</article></main>{CHROME_BOTTOM}</body></html>")


def atom(base: str, entries: list[tuple[str, str, str]]) -> str:
    """entries: (path, title, updated ISO)."""
    items = "".join(f"<entry><title>{t}</title><link href='{base}{p}'/><id>{base}{p}</id><updated>{u}</updated>"
                    f"<summary>{t}</summary></entry>" for p, t, u in entries)
    return (f"<?xml version='1.0' encoding='utf-8'?><feed xmlns='http://www.w3.org/2005/Atom'><title>La Gazette "
            f"du Port</title><id>{base}atom.xml</id><updated>2024-11-05T08:00:00Z</updated>{items}</feed>")


def rss(base: str, entries: list[tuple[str, str, str]]) -> str:
    """entries: (path, title, RFC 822 date)."""
    items = "".join(f"<item><title>{t}</title><link>{base}{p}</link><guid>{base}{p}</guid><pubDate>{d}</pubDate>"
                    f"</item>" for p, t, d in entries)
    return (f"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>Le Fil Régional</title>"
            f"<link>{base}</link><description>Dépêches</description>{items}</channel></rss>")


def send(handler: BaseHTTPRequestHandler, ctype: str, body: bytes, **headers: str) -> None:
    """A 200 answer with its type, length and any other headers."""
    handler.send_response(200)
    handler.send_header("Content-Type", ctype)
    handler.send_header("Content-Length", str(len(body)))
    for k, v in headers.items():
        handler.send_header(k, v)
    handler.end_headers()
    handler.wfile.write(body)


class NewsSite:
    def __init__(self) -> None:
        self.pages: dict[str, tuple[str, bytes]] = {}  # path -> (content type, body)
        self.redirects: dict[str, str] = {}
        self.requests: list[str] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                site.requests.append(self.path)
                if self.path in site.redirects:
                    self.send_response(302)
                    self.send_header("Location", site.redirects[self.path])
                    self.end_headers()
                    return
                if self.path not in site.pages:
                    self.send_error(404, "Not Found")
                    return
                send(self, *site.pages[self.path])

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def html(self, path: str, text: str) -> None:
        self.pages[path] = ("text/html; charset=utf-8", text.encode("utf-8"))

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
