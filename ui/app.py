"""veille's chat UI (Gradio). It renders what the veille API returns; no retrieval logic lives here.

Run it with `veille serve` (or `python ui/app.py --index index/`). Offline by construction: analytics
off, no share link, system fonts only, so the page makes no request beyond this server.
"""

from __future__ import annotations

import argparse
import html
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import gradio as gr  # noqa: E402

from veille import Answer, Index, QuoteMatch, VeilleError, open_index  # noqa: E402
from veille.llm import configured as llm_configured  # noqa: E402

EXAMPLES = [
    "combien de soldats selon Blinken ?",
    "Qui a dit « C'est notre affaire » ?",
    "Combien de soldats russes ont été tués ou blessés ?",
    "Qui est le porte-parole du Kremlin ?",
]
MAX_QUESTION = 2000

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
def answer_html(answer: Answer, turn: int) -> str:
    """The answer with each [n] a link to its card."""
    text = html.escape(answer.text, quote=False)
    if answer.short and not answer.abstained:  # the answer opens with its short answer: in bold
        short = html.escape(answer.short, quote=False)
        if text.startswith(short):
            text = f'<b class="veille-short">{short}</b>{text[len(short):]}'
    text = re.sub(r"\[(\d+)\]",
                  lambda m: f'<a class="veille-marker" href="#cite-{turn}-{m.group(1)}">[{m.group(1)}]</a>', text)
    if answer.abstained:
        return f'<span class="veille-refusal">{text}</span><br><small>Passages les plus proches à droite.</small>'
    if answer.understood:
        text += f"<br><small>Question comprise : « {html.escape(answer.understood)} »</small>"
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


def cards_html(answer: Answer | None, turn: int) -> str:
    if answer is None or not answer.citations:
        return "<p>Les sources de la réponse s’afficheront ici.</p>"
    head = "<p><b>Passages les plus proches</b> (aucun ne répond)</p>" if answer.abstained else ""
    cards = []
    for c in answer.citations:
        meta = " · ".join(x for x in (c.source, c.date or "", f"score {c.score:.3f}", f"[{c.start}:{c.end}]") if x)
        short = (c.short_start - c.start, c.short_end - c.start) \
            if c.short_start is not None and c.short_end is not None else None
        passage = _highlight(c.text, c.quote_start - c.start, c.quote_end - c.start, short)
        cards.append(f'<div class="veille-card" id="cite-{turn}-{c.n}"><h4>[{c.n}] {html.escape(c.title)}</h4>'
                     f'<div class="meta">{html.escape(meta)}</div><div class="passage">{passage}</div></div>')
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
                   f'correspondance {kind.get(m.kind, m.kind)} · {who}</div>'
                   f'<div class="passage">{sentence}</div></div>')
    return '<div class="veille-cards">' + "".join(out) + "</div>"


def status_md(index: Index) -> str:
    s = index.status()
    day, _, time = s["built_at"].partition("T")
    return (f"**veille** · {s['articles']} articles · {s['chunks']} passages · modèle {s['model']} · "
            f"index construit le {day} à {time[:5]} UTC")


def articles_rows(index: Index) -> list[list[Any]]:
    return [[a["title"], a["date"] or "", a["chunks"], a["source"]] for a in index.articles()]


def _error(message: str) -> str:
    return f'<p class="veille-error">⚠️ {html.escape(message)}</p>'


def _report_md(report: Any) -> str:
    parts = [f"Index à jour : {report.articles} articles, {report.total_chunks} passages "
             f"({report.embedded_chunks} passage(s) calculé(s))."]
    parts += [f"Ajouté : {s}" for s in report.added] + [f"Retiré : {s}" for s in report.removed]
    parts += [f"Doublon ignoré : {d} (identique à {o})" for d, o in report.duplicates]
    return "<p>" + "<br>".join(html.escape(p) for p in parts) + "</p>"


# -- what the page's events do: each calls the veille API and renders the result
class Handlers:
    def __init__(self, index: Index) -> None:
        self.index = index

    @staticmethod
    def check(question: str) -> str:
        question = (question or "").strip()
        if not question:
            raise VeilleError("La question est vide : tapez une question, par exemple "
                              "« combien de soldats selon Blinken ? ».")
        if len(question) > MAX_QUESTION:
            raise VeilleError(f"La question fait {len(question):,} caractères ; limitez-la à {MAX_QUESTION:,}.")
        return question

    def ask(self, question: str, chat: list[dict], asked: list[str], mode: str = "extractive") -> Iterator[tuple]:
        """A chat turn; in llm mode the draft streams in, then the checked answer replaces it."""
        before = chat
        try:
            q = self.check(question)
            turn = len(asked) + 1
            chat = [*chat, {"role": "user", "content": q}, {"role": "assistant", "content": "…"}]
            answer, draft = None, ""
            for item in self.index.ask_stream(q, asked, mode):
                if isinstance(item, Answer):
                    answer = item
                    continue
                draft += item
                chat[-1] = {"role": "assistant", "content": html.escape(draft)
                            + " <small><i>(brouillon, vérification à venir)</i></small>"}
                yield chat, gr.update(), "", asked, ""
        except VeilleError as e:
            yield before, gr.update(), question, asked, _error(str(e))
            return
        assert answer is not None
        chat[-1] = {"role": "assistant", "content": answer_html(answer, turn)}
        yield chat, cards_html(answer, turn), "", [*asked, q], ""

    @staticmethod
    def clear() -> tuple:
        return [], cards_html(None, 0), "", [], ""

    def cite(self, quote: str) -> tuple[str, str]:
        try:
            return matches_html(quote, self.index.cite(self.check(quote))), ""
        except VeilleError as e:
            return "", _error(str(e))

    def refresh(self) -> tuple:
        sources = [a["source"] for a in self.index.articles()]
        return articles_rows(self.index), status_md(self.index), gr.update(choices=sources, value=None)

    def _change(self, do: Any) -> tuple:
        """Run an index change and render its report, or the error that stopped it (index unchanged)."""
        try:
            return (_report_md(do()), *self.refresh())
        except VeilleError as e:
            return (_error(str(e)), *self.refresh())

    def upload(self, files: list[str] | None, progress: gr.Progress = gr.Progress(track_tqdm=True)) -> tuple:
        if not files:
            return (_error("Aucun fichier : choisissez un ou plusieurs fichiers .txt, .md ou .html."), *self.refresh())
        progress(0, desc="Lecture des fichiers")
        return self._change(lambda: self.index.add([Path(f) for f in files], progress=True))

    def paste(self, title: str, text: str, progress: gr.Progress = gr.Progress(track_tqdm=True)) -> tuple:
        title, text = (title or "").strip(), (text or "").strip()
        if not title or not text:
            return (_error("Donnez un titre et le texte de l’article."), *self.refresh())
        name = re.sub(r"[^\w-]+", "-", title.lower()).strip("-")[:60] + ".txt"
        progress(0, desc="Indexation")
        return self._change(lambda: self.index.add_texts([(name, f"{title}\n\n{text}\n".encode())], progress=True))

    def remove(self, source: str | None) -> tuple:
        if not source:
            return (_error("Choisissez l’article à retirer."), *self.refresh())
        return self._change(lambda: self.index.remove([source]))

    # JSON endpoints for programs (gradio_client): the same answers as the CLI's --json.
    def ask_json(self, question: str, mode: str = "extractive") -> dict:
        """Answer a question with numbered citations (mode "extractive" or "llm")."""
        return self.index.ask(self.check(question), mode=mode).to_dict()

    def cite_json(self, text: str) -> dict:
        """Where a quotation appears, and who said it."""
        return {"quote": text, "matches": [m.to_dict() for m in self.index.cite(self.check(text))]}

    def status_json(self) -> dict:
        """What the index holds."""
        return self.index.status()


# -- the page
def build_app(index: Index, mode: str | None = None) -> gr.Blocks:
    h = Handlers(index)
    # Extractive stays the default even with a model: it quotes verbatim in 50 ms where the model takes
    # seconds (docs/BENCHMARKS.md). `veille serve --mode llm` makes the model the default.
    mode = mode or "extractive"
    with gr.Blocks(title="veille") as app:
        status = gr.Markdown(status_md(index), elem_id="status")
        notice = gr.HTML("", elem_id="notice")
        asked = gr.State([])
        with gr.Tab("Questions", id="chat"):
            with gr.Row(equal_height=False):
                with gr.Column(scale=3, min_width=320):
                    chat = gr.Chatbot(label="Conversation", height=460, elem_id="chat", sanitize_html=False)
                    with gr.Row():
                        question = gr.Textbox(placeholder="Posez une question sur les articles…", show_label=False,
                                              scale=5, elem_id="question", max_length=MAX_QUESTION * 6)
                        send = gr.Button("Demander", variant="primary", scale=1, elem_id="send")
                    llm_note = "" if llm_configured() else " (aucun modèle : make llm)"
                    answer_mode = gr.Radio([("Citations extraites des articles", "extractive"),
                                            ("Rédigée par un modèle de langue, vérifiée" + llm_note, "llm")],
                                           value=mode, label="Mode de réponse", elem_id="mode")
                    gr.Examples(EXAMPLES, inputs=question, label="Exemples")
                    clear = gr.Button("Nouvelle conversation", size="sm")
                with gr.Column(scale=2, min_width=300):
                    gr.Markdown("### Sources")
                    cards = gr.HTML(cards_html(None, 0), elem_id="cards")
        with gr.Tab("Citations", id="quotes"):
            quote = gr.Textbox(label="Citation à retrouver", placeholder="« C'est notre affaire »", elem_id="quote")
            find = gr.Button("Chercher", variant="primary", elem_id="find")
            found = gr.HTML(elem_id="matches")
        with gr.Tab("Articles", id="articles"):
            table = gr.Dataframe(articles_rows(index), headers=["Titre", "Date", "Passages", "Fichier"],
                                 interactive=False, wrap=True, elem_id="articles", max_chars=140,
                                 column_widths=["52%", "16%", "10%", "22%"], show_search="search")
            with gr.Row():
                with gr.Column(min_width=300):
                    files = gr.File(label="Ajouter des articles (.txt, .md, .html)", file_count="multiple",
                                    file_types=[".txt", ".md", ".html", ".htm"], type="filepath", elem_id="upload")
                    upload = gr.Button("Indexer les fichiers", variant="primary", elem_id="upload-btn")
                with gr.Column(min_width=300):
                    paste_title = gr.Textbox(label="Titre de l’article collé", elem_id="paste-title")
                    paste_text = gr.Textbox(label="Texte de l’article", lines=6, elem_id="paste-text")
                    paste = gr.Button("Indexer le texte", elem_id="paste-btn")
            with gr.Row():
                to_remove = gr.Dropdown([a["source"] for a in index.articles()], label="Article à retirer",
                                        elem_id="remove-choice")
                remove = gr.Button("Retirer de l’index", variant="stop", elem_id="remove-btn")

        chat_io = ([question, chat, asked, answer_mode], [chat, cards, question, asked, notice])
        # The page's own events get names of their own: Gradio names an event after its function, and
        # "ask"/"cite" belong to the JSON endpoints below.
        private = {"api_visibility": "private"}
        send.click(h.ask, *chat_io, api_name="chat_send", **private)
        question.submit(h.ask, *chat_io, api_name="chat_submit", **private)
        clear.click(h.clear, None, [chat, cards, question, asked, notice], api_name="chat_clear", **private)
        find.click(h.cite, quote, [found, notice], api_name="quote_find", **private)
        quote.submit(h.cite, quote, [found, notice], api_name="quote_submit", **private)
        outputs = [notice, table, status, to_remove]
        upload.click(h.upload, files, outputs, api_name="upload")
        paste.click(h.paste, [paste_title, paste_text], outputs, api_name="paste")
        remove.click(h.remove, to_remove, outputs, api_name="remove")
        gr.api(h.ask_json, api_name="ask")
        gr.api(h.cite_json, api_name="cite")
        gr.api(h.status_json, api_name="status")

    return app


THEME = gr.themes.Default(font=[gr.themes.Font("system-ui"), "sans-serif"],
                          font_mono=[gr.themes.Font("ui-monospace"), "monospace"])


def launch(index_dir: Path, host: str = "127.0.0.1", port: int = 7860, index: Index | None = None,
           mode: str | None = None) -> None:
    app = build_app(index or open_index(index_dir), mode)
    app.queue(default_concurrency_limit=4)
    app.launch(server_name=host, server_port=port, share=False, theme=THEME, css=CSS, js=JS, ssr_mode=False,
               footer_links=[], max_file_size="5mb", show_error=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="veille's chat UI")
    parser.add_argument("--index", type=Path, default=Path(os.environ.get("VEILLE_INDEX", "index")))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7860)
    parser.add_argument("--mode", choices=["extractive", "llm"], default=None)
    args = parser.parse_args()
    launch(args.index, args.host, args.port, mode=args.mode)
