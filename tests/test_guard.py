"""Hostile input against a served veille's logins (issue 30, items 6 and 7): every route Gradio serves refuses
a session whose user was removed; uploads to Gradio's cache are for editors, within a quota; wrong passwords
lock the name, then the address, even for the right password; every login is in the history. The limiters
themselves are driven by a fake clock."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from served import cli, copy_index, serving
from veille import Index
from veille.access import Access, LoginRefused, login_limits, upload_quota
from veille.audit import read_history
from veille.errors import InputError
from veille.limits import Backoff, Quota
from veille.settings import load_settings
from veille.users import add_user, remove_user

READER, EDITOR = ("lea", "lecture-2026"), ("marc", "edition-2026")
# Without a session, only the login page and the files it is drawn with; Gradio's launch() calls
# startup-events on itself. Everything else Gradio serves must answer 401.
OPEN = {"/", "/login", "/login/", "/logout", "/favicon.ico", "/robots.txt", "/manifest.json", "/theme.css",
        "/gradio_api/theme.css", "/gradio_api/startup-events"}
STATIC = ("/assets/", "/static/", "/svelte/", "/pwa_icon")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# -- the limiters, on a fake clock ------------------------------------------------------------------------------

def test_backoff_lets_free_failures_pass_then_locks_for_doubling_times_up_to_a_cap() -> None:
    clock = Clock()
    b = Backoff(3, base=2.0, cap=10.0, forget=3600.0, clock=clock)
    assert [b.fail("k") for _ in range(2)] == [0.0, 0.0] and b.wait("k") == 0
    assert b.fail("k") == 2.0 and b.wait("k") == 2.0
    clock.now += 2.0
    assert b.wait("k") == 0 and b.fail("k") == 4.0
    assert [b.fail("k") for _ in range(3)] == [8.0, 10.0, 10.0]
    assert b.wait("other") == 0, "keys are independent"


def test_backoff_forgets_old_failures_a_success_clears_them_and_each_lock_is_told_once() -> None:
    clock = Clock()
    b = Backoff(2, base=1.0, forget=60.0, clock=clock)
    b.fail("k")
    clock.now += 61
    assert b.fail("k") == 0.0, "a failure an hour-long `forget` ago no longer counts"
    assert b.fail("k") == 1.0
    assert b.first_refusal("k") and not b.first_refusal("k")
    clock.now += 1
    assert b.fail("k") == 2.0 and b.first_refusal("k"), "a new lock is told again"
    b.succeed("k")
    assert b.wait("k") == 0 and b.fail("k") == 0.0


def test_backoff_counts_every_failure_of_concurrent_threads() -> None:
    b = Backoff(801)  # the server's login threads share it
    threads = [threading.Thread(target=lambda: [b.fail("k") for _ in range(100)]) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert b.wait("k") == 0 and b.fail("k") > 0, "800 failures counted, the 801st locks"


def test_quota_counts_files_and_bytes_within_a_sliding_window() -> None:
    clock = Clock()
    q = Quota(files=3, size=1000, window=60.0, clock=clock)
    assert q.left("marc") == (3, 1000, 0.0)
    q.spend("marc", 2, 600)
    clock.now += 30
    q.spend("marc", 1, 100)
    assert q.left("marc") == (0, 300, 30.0) and q.left("eve") == (3, 1000, 0.0)
    clock.now += 30
    assert q.left("marc") == (2, 900, 30.0), "the first spending left the window"


@pytest.fixture
def access(tmp_path: Path) -> tuple[Access, Clock]:
    clock = Clock()
    users = tmp_path / "users.toml"
    add_user(users, READER[0], "reader", READER[1])
    add_user(users, EDITOR[0], "editor", EDITOR[1])
    return Access(users, tmp_path / "history.jsonl", by_name=Backoff(3, clock=clock),
                  by_address=Backoff(5, clock=clock)), clock


def test_a_locked_name_is_refused_even_the_right_password_and_every_try_is_in_the_history(access) -> None:  # noqa: ANN001
    a, clock = access
    for _ in range(3):
        with pytest.raises(LoginRefused, match="Nom ou mot de passe incorrect") as wrong:
            a.log_in("lea", "not the password", "10.0.0.1")
    assert wrong.value.kind == "wrong" and "réessayez dans 2 s" in str(wrong.value)
    with pytest.raises(LoginRefused, match="pour le compte « lea » : réessayez dans 2 s") as locked:
        a.log_in("lea", READER[1], "10.0.0.2")
    assert locked.value.kind == "locked" and locked.value.retry_after == 2.0
    assert a.log_in("marc", EDITOR[1], "10.0.0.1").role == "editor", "another name is not locked"
    clock.now += 2
    assert a.log_in("lea", READER[1], "10.0.0.1").name == "lea"
    with pytest.raises(LoginRefused, match="incorrect") as again:
        a.log_in("lea", "not the password", "10.0.0.1")
    assert again.value.retry_after == 0, "a success cleared the name's failures"
    results = [(e["who"], e["action"], e["address"], e["result"]) for e in read_history(a.history_file)]
    assert results == [("lea", "login", "10.0.0.1", "refused: wrong name or password")] * 3 + [
        ("lea", "login", "10.0.0.2", "refused: name locked out for 2 s"), ("marc", "login", "10.0.0.1", "ok"),
        ("lea", "login", "10.0.0.1", "ok"), ("lea", "login", "10.0.0.1", "refused: wrong name or password")]
    assert all(READER[1] not in json.dumps(e) for e in read_history(a.history_file)), "never a password"


def test_an_address_trying_many_names_is_locked_for_every_name(access) -> None:  # noqa: ANN001
    a, clock = access
    for name in ("anna", "bob", "carl", "dora", "emil"):
        with pytest.raises(LoginRefused):
            a.log_in(name, "guess-1234", "10.0.0.9")
    with pytest.raises(LoginRefused, match="pour l’adresse 10.0.0.9") as locked:
        a.log_in("marc", EDITOR[1], "10.0.0.9")
    assert locked.value.kind == "locked"
    assert a.log_in("marc", EDITOR[1], "10.0.0.10").name == "marc", "another address is not locked"
    clock.now += 2
    assert a.log_in("marc", EDITOR[1], "10.0.0.9").name == "marc"


def test_password_checks_are_bounded_so_a_burst_cannot_exhaust_memory(access) -> None:  # noqa: ANN001
    a, _ = access
    a.check_wait = 0.05
    held = [a.checks.acquire(blocking=False) for _ in range(2)]
    assert held == [True, True] and not a.checks.acquire(blocking=False), "two argon2 checks at once, no more"
    try:
        with pytest.raises(LoginRefused, match="Trop de connexions en cours") as busy:
            a.log_in("marc", EDITOR[1], "10.0.0.1")
        assert busy.value.kind == "busy" and not a.history_file.exists(), "no password was checked"
    finally:
        for _ in held:
            a.checks.release()
    assert a.log_in("marc", EDITOR[1], "10.0.0.1").name == "marc"


def test_a_session_stamp_changes_with_a_new_password_and_ends_with_the_user(access) -> None:  # noqa: ANN001
    a, _ = access
    stamp = a.stamp("marc")
    add_user(a.users_file, "marc", "editor", "nouveau-2026")
    assert a.stamp("marc") not in (None, stamp)
    remove_user(a.users_file, "marc")
    assert a.stamp("marc") is None and a.stamp("nobody") is None


def test_limits_from_the_environment_name_the_variable_to_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VEILLE_LOGIN_TRIES", "7")
    monkeypatch.setenv("VEILLE_UPLOAD_MB", "3")
    assert login_limits(load_settings())["by_name"].free == 7
    assert upload_quota(load_settings()).size == 3_000_000
    monkeypatch.setenv("VEILLE_LOGIN_TRIES", "0")
    with pytest.raises(InputError, match="fix VEILLE_LOGIN_TRIES"):
        load_settings()


# -- the guard in front of a small ASGI app, byte by byte ---------------------------------------------------------

def _multipart(*files: tuple[str, bytes]) -> tuple[bytes, str]:
    boundary = "veille-test-boundary"
    body = b"".join(f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
                    f"Content-Type: text/plain\r\n\r\n".encode() + data + b"\r\n" for name, data in files)
    return body + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def _post_upload(guard, body: bytes, content_type: str, chunk: int = 1,  # noqa: ANN001
                 length: int | None = None) -> tuple[int, dict, bytes, str]:
    """POST the body to the guard in `chunk`-byte pieces, as a slow client would; (status, headers, what the
    app behind it received, the refusal's message)."""
    import anyio

    pieces = [body[i:i + chunk] for i in range(0, len(body), chunk)] or [b""]
    messages = [{"type": "http.request", "body": p, "more_body": i < len(pieces) - 1} for i, p in enumerate(pieces)]
    scope = {"type": "http", "method": "POST", "path": "/gradio_api/upload", "client": ("10.0.0.5", 1),
             "headers": [(b"content-type", content_type.encode()),
                         (b"content-length", str(length or len(body)).encode())],
             "query_string": b"", "app": None}
    sent, seen = [], bytearray()

    async def receive() -> dict:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    async def app(scope, receive, send) -> None:  # noqa: ANN001 - Gradio's upload route: reads it all, says 200
        while (message := await receive())["more_body"]:
            seen.extend(message["body"])
        seen.extend(message["body"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"[]"})

    guard.app = app
    anyio.run(guard, scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    answer = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    detail = json.loads(answer)["detail"] if start["status"] != 200 else ""
    return start["status"], {k.decode(): v.decode() for k, v in start["headers"]}, bytes(seen), detail


def test_the_guard_counts_files_across_any_chunking_and_passes_the_body_on_intact(tmp_path: Path) -> None:
    from ui.guard import Guard

    open_server = Access(tmp_path / "none.toml", tmp_path / "h.jsonl", login=False)
    guard = Guard(None, open_server, Quota(files=3, size=10_000, window=60))
    body, kind = _multipart(("a.txt", b"--veille-test-boundar"), ("b.txt", b"texte"))
    assert _post_upload(guard, body, kind) == (200, {}, body, ""), "two files, byte by byte, the body unchanged"
    assert guard.quota.left("10.0.0.5")[:2] == (1, 10_000 - len(body))
    status, headers, seen, detail = _post_upload(guard, *_multipart(("c.txt", b"c"), ("d.txt", b"d")), chunk=7)
    assert (status, seen) == (429, b"") and int(headers["retry-after"]) > 0, "the app never saw the refused body"
    assert "Quota d’envoi atteint pour « 10.0.0.5 » : 3 fichiers" in detail
    status, _, seen, _ = _post_upload(guard, body, kind, chunk=64, length=len(body) + 5)
    assert status == 400 and seen == b"", "a body shorter than its Content-Length"
    status, _, seen, _ = _post_upload(guard, body, kind, chunk=64, length=len(body) - 5)
    assert status == 400 and seen == b"", "a body longer than its Content-Length"
    guard.access.read_only = True
    status, _, _, detail = _post_upload(guard, *_multipart(("e.txt", b"e")))
    assert status == 403 and "lecture seule" in detail


# -- the real server ---------------------------------------------------------------------------------------------

def _server(base: Path, seed_dirs: tuple[Path, Path], seed_index: Index, **env: str) -> dict:
    copy = copy_index(base, seed_dirs, seed_index.settings.models_dir, VEILLE_USERS=str(base / "users.toml"), **env)
    cli(copy["env"], "user", "add", READER[0], "--role", "reader", stdin=READER[1] + "\n")
    cli(copy["env"], "user", "add", EDITOR[0], "--role", "editor", stdin=EDITOR[1] + "\n")
    return copy


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory, seed_dirs: tuple[Path, Path],
            seed_index: Index) -> Iterator[dict]:
    copy = _server(tmp_path_factory.mktemp("guarded"), seed_dirs, seed_index, VEILLE_UPLOAD_FILES="3",
                   VEILLE_UPLOAD_MB="1")
    with serving(copy, host="0.0.0.0") as running:
        yield running


def _session(url: str, user: tuple[str, str]) -> requests.Session:
    s = requests.Session()
    r = s.post(url + "login", data={"username": user[0], "password": user[1]}, timeout=30)
    assert r.status_code == 200, r.text
    return s


def _upload(s: requests.Session, url: str, *files: tuple[str, bytes]) -> requests.Response:
    return s.post(url + "gradio_api/upload", files=[("files", f) for f in files], timeout=30)


def gradio_routes() -> list[tuple[str, str]]:
    """(method, path) of every route Gradio serves, its path parameters filled in."""
    import gradio as gr
    from gradio.routes import App

    def walk(routes: list, prefix: str = "") -> Iterator[tuple[str, str]]:
        for route in routes:
            if hasattr(route, "original_router"):  # FastAPI's included router (Gradio's /gradio_api/...)
                yield from walk(route.original_router.routes, prefix + route.include_context.prefix)
            elif hasattr(route, "path"):
                for method in getattr(route, "methods", None) or {"GET"}:
                    yield method, re.sub(r"\{[^}]+\}", "x", prefix + route.path)

    with gr.Blocks() as demo:
        gr.Textbox()
    routes = sorted(set(walk(App.create_app(demo).routes)))
    assert len(routes) > 60 and ("POST", "/gradio_api/upload") in routes, "the walk found Gradio's routes"
    return routes


def test_a_removed_users_session_is_refused_on_every_route_gradio_serves(guarded: dict) -> None:
    from gradio_client import Client

    url, env = guarded["url"], guarded["env"]
    cli(env, "user", "add", "temp", "--role", "editor", stdin="temporaire-2026\n")
    s = _session(url, ("temp", "temporaire-2026"))
    client = Client(url, auth=("temp", "temporaire-2026"), verbose=False)
    cached = _upload(s, url, ("a.txt", b"une note")).json()[0]
    assert s.get(url + "config", timeout=30).status_code == 200
    assert s.get(url + "gradio_api/file=" + cached, timeout=30).status_code == 200
    assert client.predict(api_name="/status")["articles"] >= 5
    cli(env, "user", "remove", "temp")

    assert s.get(url + "config", timeout=30).status_code == 401, "the first request after the removal"
    page = s.get(url, timeout=30).text
    assert '"auth_required":true' in page.replace(" ", "") and "Articles" not in page, "the login page only"
    with pytest.raises(Exception):  # noqa: B017, PT011 - gradio_client's refusal
        client.predict(api_name="/status")
    named = [("GET", "/gradio_api/info"), ("POST", "/gradio_api/upload"), ("POST", "/gradio_api/queue/join"),
             ("POST", "/gradio_api/call/ask"), ("GET", "/gradio_api/file=" + cached), ("GET", "/gradio_api/token"),
             ("GET", "/gradio_api/queue/data"), ("GET", "/file=" + cached)]
    let_through = []
    for method, path in named + gradio_routes():
        if path in OPEN or path.startswith(STATIC):
            continue
        for who in (s, requests.Session()):  # the removed user's cookies, and none
            r = who.request(method, url + path.lstrip("/"), timeout=30, allow_redirects=False,
                            **({"json": {"data": []}} if method == "POST" else {}))
            if r.status_code != 401:
                let_through.append((method, path, r.status_code))
    assert not let_through


def test_a_new_password_ends_the_sessions_opened_with_the_old_one(guarded: dict) -> None:
    url, env = guarded["url"], guarded["env"]
    cli(env, "user", "add", "paul", "--role", "reader", stdin="ancien-mot-2026\n")
    s = _session(url, ("paul", "ancien-mot-2026"))
    assert s.get(url + "gradio_api/info", timeout=30).status_code == 200
    cli(env, "user", "add", "paul", "--role", "reader", stdin="nouveau-mot-2026\n")
    assert s.get(url + "gradio_api/info", timeout=30).status_code == 401
    assert _session(url, ("paul", "nouveau-mot-2026")).get(url + "config", timeout=30).status_code == 200


def test_uploads_to_the_cache_are_for_editors_and_stop_at_their_quota(guarded: dict, tmp_path: Path) -> None:
    from gradio_client import Client, handle_file

    url, env = guarded["url"], guarded["env"]
    refused = _upload(_session(url, READER), url, ("a.txt", b"texte"))
    assert refused.status_code == 403 and "lecteur" in refused.json()["detail"]
    assert _upload(requests.Session(), url, ("a.txt", b"texte")).status_code == 401
    editor = Client(url, auth=EDITOR, verbose=False)  # the page's own path: the cache, then the index
    note = tmp_path / "japon.txt"
    note.write_text("Le Japon renforce sa défense\n\nTokyo achète 400 missiles Tomahawk.\n", encoding="utf-8")
    editor.predict([handle_file(str(note))], api_name="/upload")
    assert (guarded["corpus"] / "japon.txt").is_file()
    s = _session(url, EDITOR)
    assert _upload(s, url, ("b.txt", b"b"), ("c.txt", b"c")).status_code == 200, "files 2 and 3 of 3"
    over = _upload(s, url, ("d.txt", b"d"))
    assert over.status_code == 429 and "Quota d’envoi atteint pour « marc »" in over.json()["detail"]
    assert int(over.headers["Retry-After"]) > 0
    cli(env, "user", "add", "eve", "--role", "editor", stdin="edition-eve-2026\n")
    big = _upload(_session(url, ("eve", "edition-eve-2026")), url, ("big.txt", b"x" * 1_100_000))
    assert big.status_code == 429 and "1 Mo" in big.json()["detail"], "the bytes of the window, not just files"



def test_an_editor_uploads_through_the_page_and_once_removed_gets_the_login_form_back(guarded: dict,
                                                                                     tmp_path: Path) -> None:
    from served import start_browser

    cli(guarded["env"], "user", "add", "nina", "--role", "editor", stdin="edition-nina-2026\n")
    note = tmp_path / "coree.txt"
    note.write_text("La Corée du Sud et le Japon\n\nSéoul et Tokyo signent un accord de défense.\n", "utf-8")
    pw, browser = start_browser()
    try:
        page = browser.new_page(viewport={"width": 1366, "height": 900})
        page.goto(guarded["url"])
        page.locator("input[type=password]").wait_for(timeout=30_000)
        page.locator("input[type=text], input:not([type])").first.fill("nina")
        page.locator("input[type=password]").fill("edition-nina-2026")
        page.locator("button[type=submit], button:has-text('Login')").first.click()
        page.get_by_text("Connecté : nina (éditeur)").wait_for(timeout=60_000)
        page.get_by_role("tab", name="Articles").click()
        page.locator("#upload input[type=file]").set_input_files(str(note))  # the browser's own multipart
        page.locator("#upload-btn").click()
        page.get_by_text("Ajouté : coree.txt").wait_for(timeout=120_000)
        cli(guarded["env"], "user", "remove", "nina")
        page.reload()  # the open page of a removed user: back to the login form, no articles
        page.locator("input[type=password]").wait_for(timeout=30_000)
        assert page.locator("#articles").count() == 0 and page.locator("#question").count() == 0
    finally:
        browser.close()
        pw.stop()
    assert (guarded["corpus"] / "coree.txt").is_file()

@pytest.fixture(scope="module")
def lockable(tmp_path_factory: pytest.TempPathFactory, seed_dirs: tuple[Path, Path],
             seed_index: Index) -> Iterator[dict]:
    copy = _server(tmp_path_factory.mktemp("lockable"), seed_dirs, seed_index, VEILLE_LOGIN_TRIES="3",
                   VEILLE_LOGIN_ADDRESS_TRIES="8", VEILLE_LOGIN_LOCK="5")  # locks long enough for a flood
    with serving(copy, host="0.0.0.0") as running:
        yield running


def _login(url: str, user: tuple[str, str]) -> requests.Response:
    return requests.post(url + "login", data={"username": user[0], "password": user[1]}, timeout=60)


def test_a_burst_of_wrong_passwords_locks_the_name_then_the_address_even_for_the_right_one(lockable: dict) -> None:
    from gradio_client import Client

    url = lockable["url"]
    tries = [_login(url, (READER[0], "pas-le-bon")) for _ in range(3)]
    assert [r.status_code for r in tries] == [400] * 3 and "réessayez dans 5 s" in tries[-1].json()["detail"]
    locked = _login(url, READER)
    assert locked.status_code == 429 and 0 < int(locked.headers["Retry-After"]) <= 5
    assert "Trop d’échecs de connexion pour le compte « lea » : réessayez dans" in locked.json()["detail"]
    with pytest.raises(ValueError, match="Could not login"):
        Client(url, auth=READER, verbose=False)
    time.sleep(int(locked.headers["Retry-After"]) + 0.2)
    assert _login(url, READER).status_code == 200, "the lock is over"

    for n in range(5):  # 3 + 5 failures from 127.0.0.1: the address is locked, whatever the name
        assert _login(url, (f"inconnu{n}", "devine-1234")).status_code in (400, 429)
    refused = _login(url, EDITOR)
    assert refused.status_code == 429 and "l’adresse 127.0.0.1" in refused.json()["detail"]
    with ThreadPoolExecutor(16) as pool:  # a flood while locked: answered at once, no password checked
        flood = list(pool.map(lambda n: _login(url, (f"flot{n}", "devine-1234")).status_code, range(32)))
    assert set(flood) == {429}

    history = [json.loads(line) for line in cli(lockable["env"], "index", "history", "--json").stdout.splitlines()]
    logins = [(e["who"], e["address"], e["result"]) for e in history if e["action"] == "login"]
    assert logins[:5] == [("lea", "127.0.0.1", "refused: wrong name or password")] * 3 + [
        ("lea", "127.0.0.1", "refused: name locked out for 5 s"), ("lea", "127.0.0.1", "ok")]
    assert sum(r.startswith("refused: address locked out") for _, _, r in logins) == 1, "one line per lock"
    assert not any(w.startswith("flot") for w, _, _ in logins), "a locked-out flood writes nothing more"

