"""Logins, roles, limits and the audit as plain functions: the users file, argon2 hashes, the rate limiter,
the serving rule, the history. tests/test_shared_server.py runs the same paths through a real server."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from served import cli
from veille.access import Access, AccessDenied, is_loopback, serving_check
from veille.audit import read_history, record
from veille.errors import InputError
from veille.limits import RateLimiter
from veille.users import add_user, authenticate, load_users, remove_user

PASSWORD = "correct horse battery"


def test_the_users_file_holds_roles_and_argon2_hashes_never_a_password(tmp_path: Path) -> None:
    path = tmp_path / "users.toml"
    add_user(path, "lea", "reader", PASSWORD)
    add_user(path, "marc", "editor", "another secret")
    text = path.read_text(encoding="utf-8")
    assert PASSWORD not in text and "another secret" not in text
    assert text.count("$argon2id$") == 2
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    users = load_users(path)
    assert {n: u.role for n, u in users.items()} == {"lea": "reader", "marc": "editor"}
    assert authenticate(users, "lea", PASSWORD).name == "lea"
    assert authenticate(users, "lea", "wrong password") is None
    assert authenticate(users, "nobody", PASSWORD) is None
    add_user(path, "lea", "editor", "a new password")  # a new role and password replace the old ones
    users = load_users(path)
    assert users["lea"].editor and authenticate(users, "lea", PASSWORD) is None
    remove_user(path, "lea")
    assert set(load_users(path)) == {"marc"}


@pytest.mark.parametrize(("name", "role", "password", "message"), [
    ("Léa Dupont", "reader", PASSWORD, "lower-case letters"),
    ("lea", "admin", PASSWORD, "choose reader or editor"),
    ("lea", "reader", "short", "at least 8"),
])
def test_bad_users_are_refused_with_the_fix(tmp_path: Path, name: str, role: str, password: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        add_user(tmp_path / "users.toml", name, role, password)
    assert not (tmp_path / "users.toml").exists()


def test_removing_an_unknown_user_names_the_known_ones(tmp_path: Path) -> None:
    add_user(tmp_path / "users.toml", "marc", "editor", PASSWORD)
    with pytest.raises(InputError, match="users: marc"):
        remove_user(tmp_path / "users.toml", "lea")


def test_a_damaged_users_file_says_how_to_fix_it(tmp_path: Path) -> None:
    (tmp_path / "users.toml").write_text('[users.lea]\nrole = "reader"\nhash = "plain"\n')
    with pytest.raises(InputError, match="veille user remove lea"):
        load_users(tmp_path / "users.toml")


def test_the_user_command_reads_the_password_from_stdin_and_lists_no_hash(tmp_path: Path) -> None:
    env = {"VEILLE_USERS": str(tmp_path / "users.toml"), "PATH": "/usr/bin:/bin"}
    out = cli(env, "user", "add", "lea", "--role", "reader", stdin=f"{PASSWORD}\n")
    assert "lea: reader" in out.stdout
    listed = cli(env, "user", "list", "--json")
    assert json.loads(listed.stdout) == [{"name": "lea", "role": "reader"}]
    empty = cli(env, "user", "add", "marc", "--role", "editor", stdin="", check=False)
    assert empty.returncode == 1 and "no password" in empty.stderr
    assert cli(env, "user", "remove", "nobody", check=False).returncode == 1


def test_the_rate_limit_counts_asks_in_a_sliding_window() -> None:
    now = [0.0]
    limiter = RateLimiter(3, 60.0, clock=lambda: now[0])
    for _ in range(3):
        limiter.check("10.0.0.7")
    with pytest.raises(InputError, match="Réessayez dans 60 s"):
        limiter.check("10.0.0.7")
    limiter.check("10.0.0.8")  # another client has its own count
    now[0] = 60.5
    limiter.check("10.0.0.7")  # the first asks left the window


@pytest.mark.parametrize(("host", "loopback"), [("127.0.0.1", True), ("localhost", True), ("::1", True),
                                                ("0.0.0.0", False), ("192.168.1.20", False), ("veille.lan", False)])
def test_loopback_addresses(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_serving_off_loopback_needs_users_or_a_flag() -> None:
    assert serving_check("127.0.0.1", False, False, False) is None
    with pytest.raises(InputError, match="veille user add NAME --role editor"):
        serving_check("0.0.0.0", False, False, False)
    assert serving_check("0.0.0.0", True, False, False) is None
    assert serving_check("0.0.0.0", False, True, False) is None
    assert "warning" in serving_check("0.0.0.0", False, False, True)
    assert "warning" in serving_check("0.0.0.0", True, False, True)  # --no-login turns existing logins off
    with pytest.raises(InputError, match="pass just one"):
        serving_check("0.0.0.0", False, True, True)


def test_roles_read_only_and_the_history_of_refusals(tmp_path: Path) -> None:
    users, history = tmp_path / "users.toml", tmp_path / "index.history.jsonl"
    add_user(users, "lea", "reader", PASSWORD)
    add_user(users, "marc", "editor", PASSWORD)
    access = Access.open(users, history)
    assert access.login and access.authenticate("marc", PASSWORD) and not access.authenticate("marc", "nope")
    assert access.role("lea") == "reader" and access.role("marc") == "editor" and access.role(None) is None
    assert access.require_editor("marc", "10.0.0.2", "remove", ["a.txt"]) == "marc"
    with pytest.raises(AccessDenied, match="lecteur"):
        access.require_editor("lea", "10.0.0.3", "remove", ["a.txt"])
    with pytest.raises(AccessDenied, match="Connectez-vous"):
        access.require_reader(None, "10.0.0.4")
    remove_user(users, "marc")  # a removed user loses their rights at once
    assert access.role("marc") is None
    frozen = Access.open(users, history, read_only=True)
    with pytest.raises(AccessDenied, match="lecture seule"):
        frozen.require_editor("lea", "10.0.0.3", "upload", ["b.txt"])
    anyone = Access.open(tmp_path / "none.toml", history)
    assert not anyone.login and anyone.role(None) == "editor"
    entries = read_history(history)
    assert [(e["who"], e["action"], e["result"].split(":")[0]) for e in entries] == [
        ("lea", "remove", "refused"), ("lea", "upload", "refused")]
    assert entries[0]["address"] == "10.0.0.3" and entries[0]["targets"] == ["a.txt"]


def test_the_history_is_appended_one_json_line_a_change(tmp_path: Path) -> None:
    path = tmp_path / "index.history.jsonl"
    record(path, "marc", "paste", ["note.txt"], "10.0.0.2", "ok: added 1, updated 0, removed 0, skipped 0")
    record(path, "léa", "remove", ["x.txt"], "cli", "error: no article x.txt")
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2 and json.loads(lines[1])["who"] == "léa"
    path.write_text(path.read_text() + "{broken\n")
    with pytest.raises(InputError, match="line 3"):
        read_history(path)
