"""The door of the served app: an ASGI middleware in front of every route, Gradio's own included.

Gradio checks its login cookie on some routes only, keeps a session after its user is removed, lets any
logged-in user fill its upload cache, and tries passwords without limit. Here, before Gradio sees a request:
- POST /login is answered here, through access.py's lock-outs and bounded password checks, each try recorded;
- a session holds only while its user is in the users file with the password it logged in with, so
  `veille user remove` (or a new password) ends it at its next request, on every route;
- without such a session only the login page and its static files are served;
- uploads to Gradio's cache are for editors, within a per-user quota of files and bytes (access.upload_quota).
"""

from __future__ import annotations

import logging
import math
import re
import secrets
import tempfile
from typing import IO

import anyio
from starlette.datastructures import Headers
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from veille.access import Access, LoginRefused, upload_quota
from veille.limits import Quota
from veille.settings import load_settings

logger = logging.getLogger(__name__)
# What the login page needs before anyone logs in, and the startup call Gradio's launch() makes to itself
# (it only runs the startup events, once); every other path needs a session.
PUBLIC = frozenset({"/", "/login", "/login/", "/logout", "/favicon.ico", "/robots.txt", "/manifest.json",
                    "/theme.css", "/gradio_api/theme.css", "/gradio_api/startup-events"})
STATIC = ("/assets/", "/static/", "/svelte/", "/pwa_icon")  # Gradio's own files: no user lookup needed
UPLOADS = frozenset({"/gradio_api/upload", "/gradio_api/upload/", "/gradio_api/process_recording",
                     "/gradio_api/process_recording/"})
MAX_LOGIN_BODY = 16_384
MAX_WAITING_LOGINS = 8  # logins waiting for a password check; more are refused at once, holding no thread
LOGIN_REQUIRED = "Connectez-vous : cette session est inconnue ou terminée (compte retiré ou mot de passe changé)."
STATUS = {"wrong": 400, "locked": 429, "busy": 503}  # 400: the status Gradio's login form shows as refused


class Guard:
    def __init__(self, app: ASGIApp, access: Access, quota: Quota | None = None) -> None:
        self.app, self.access = app, access
        self.quota = quota or upload_quota(load_settings())
        self.sessions: dict[str, str] = {}  # token -> its user's hash when it logged in
        self.waiting = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        path, method = scope["path"], scope.get("method", "GET")
        if path.startswith(STATIC):
            return await self.app(scope, receive, send)
        if self.access.login and method == "POST" and path in ("/login", "/login/"):
            return await self.log_in(scope, receive, send)
        user = self.user(scope)
        if self.access.login and user is None and path not in PUBLIC:
            return await refuse(scope, receive, send, 401, LOGIN_REQUIRED)
        if method == "POST" and path in UPLOADS:
            return await self.upload(scope, receive, send, user)
        await self.app(scope, receive, send)

    def user(self, scope: Scope) -> str | None:
        """The user of the request's session, or None. A session whose user was removed or given a new
        password is ended here, in Gradio's tokens too, so Gradio's own routes see nobody either."""
        gradio = scope.get("app")
        tokens: dict[str, str] | None = getattr(gradio, "tokens", None)
        if not self.access.login or tokens is None:
            return None
        cookies, cookie_id = HTTPConnection(scope).cookies, gradio.cookie_id  # type: ignore[union-attr]
        # The order Gradio reads them in (routes.get_current_user), so both see the same session.
        token = cookies.get(f"access-token-{cookie_id}") or cookies.get(f"access-token-unsecure-{cookie_id}")
        name = tokens.get(token) if token else None
        if token is None or name is None:
            return None
        if self.sessions.get(token) is None or self.sessions[token] != self.access.stamp(name):
            tokens.pop(token, None)
            self.sessions.pop(token, None)
            logger.info("session of %r ended: no longer a user, or a new password", name)
            return None
        return name

    async def log_in(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Gradio's /login, with lock-outs, bounded checks and the history; the same cookies on success."""
        address = _address(scope)
        body = await _read(receive, MAX_LOGIN_BODY)
        if body is None:
            return await refuse(scope, receive, send, 413, "Requête de connexion trop grande ou interrompue.")
        try:  # the browser sends multipart form data, gradio_client a urlencoded form
            form = await Request(scope, _replay(body)).form(max_files=0, max_fields=4)
            name, password = str(form.get("username", "")), str(form.get("password", ""))
        except Exception:  # noqa: BLE001 - any malformed form is the client's error, not the server's
            return await refuse(scope, receive, send, 400, "Formulaire de connexion illisible : username, password.")
        try:
            self.access.login_gate(name.strip()[:64], address)  # a locked-out flood costs no thread
            if self.waiting >= MAX_WAITING_LOGINS:
                raise LoginRefused("Trop de connexions en cours : réessayez dans quelques secondes.", 2.0, "busy")
            self.waiting += 1
            try:
                user = await anyio.to_thread.run_sync(self.access.log_in, name, password, address)
            finally:
                self.waiting -= 1
        except LoginRefused as e:
            return await refuse(scope, receive, send, STATUS[e.kind], str(e), e.retry_after)
        gradio = scope["app"]
        token = secrets.token_urlsafe(32)
        gradio.tokens[token] = user.name
        self.sessions[token] = user.hash
        if len(self.sessions) > 10_000:  # forget the sessions Gradio's /logout ended
            self.sessions = {t: h for t, h in self.sessions.items() if t in gradio.tokens}
        response = JSONResponse({"success": True})
        # The cookies Gradio's own /login sets (routes.py), so its routes know the session.
        response.set_cookie(f"access-token-{gradio.cookie_id}", token, httponly=True, samesite="none", secure=True)
        response.set_cookie(f"access-token-unsecure-{gradio.cookie_id}", token, httponly=True)
        await response(scope, receive, send)

    async def upload(self, scope: Scope, receive: Receive, send: Send, user: str | None) -> None:
        """An upload to Gradio's cache: editors only, counted against their quota before Gradio reads it."""
        role, who = self.access.role(user), user or _address(scope)
        if role != "editor":
            if self.access.read_only:
                reason = "Ce serveur est en lecture seule (--read-only) : aucun envoi de fichier."
            else:
                reason = f"Le compte « {who} » est lecteur : seuls les éditeurs peuvent envoyer des fichiers."
            return await refuse(scope, receive, send, 403, reason)
        headers = Headers(scope=scope)
        found = re.search(r'boundary="?([^";,\s]+)', headers.get("content-type", ""), re.IGNORECASE)
        length = headers.get("content-length", "")
        if not found or not length.isdigit():
            return await refuse(scope, receive, send, 411, "Envoi sans Content-Length ou sans multipart/form-data.")
        files_left, bytes_left, renew = self.quota.left(who)
        if files_left < 1 or int(length) > bytes_left:
            return await refuse(scope, receive, send, 429, self._over(who, renew), renew)
        spooled = await _spool(receive, int(length), b"--" + found.group(1).encode("latin-1"))
        if spooled is None:
            return await refuse(scope, receive, send, 400, "Envoi interrompu ou plus long que son Content-Length.")
        body, delimiters = spooled
        try:
            files = max(delimiters - 1, 0)  # the closing delimiter follows the last part
            if files > files_left:
                return await refuse(scope, receive, send, 429, self._over(who, renew), renew)
            self.quota.spend(who, files, int(length))
            await self.app(scope, _replay_file(body, receive), send)
        finally:
            body.close()

    def _over(self, who: str, renew: float) -> str:
        q = self.quota
        return (f"Quota d’envoi atteint pour « {who} » : {q.files} fichiers et {q.size // 1_000_000} Mo au plus "
                f"en {q.window / 60:.0f} min (VEILLE_UPLOAD_FILES, VEILLE_UPLOAD_MB). "
                f"Réessayez dans {max(1, math.ceil(renew))} s.")


async def refuse(scope: Scope, receive: Receive, send: Send, status: int, message: str,
                 retry_after: float = 0.0) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008, "reason": "login required"})
        return
    headers = {"Retry-After": str(max(1, math.ceil(retry_after)))} if retry_after else None
    await JSONResponse({"detail": message}, status, headers)(scope, receive, send)


def _address(scope: Scope) -> str:
    client = scope.get("client")
    return client[0] if client else "?"


async def _read(receive: Receive, limit: int) -> bytes | None:
    """The whole body, or None when it is longer than `limit` or the client went away."""
    body = b""
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        body += message.get("body", b"")
        if len(body) > limit:
            return None
        if not message.get("more_body"):
            return body


async def _spool(receive: Receive, length: int, delimiter: bytes) -> tuple[IO[bytes], int] | None:
    """The body in a temporary file (memory up to 1 MiB) and how many multipart delimiters it holds; None
    when it is not the `length` bytes announced. Gradio reads it only once it is known to fit the quota."""
    body = tempfile.SpooledTemporaryFile(max_size=1 << 20)
    size, count, tail = 0, 0, b""
    while True:
        message = await receive()
        chunk = message.get("body", b"") if message["type"] == "http.request" else b""
        size += len(chunk)
        if message["type"] != "http.request" or size > length:
            body.close()
            return None
        window = tail + chunk  # a delimiter may straddle two chunks; the tail is too short to hold a whole one
        count += window.count(delimiter)
        tail = window[-(len(delimiter) - 1):] if len(delimiter) > 1 else b""
        body.write(chunk)
        if not message.get("more_body"):
            break
    if size != length:
        body.close()
        return None
    body.seek(0)
    return body, count


def _replay(body: bytes) -> Receive:
    async def receive() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}
    return receive


def _replay_file(body: IO[bytes], receive: Receive) -> Receive:
    """The spooled body again, in chunks, then the client's own messages (its disconnect)."""
    done = False

    async def again() -> Message:
        nonlocal done
        if done:
            return await receive()
        chunk = body.read(1 << 16)
        done = not chunk
        return {"type": "http.request", "body": chunk, "more_body": not done}
    return again
