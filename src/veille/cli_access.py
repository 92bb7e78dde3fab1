"""`veille user add|remove|list` and `veille index history`: who may change a shared index, and who did."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from .audit import history_path, one_line, read_history, visible
from .cli_common import _friendly, index_option
from .errors import InputError
from .settings import load_settings
from .users import ROLES, add_user, check_name, load_users, remove_user, users_path


def _users_file(index_dir: Path | None) -> Path:
    return users_path(load_settings(index=index_dir).index)


def _password(name: str) -> str:
    """From the terminal, typed twice; otherwise the first line of standard input."""
    if sys.stdin.isatty():
        return click.prompt(f"password for {name}", hide_input=True, confirmation_prompt=True)
    line = sys.stdin.readline().rstrip("\r\n")
    if not line:
        raise InputError("no password: type it at the terminal, or give it as one line of standard input "
                         "(`printf '%s\\n' \"$PASSWORD\" | veille user add NAME --role reader`)")
    return line


@click.group("user")
def user_group() -> None:
    """The people who may log in to `veille serve`, and their role (reader or editor)."""


@user_group.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), required=True, help="reader: asks; editor: also changes the index.")
@index_option
@_friendly
def user_add(name: str, role: str, index_dir: Path | None) -> None:
    """Add a user (or give one a new role and password); the password is read, never an argument."""
    path = _users_file(index_dir)
    user = add_user(path, check_name(name), role, _password(name))
    click.echo(f"{user.name}: {user.role} (in {path})")


@user_group.command("remove")
@click.argument("name")
@index_option
@_friendly
def user_remove(name: str, index_dir: Path | None) -> None:
    """Remove a user; a page they have open refuses them from their next action."""
    path = _users_file(index_dir)
    remove_user(path, name)
    click.echo(f"removed {name} from {path}")


@user_group.command("list")
@index_option
@click.option("--json", "as_json", is_flag=True)
@_friendly
def user_list(index_dir: Path | None, as_json: bool) -> None:
    """The users and their roles (never their hashes)."""
    users = load_users(_users_file(index_dir))
    if as_json:
        click.echo(json.dumps([{"name": u.name, "role": u.role} for u in users.values()]))
        return
    for u in sorted(users.values(), key=lambda u: u.name):
        click.echo(f"{u.name}\t{u.role}")


@click.command("history")
@index_option
@click.option("--json", "as_json", is_flag=True, help="One JSON object a line, as the log keeps them.")
@_friendly
def index_history(index_dir: Path | None, as_json: bool) -> None:
    """Every change made to the index: who, what, when, from where, and the result. One change a line:
    every field's controls, newlines and terminal escapes are shown escaped (\\n, \\x1b), never obeyed."""
    for e in read_history(history_path(load_settings(index=index_dir).index)):
        if as_json:
            click.echo(one_line(e))
            continue
        f = {k: visible(e.get(k, "")) for k in ("at", "who", "address", "action", "result")}
        # a target holding a space is quoted, so that it cannot pass for the next column
        targets = " ".join(t if t and " " not in t else '"' + t.replace('"', '\\"') + '"'
                           for t in map(visible, e.get("targets", [])))
        click.echo(f"{f['at']}  {f['who']:12} {f['address']:15} {f['action']:8} {targets}  -> {f['result']}")
