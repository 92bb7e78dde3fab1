"""What the chat UI shows: HTML of veille's answers, citation cards and quote matches (pure functions
of veille's types, no Gradio), and the page's CSS and script."""

from __future__ import annotations

import html
import re
import urllib.parse
from typing import Any

from veille import Answer, Index, QuoteMatch

CSS = """
#status {font-size: 0.9em; opacity: 0.85}
#notice:empty {display: none}
.veille-cards {display: flex; flex-direction: column; gap: 0.6em}
.veille-card {border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 0.6em 0.8em;
  background: var(--background-fill-secondary); scroll-margin: 80px; transition: box-shadow .3s}
.veille-card.flash {box-shadow: 0 0 0 3px var(--color-accent)}
.veille-card h4 {margin: 0 0 .2em 0; font-size: 1em}
.veille-card .meta {font-size: .8em; opacity: .8; margin-bottom: .4em; word-break: break-all}
.veille-card .passage {font-size: .92em; line-height: 1.45; white-space: pre-wrap}
.veille-card mark {background: #ffe58a; color: #000; padding: 0 .1em}
.veille-card mark b.veille-short {background: #ffc94d; text-decoration: underline}
.veille-refusal {font-weight: 600}
a.veille-marker {font-weight: 600; text-decoration: none; cursor: pointer}
.veille-error {color: #b00020; font-weight: 600}
"""

# Clicking a marker [n] brings its card into view and makes it flash, wherever the marker is shown.
JS = """
() => {
  document.addEventListener('click', (event) => {
    const link = event.target.closest('a[href^="#cite-"]');
    if (!link) return;
    event.preventDefault();
    event.stopPropagation();
    const card = document.getElementById(link.getAttribute('href').slice(1));
    if (!card) return;
    card.scrollIntoView({behavior: 'smooth', block: 'center'});
    card.classList.add('flash');
    setTimeout(() => card.classList.remove('flash'), 1600);
  }, true);
}
"""


# -- rendering (pure functions of veille's types)
def text_html(text: str) -> str:
    """Article (or user) text as inert HTML: escaped, line breaks kept. The chat renders neither Markdown
    nor LaTeX (app.py), so `![x](http://…)`, `[x](javascript:…)` or `$$\\href{…}$$` stay characters."""
    return html.escape(text, quote=True).replace("\n", "<br>")


def answer_html(answer: Answer, turn: int) -> str:
    """The answer with each [n] that names one of its citations a link to its card: a link in the chat is
    always one veille made, never one an article's text brought."""
    text = text_html(answer.text)
    if answer.short and not answer.abstained:  # the answer opens with its short answer: in bold
        short = text_html(answer.short)
        if text.startswith(short):
            text = f'<b class="veille-short">{short}</b>{text[len(short):]}'
    cited = {str(c.n) for c in answer.citations}

    def marker(m: re.Match[str]) -> str:
        n = m.group(1)
        return f'<a class="veille-marker" href="#cite-{turn}-{n}">[{n}]</a>' if n in cited else m.group(0)
    text = re.sub(r"\[(\d+)\]", marker, text)
    if answer.abstained:
        return f'<span class="veille-refusal">{text}</span><br><small>Passages les plus proches à droite.</small>'
    if answer.understood:
        text += f"<br><small>Question comprise : « {text_html(answer.understood)} »</small>"
    if answer.mode == "llm":
        text += ("<br><small>Le brouillon du modèle n’a pas passé la vérification : réponse extraite des articles."
                 "</small>" if answer.fallback else
                 "<br><small>Rédigée par le modèle de langue, vérifiée phrase par phrase contre les passages.</small>")
    return text


def _highlight(passage: str, start: int, end: int, short: tuple[int, int] | None = None) -> str:
    """The passage with the quoted sentence marked, and inside it the short answer in bold."""
    if short is None or not start <= short[0] < short[1] <= end:
        inner = html.escape(passage[start:end])
    else:
        a, b = short
        inner = (html.escape(passage[start:a]) + '<b class="veille-short">' + html.escape(passage[a:b]) + "</b>"
                 + html.escape(passage[b:end]))
    return html.escape(passage[:start]) + "<mark>" + inner + "</mark>" + html.escape(passage[end:])


def _link(url: str | None) -> str:
    """The original page, opened beside veille: only the article's recorded http(s) address with a host, never
    a javascript: or data: one, nor one whose spaces or control characters could hide where it leads."""
    parts = urllib.parse.urlsplit(url or "")
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or any(
            ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url or ""):
        return ""
    return (f' · <a class="veille-original" href="{html.escape(url or "", quote=True)}" target="_blank" '
            f'rel="noopener noreferrer">page d’origine</a>')


def cards_html(answer: Answer | None, turn: int) -> str:
    if answer is None or not answer.citations:
        return "<p>Les sources de la réponse s’afficheront ici.</p>"
    head = "<p><b>Passages les plus proches</b> (aucun ne répond)</p>" if answer.abstained else ""
    cards = []
    for c in answer.citations:
        meta = " · ".join(x for x in (c.date or "", c.site or "", f"p. {c.page}" if c.page else "", c.source,
                                      f"score {c.score:.3f}", f"[{c.start}:{c.end}]") if x)
        short = (c.short_start - c.start, c.short_end - c.start) \
            if c.short_start is not None and c.short_end is not None else None
        passage = _highlight(c.text, c.quote_start - c.start, c.quote_end - c.start, short)
        cards.append(f'<div class="veille-card" id="cite-{turn}-{c.n}"><h4>[{c.n}] {html.escape(c.title)}</h4>'
                     f'<div class="meta">{html.escape(meta)}{_link(c.url)}</div>'
                     f'<div class="passage">{passage}</div></div>')
    return head + '<div class="veille-cards">' + "".join(cards) + "</div>"


def matches_html(quote: str, matches: list[QuoteMatch]) -> str:
    if not matches:
        return f"<p>Citation introuvable dans les articles indexés : « {html.escape(quote)} ».</p>"
    out = []
    for n, m in enumerate(matches, 1):
        who = f"<b>{html.escape(m.speaker)}</b>" if m.speaker else "locuteur non indiqué"
        sentence = _highlight(m.sentence, max(0, m.start - m.sentence_start), m.end - m.sentence_start)
        kind = {"exact": "exacte", "normalised": "à la typographie près", "fuzzy": f"approchée ({m.score:.2f})"}
        out.append(f'<div class="veille-card" id="quote-{n}"><h4>{html.escape(m.title)}</h4>'
                   f'<div class="meta">{html.escape(m.source)} · [{m.start}:{m.end}] · '
                   f'correspondance {kind.get(m.kind, m.kind)} · {who}{_link(m.url)}</div>'
                   f'<div class="passage">{sentence}</div></div>')
    return '<div class="veille-cards">' + "".join(out) + "</div>"


def status_md(index: Index) -> str:
    s = index.status()
    day, _, time = s["built_at"].partition("T")
    return (f"**veille** · {s['articles']} articles · {s['chunks']} passages · modèle {s['model']} · "
            f"index construit le {day} à {time[:5]} UTC")


def articles_rows(index: Index) -> list[list[Any]]:
    return [[a["title"], a["date"] or "", a.get("site") or "", a["chunks"], a["source"]] for a in index.articles()]


def error_html(message: str) -> str:
    return f'<p class="veille-error">⚠️ {html.escape(message)}</p>'


def report_md(report: Any) -> str:
    parts = [f"Index à jour : {report.articles} articles, {report.total_chunks} passages "
             f"({report.embedded_chunks} passage(s) calculé(s))."]
    parts += [f"Ajouté : {s}" for s in report.added] + [f"Retiré : {s}" for s in report.removed]
    parts += [f"Doublon ignoré : {d} (identique à {o})" for d, o in report.duplicates]
    return "<p>" + "<br>".join(html.escape(p) for p in parts) + "</p>"
