"""veille's chat UI (Gradio). It renders what the veille API returns; no retrieval logic lives here.

Run it with `veille serve` (or `python ui/app.py --index index/`). Offline by construction: analytics
off, no share link, system fonts only, so the page makes no request beyond this server.
"""

from __future__ import annotations

import argparse
import html
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import gradio as gr  # noqa: E402

from veille import Answer, Index, VeilleError, open_index  # noqa: E402
from veille.access import Access, AccessDenied  # noqa: E402
from veille.audit import history_path, summary  # noqa: E402
from veille.limits import RateLimiter  # noqa: E402
from veille.llm import configured as llm_configured  # noqa: E402
from veille.users import users_path  # noqa: E402

if not __package__:  # run as a file (`veille serve`, `python ui/app.py`): its folder's parent holds ui/
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from ui.render import CSS, JS, answer_html, articles_rows, cards_html, error_html, matches_html, report_md, status_md  # noqa: E402

EXAMPLES = [
    "combien de soldats selon Blinken ?",
    "Qui a dit « C'est notre affaire » ?",
    "Combien de soldats russes ont été tués ou blessés ?",
    "Qui est le porte-parole du Kremlin ?",
]
MAX_QUESTION = 2000


# -- what the page's events do: each calls the veille API and renders the result
def _who(request: gr.Request | None) -> tuple[str | None, str]:
    """The logged-in user (None without logins) and the address the request came from."""
    if request is None:
        return None, "?"
    return getattr(request, "username", None), request.client.host if request.client else "?"


class Handlers:
    def __init__(self, index: Index, access: Access) -> None:
        self.index, self.access = index, access

    @staticmethod
    def check(question: str) -> str:
        question = (question or "").strip()
        if not question:
            raise VeilleError("La question est vide : tapez une question, par exemple "
                              "« combien de soldats selon Blinken ? ».")
        if len(question) > MAX_QUESTION:
            raise VeilleError(f"La question fait {len(question):,} caractères ; limitez-la à {MAX_QUESTION:,}.")
        return question

    def ask(self, question: str, chat: list[dict], asked: list[str], mode: str = "extractive",
            request: gr.Request = None) -> Iterator[tuple]:  # type: ignore[assignment]
        """A chat turn; in llm mode the draft streams in, then the checked answer replaces it."""
        before = chat
        try:
            self.access.require_reader(*_who(request))
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
            yield before, gr.update(), question, asked, error_html(str(e))
            return
        assert answer is not None
        chat[-1] = {"role": "assistant", "content": answer_html(answer, turn)}
        yield chat, cards_html(answer, turn), "", [*asked, q], ""

    @staticmethod
    def clear() -> tuple:
        return [], cards_html(None, 0), "", [], ""

    def cite(self, quote: str, request: gr.Request = None) -> tuple[str, str]:  # type: ignore[assignment]
        try:
            self.access.require_reader(*_who(request))
            return matches_html(quote, self.index.cite(self.check(quote))), ""
        except VeilleError as e:
            return "", error_html(str(e))

    def refresh(self) -> tuple:
        sources = [a["source"] for a in self.index.articles()]
        return articles_rows(self.index), status_md(self.index), gr.update(choices=sources, value=None)

    def _editor(self, request: gr.Request | None, action: str, targets: list[str]) -> tuple[str, str]:
        """Who may make this change, checked here on the server; a refusal is an error the caller sees."""
        user, address = _who(request)
        try:
            return self.access.require_editor(user, address, action, targets), address
        except AccessDenied as e:
            raise gr.Error(str(e)) from None

    def _change(self, do: Any, who: tuple[str, str], action: str, targets: list[str]) -> tuple:
        """Run an index change and render its report, or the error that stopped it (index unchanged);
        either way the history records it."""
        try:
            report = do()
        except VeilleError as e:
            self.access.audit(who[0], action, targets, who[1], f"error: {e}")
            return (error_html(str(e)), *self.refresh())
        self.access.audit(who[0], action, targets, who[1], summary(report))
        return (report_md(report), *self.refresh())

    def upload(self, files: list[str] | None, progress: gr.Progress = gr.Progress(track_tqdm=True),
               request: gr.Request = None) -> tuple:  # type: ignore[assignment]
        names = [Path(f).name for f in files or []]
        who = self._editor(request, "upload", names)
        if not files:
            return (error_html("Aucun fichier : choisissez un ou plusieurs fichiers .txt, .md ou .html."),
                    *self.refresh())
        if len(files) > (cap := self.index.settings.max_upload_files):
            return (error_html(f"{len(files)} fichiers d’un coup : {cap} au plus par envoi "
                               "(VEILLE_MAX_UPLOAD_FILES)."), *self.refresh())
        progress(0, desc="Lecture des fichiers")
        return self._change(lambda: self.index.add([Path(f) for f in files], progress=True), who, "upload", names)

    def paste(self, title: str, text: str, progress: gr.Progress = gr.Progress(track_tqdm=True),
              request: gr.Request = None) -> tuple:  # type: ignore[assignment]
        title, text = (title or "").strip(), (text or "").strip()
        name = re.sub(r"[^\w-]+", "-", title.lower()).strip("-")[:60] + ".txt"
        who = self._editor(request, "paste", [name])
        if not title or not text:
            return (error_html("Donnez un titre et le texte de l’article."), *self.refresh())
        progress(0, desc="Indexation")
        return self._change(lambda: self.index.add_texts([(name, f"{title}\n\n{text}\n".encode())], progress=True),
                            who, "paste", [name])

    def remove(self, source: str | None, request: gr.Request = None) -> tuple:  # type: ignore[assignment]
        who = self._editor(request, "remove", [source or ""])
        if not source:
            return (error_html("Choisissez l’article à retirer."), *self.refresh())
        return self._change(lambda: self.index.remove([source]), who, "remove", [source])

    def session(self, request: gr.Request = None) -> tuple:  # type: ignore[assignment]
        """On page load: the editing controls for those who may change the index, and who is logged in."""
        user, _ = _who(request)
        role = self.access.role(user)
        names = {"reader": "lecteur", "editor": "éditeur"}
        line = ""
        if self.access.login and user:
            line = (f"Connecté : {html.escape(user)} ({names.get(role or '', 'sans rôle')}) · "
                    '<a href="/logout">Se déconnecter</a>')
        if self.access.read_only:
            line += (" · " if line else "") + "Lecture seule : l’index ne peut pas être modifié ici."
        return gr.update(visible=self.access.may_change(user)), line

    # JSON endpoints for programs (gradio_client): the same answers as the CLI's --json.
    def ask_json(self, question: str, mode: str = "extractive",
                 request: gr.Request = None) -> dict:  # type: ignore[assignment]
        """Answer a question with numbered citations (mode "extractive" or "llm")."""
        self.access.require_reader(*_who(request))
        return self.index.ask(self.check(question), mode=mode).to_dict()

    def cite_json(self, text: str, request: gr.Request = None) -> dict:  # type: ignore[assignment]
        """Where a quotation appears, and who said it."""
        self.access.require_reader(*_who(request))
        return {"quote": text, "matches": [m.to_dict() for m in self.index.cite(self.check(text))]}

    def status_json(self, request: gr.Request = None) -> dict:  # type: ignore[assignment]
        """What the index holds."""
        self.access.require_reader(*_who(request), counted=False)
        return self.index.status()


# -- the page
def open_access(index: Index, read_only: bool = False, no_login: bool = False) -> Access:
    s = index.settings
    return Access.open(users_path(index.folder), history_path(index.folder), read_only, no_login,
                       RateLimiter(s.ask_limit, s.ask_window))


def build_app(index: Index, mode: str | None = None, access: Access | None = None) -> gr.Blocks:
    access = access or open_access(index)
    h = Handlers(index, access)
    # Extractive stays the default even with a model: it quotes verbatim in 50 ms where the model takes
    # seconds (docs/BENCHMARKS.md). `veille serve --mode llm` makes the model the default.
    mode = mode or "extractive"
    with gr.Blocks(title="veille") as app:
        status = gr.Markdown(status_md(index), elem_id="status")
        whoami = gr.HTML("", elem_id="whoami")
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
            # Hidden until the page knows who it serves; the handlers check again on the server.
            with gr.Column(visible=not access.login and not access.read_only, elem_id="editing") as editing:
                with gr.Row():
                    with gr.Column(min_width=300):
                        files = gr.File(label="Ajouter des articles (.txt, .md, .html)", file_count="multiple",
                                        file_types=[".txt", ".md", ".html", ".htm"], type="filepath",
                                        elem_id="upload")
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
        app.load(h.session, None, [editing, whoami], api_name="session", **private)

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
    app = build_app(index, mode, access)
    app.queue(default_concurrency_limit=4)
    app.launch(server_name=host, server_port=port, share=False, theme=THEME, css=CSS, js=JS, ssr_mode=False,
               footer_links=[], max_file_size="5mb", show_error=True,
               auth=access.authenticate if access.login else None,
               auth_message="veille : connectez-vous avec le compte que `veille user add` vous a donné.")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="veille's chat UI")
    parser.add_argument("--index", type=Path, default=Path(os.environ.get("VEILLE_INDEX", "index")))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7860)
    parser.add_argument("--mode", choices=["extractive", "llm"], default=None)
    args = parser.parse_args()
    launch(args.index, args.host, args.port, mode=args.mode)
