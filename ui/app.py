"""veille's chat UI (Gradio). It renders what the veille API returns; no retrieval logic lives here.

Run it with `veille serve` (or `python ui/app.py --index index/`). Offline by construction: analytics
off, no share link, system fonts only, so the page makes no request beyond this server.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import gradio as gr  # noqa: E402

from veille import Index, open_index  # noqa: E402
from veille.access import Access  # noqa: E402
from veille.audit import summary  # noqa: E402
from veille.llm import configured as llm_configured  # noqa: E402

if not __package__:  # run as a file (`veille serve`, `python ui/app.py`): its folder's parent holds ui/
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from ui.handlers import MAX_QUESTION, Handlers, open_access  # noqa: E402
from ui.render import CSS, JS, articles_rows, cards_html, status_md  # noqa: E402

EXAMPLES = [
    "combien de soldats selon Blinken ?",
    "Qui a dit « C'est notre affaire » ?",
    "Combien de soldats russes ont été tués ou blessés ?",
    "Qui est le porte-parole du Kremlin ?",
]


def build_app(index: Index, mode: str | None = None, access: Access | None = None) -> gr.Blocks:
    access = access or open_access(index)
    h = Handlers(index, access)
    # Extractive stays the default even with a model: it quotes verbatim in 50 ms where the model takes
    # seconds (docs/BENCHMARKS.md). `veille serve --mode llm` makes the model the default.
    mode = mode or "extractive"
    with gr.Blocks(title="veille") as app:
        status = gr.Markdown(lambda: status_md(index), elem_id="status")  # read at each page load
        whoami = gr.HTML("", elem_id="whoami")
        notice = gr.HTML("", elem_id="notice")
        asked = gr.State([])
        with gr.Tab("Questions", id="chat"):
            with gr.Row(equal_height=False):
                with gr.Column(scale=3, min_width=320):
                    # Our HTML only: answers are built by render.py with every article character escaped, and
                    # Markdown and LaTeX are off, so an article's `![…](…)` or `$$\\href…$$` stays text.
                    chat = gr.Chatbot(label="Conversation", height=460, elem_id="chat", render_markdown=False,
                                      latex_delimiters=[], sanitize_html=True)
                    with gr.Row():
                        question = gr.Textbox(placeholder="Posez une question sur les articles…", show_label=False,
                                              scale=5, elem_id="question", max_length=MAX_QUESTION * 6)
                        send = gr.Button("Demander", variant="primary", scale=1, elem_id="send")
                    llm_note = "" if llm_configured() else " (aucun modèle : make llm)"
                    answer_mode = gr.Radio([("Citations extraites des articles", "extractive"),
                                            ("Rédigée par un modèle de langue, vérifiée" + llm_note, "llm")],
                                           value=mode, label="Mode de réponse", elem_id="mode")
                    with gr.Accordion("Filtrer les articles : période, source", open=False, elem_id="filters"):
                        with gr.Row():
                            since = gr.Textbox(label="Depuis le", placeholder="2024-11-04", elem_id="since")
                            until = gr.Textbox(label="Jusqu’au", placeholder="2024-11-30", elem_id="until")
                            source = gr.Textbox(label="Source (fichier, site ou domaine)",
                                                placeholder="lemonde.fr, gazette*", elem_id="source")
                    gr.Examples(EXAMPLES, inputs=question, label="Exemples")
                    clear = gr.Button("Nouvelle conversation", size="sm")
                with gr.Column(scale=2, min_width=300):
                    gr.Markdown("### Sources")
                    cards = gr.HTML(cards_html(None, 0), elem_id="cards")
        with gr.Tab("Citations", id="quotes"):
            quote = gr.Textbox(label="Citation à retrouver", placeholder="« C'est notre affaire »", elem_id="quote")
            find = gr.Button("Chercher", variant="primary", elem_id="find")
            found = gr.HTML(elem_id="matches")
        with gr.Tab("Articles", id="articles") as articles_tab:
            table = gr.Dataframe(lambda: articles_rows(index),  # read at each page load
                                 headers=["Titre", "Date", "Site", "Passages", "Fichier"],
                                 interactive=False, wrap=True, elem_id="articles", max_chars=140,
                                 column_widths=["44%", "14%", "14%", "8%", "20%"], show_search="search")
            # Hidden until the page knows who it serves; the handlers check again on the server.
            with gr.Column(visible=not access.login and not access.read_only, elem_id="editing") as editing:
                with gr.Row():
                    with gr.Column(min_width=300):
                        files = gr.File(label="Ajouter des articles (.txt, .md, .html, .pdf)",
                                        file_count="multiple", file_types=[".txt", ".md", ".html", ".htm", ".pdf"],
                                        type="filepath", elem_id="upload")
                        upload = gr.Button("Indexer les fichiers", variant="primary", elem_id="upload-btn")
                    with gr.Column(min_width=300):
                        paste_title = gr.Textbox(label="Titre de l’article collé", elem_id="paste-title")
                        paste_text = gr.Textbox(label="Texte de l’article", lines=6, elem_id="paste-text")
                        paste = gr.Button("Indexer le texte", elem_id="paste-btn")
                with gr.Row():
                    with gr.Column(min_width=300):
                        page_url = gr.Textbox(label="Ajouter une page web", placeholder="https://…", elem_id="page-url")
                        add_page = gr.Button("Lire et indexer la page", elem_id="page-btn")
                    with gr.Column(min_width=300):
                        feed_url = gr.Textbox(label="Suivre un flux RSS ou Atom", placeholder="https://…/rss.xml",
                                              elem_id="feed-url")
                        with gr.Row():
                            add_feed = gr.Button("Suivre", elem_id="feed-btn")
                            update = gr.Button("Mettre à jour les flux", elem_id="feeds-update-btn")
                with gr.Row():
                    # Choices are refreshed on load, on the tab and after every change; the server checks the
                    # name against the index at the time of the remove, so a newer article is never refused.
                    to_remove = gr.Dropdown([a["source"] for a in index.articles()], value=None,
                                            label="Article à retirer", elem_id="remove-choice",
                                            allow_custom_value=True)
                    remove = gr.Button("Retirer de l’index", variant="stop", elem_id="remove-btn")

        chat_io = ([question, chat, asked, answer_mode, since, until, source], [chat, cards, question, asked, notice])
        # The page's own events get names of their own: Gradio names an event after its function, and
        # "ask"/"cite" belong to the JSON endpoints below.
        private = {"api_visibility": "private"}
        send.click(h.ask, *chat_io, api_name="chat_send", **private)
        question.submit(h.ask, *chat_io, api_name="chat_submit", **private)
        clear.click(h.clear, None, [chat, cards, question, asked, notice], api_name="chat_clear", **private)
        find.click(h.cite, [quote, since, until, source], [found, notice], api_name="quote_find", **private)
        quote.submit(h.cite, [quote, since, until, source], [found, notice], api_name="quote_submit", **private)
        outputs = [notice, table, status, to_remove]
        upload.click(h.upload, files, outputs, api_name="upload")
        paste.click(h.paste, [paste_title, paste_text], outputs, api_name="paste")
        remove.click(h.remove, to_remove, outputs, api_name="remove")
        add_page.click(h.add_url, page_url, outputs, api_name="add_url")
        add_feed.click(h.add_feed, feed_url, outputs, api_name="add_feed")
        update.click(h.update_feeds, None, outputs, api_name="update_feeds")
        gr.api(h.ask_json, api_name="ask")
        gr.api(h.cite_json, api_name="cite")
        gr.api(h.status_json, api_name="status")
        app.load(h.session, None, [editing, whoami], api_name="session", **private)
        app.load(h.refresh, None, [table, status, to_remove], api_name="articles_load", **private)
        articles_tab.select(h.refresh, None, [table, status, to_remove], api_name="articles_tab", **private)

    return app


THEME = gr.themes.Default(font=[gr.themes.Font("system-ui"), "sans-serif"],
                          font_mono=[gr.themes.Font("ui-monospace"), "monospace"])


def launch(index_dir: Path, host: str = "127.0.0.1", port: int = 7860, index: Index | None = None,
           mode: str | None = None, read_only: bool = False, no_login: bool = False, watch: bool = False) -> None:
    index = index or open_index(index_dir)
    access = open_access(index, read_only, no_login)
    if watch:  # files dropped into the corpus folder are indexed by this process, the one that answers
        from veille.audit import local_user
        from veille.watch import watch_in_background

        def update() -> Any:
            report = index.update()
            access.audit(local_user(), "watch", [*report.added, *report.updated, *report.removed], "watch",
                         summary(report))
            return report

        watch_in_background(index.corpus, update)
    from starlette.middleware import Middleware

    from ui.guard import Guard
    from veille.access import upload_quota

    app = build_app(index, mode, access)
    app.queue(default_concurrency_limit=4)
    # The guard stands in front of every route, Gradio's own included: sessions of removed users, /login's
    # lock-outs and history, editors-only uploads within a quota (ui/guard.py).
    app.launch(server_name=host, server_port=port, share=False, theme=THEME, css=CSS, js=JS, ssr_mode=False,
               footer_links=[], max_file_size="5mb", show_error=True,
               auth=access.authenticate if access.login else None,
               auth_message="veille : connectez-vous avec le compte que `veille user add` vous a donné. Après "
                            "plusieurs échecs, la connexion est suspendue un moment, de plus en plus longtemps.",
               app_kwargs={"middleware": [Middleware(Guard, access=access, quota=upload_quota(index.settings))]})


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="veille's chat UI")
    parser.add_argument("--index", type=Path, default=Path(os.environ.get("VEILLE_INDEX", "index")))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7860)
    parser.add_argument("--mode", choices=["extractive", "llm"], default=None)
    args = parser.parse_args()
    launch(args.index, args.host, args.port, mode=args.mode)
