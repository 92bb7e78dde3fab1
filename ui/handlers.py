"""What the page's events do: each checks who asks (on the server), calls the veille API and renders the
result with render.py. The JSON endpoints give programs (gradio_client) the same answers as the CLI's
--json."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gradio as gr

from ui.render import answer_html, articles_rows, cards_html, error_html, matches_html, report_md, status_md, text_html
from veille import Answer, Index, VeilleError
from veille.access import Access, AccessDenied
from veille.audit import history_path, summary
from veille.feeds import add_feed, fetch_page
from veille.feeds import update as update_feeds
from veille.filters import Where
from veille.limits import RateLimiter
from veille.users import users_path

MAX_QUESTION = 2000


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

    def ask(self, question: str, chat: list[dict], asked: list[str], mode: str = "extractive", since: str = "",
            until: str = "", source: str = "", request: gr.Request = None) -> Iterator[tuple]:  # type: ignore[assignment]
        """A chat turn; in llm mode the draft streams in, then the checked answer replaces it."""
        before = chat
        try:
            self.access.require_reader(*_who(request))
            q = self.check(question)
            where = Where.of(since, until, source)
            turn = len(asked) + 1
            chat = [*chat, {"role": "user", "content": text_html(q)}, {"role": "assistant", "content": "…"}]
            answer, draft = None, ""
            for item in self.index.ask_stream(q, asked, mode, where):
                if isinstance(item, Answer):
                    answer = item
                    continue
                draft += item
                chat[-1] = {"role": "assistant", "content": "<details><summary><small><i>brouillon du modèle, "
                            "vérification à venir…</i></small></summary><small>" + html.escape(draft)
                            + "</small></details>"}
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

    def cite(self, quote: str, since: str = "", until: str = "", source: str = "",
             request: gr.Request = None) -> tuple[str, str]:  # type: ignore[assignment]
        try:
            self.access.require_reader(*_who(request))
            where = Where.of(since, until, source)
            return matches_html(quote, self.index.cite(self.check(quote), where=where)), ""
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
            return (error_html("Aucun fichier : choisissez un ou plusieurs fichiers .txt, .md, .html ou .pdf."),
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

    def add_url(self, url: str, request: gr.Request = None) -> tuple:  # type: ignore[assignment]
        """Fetch one page (fetch.py's rules) and index its article."""
        url = (url or "").strip()
        who = self._editor(request, "add url", [url])
        if not url:
            return (error_html("Donnez l’adresse de la page (https://…)."), *self.refresh())

        def change() -> Any:
            page = fetch_page(url, max_bytes=self.index.settings.max_file_bytes)
            return self.index.add_extracted([page], replace=True)
        return self._change(change, who, "add url", [url])

    def add_feed(self, url: str, request: gr.Request = None) -> tuple:  # type: ignore[assignment]
        """Follow a feed, then bring its entries in."""
        url = (url or "").strip()
        who = self._editor(request, "feed add", [url])
        try:
            add_feed(self.index.corpus, url)
        except VeilleError as e:
            self.access.audit(who[0], "feed add", [url], who[1], f"error: {e}")
            return (error_html(str(e)), *self.refresh())
        self.access.audit(who[0], "feed add", [url], who[1], "ok")
        return self.update_feeds(request)

    def update_feeds(self, request: gr.Request = None) -> tuple:  # type: ignore[assignment]
        """Fetch every feed; index new entries and changed pages; list what failed and why."""
        who = self._editor(request, "feed update", [])
        try:
            feed = update_feeds(self.index.corpus, lambda items: self.index.add_extracted(items, replace=True),
                                max_bytes=self.index.settings.max_file_bytes,
                                max_entries=self.index.settings.feed_max_entries)
        except VeilleError as e:
            self.access.audit(who[0], "feed update", [], who[1], f"error: {e}")
            return (error_html(str(e)), *self.refresh())
        self.access.audit(who[0], "feed update", [], who[1], f"ok: {len(feed.new)} new, {len(feed.updated)} updated, "
                          f"{len(feed.failed)} failed, {len(feed.duplicates)} already indexed, {feed.left} left")
        lines = [f"Flux : {feed.feeds} suivi(s) · {len(feed.new)} nouvel(s) article(s) · {len(feed.updated)} mis à "
                 f"jour · {feed.unchanged} inchangé(s) · {feed.not_modified} sans changement (304)"]
        if feed.left:
            lines.append(f"{feed.left} article(s) au-delà de la limite de cette mise à jour "
                         f"(VEILLE_FEED_MAX_ENTRIES={self.index.settings.feed_max_entries}) : la suivante les lira.")
        if feed.waiting or feed.waiting_feeds:
            lines.append(f"En attente après un échec : {feed.waiting} page(s), {feed.waiting_feeds} flux "
                         "(nouvel essai plus tard ; `veille feed update --retry` les essaie tout de suite).")
        lines += [f"Ajouté : {s}" for s in feed.new] + [f"Mis à jour : {s}" for s in feed.updated]
        lines += [f"Doublon ignoré : {d} (identique à {o}, déjà indexé)" for d, o in feed.duplicates]
        lines += [f"Échec : {f['url']} — {f['reason']}" for f in feed.failed]
        return ("<p>" + "<br>".join(html.escape(x) for x in lines) + "</p>", *self.refresh())

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
    def ask_json(self, question: str, mode: str = "extractive", since: str = "", until: str = "", source: str = "",
                 request: gr.Request = None) -> dict:  # type: ignore[assignment]
        """Answer a question with numbered citations (mode "extractive" or "llm"); since/until (2024-11-04)
        and source (a glob on file, site or host) choose the articles it may answer from."""
        self.access.require_reader(*_who(request))
        where = Where.of(since, until, source)
        return self.index.ask(self.check(question), mode=mode, where=where).to_dict()

    def cite_json(self, text: str, since: str = "", until: str = "", source: str = "",
                  request: gr.Request = None) -> dict:  # type: ignore[assignment]
        """Where a quotation appears, and who said it."""
        self.access.require_reader(*_who(request))
        matches = self.index.cite(self.check(text), where=Where.of(since, until, source))
        return {"quote": text, "matches": [m.to_dict() for m in matches]}

    def status_json(self, request: gr.Request = None) -> dict:  # type: ignore[assignment]
        """What the index holds."""
        self.access.require_reader(*_who(request), counted=False)
        return self.index.status()


def open_access(index: Index, read_only: bool = False, no_login: bool = False) -> Access:
    s = index.settings
    return Access.open(users_path(index.folder), history_path(index.folder), read_only, no_login,
                       RateLimiter(s.ask_limit, s.ask_window), s)


