"""Who may use a shared veille, and how: user names, roles and argon2id password hashes in one TOML file.

A reader asks questions, looks up quotes and sees the articles; an editor may also add and remove
articles. The file (VEILLE_USERS, default `users.toml` beside the index folder) never holds a password:
argon2-cffi's PHC strings carry the salt and the cost, so a verify is all a check needs. It is written
whole to a temporary file and renamed, readable by its owner only.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from .errors import InputError

ROLES = ("reader", "editor")
NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,31}$")
MIN_PASSWORD = 8
_HASHER = PasswordHasher()  # argon2id with the library's current defaults (RFC 9106's low-memory profile)


@dataclass(frozen=True)
class User:
    name: str
    role: str
    hash: str  # argon2id PHC string: "$argon2id$v=19$m=...,t=...,p=...$salt$digest"

    @property
    def editor(self) -> bool:
        return self.role == "editor"


def users_path(index_dir: Path) -> Path:
    """Where the users of an index are kept: VEILLE_USERS, else users.toml beside the index folder."""
    configured = os.environ.get("VEILLE_USERS", "").strip()
    return Path(configured) if configured else index_dir.resolve().parent / "users.toml"


def load_users(path: Path) -> dict[str, User]:
    """The users of the file, by name; none when the file does not exist."""
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise InputError(f"{path} is not a users file veille can read ({e}); fix it or remove it and add "
                         "the users again with `veille user add NAME --role reader|editor`") from None
    users = {}
    for name, entry in data.get("users", {}).items():
        if not isinstance(entry, dict) or entry.get("role") not in ROLES or not str(entry.get("hash", "")).startswith(
                "$argon2"):
            raise InputError(f"{path}: user {name!r} needs a role (reader or editor) and an argon2 hash; "
                             f"run `veille user remove {name}` then `veille user add {name}`")
        users[name] = User(name, entry["role"], entry["hash"])
    return users


def _write(path: Path, users: dict[str, User]) -> None:
    lines = ["# veille users: names, roles and argon2id hashes (never a password). Edit with `veille user`.", ""]
    for u in sorted(users.values(), key=lambda u: u.name):
        lines += [f'[users."{u.name}"]', f'role = "{u.role}"', f'hash = "{u.hash}"', ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write("\n".join(lines))
    os.replace(tmp, path)


def check_name(name: str) -> str:
    if not NAME.match(name):
        raise InputError(f"user name {name!r}: use 1 to 32 lower-case letters, digits, '.', '_' or '-', "
                         "starting with a letter or a digit")
    return name


def add_user(path: Path, name: str, role: str, password: str) -> User:
    """Add a user, or give an existing one a new role and password."""
    check_name(name)
    if role not in ROLES:
        raise InputError(f"role {role!r}: choose reader or editor")
    if len(password) < MIN_PASSWORD:
        raise InputError(f"the password is {len(password)} characters; use at least {MIN_PASSWORD}")
    users = load_users(path)
    users[name] = User(name, role, _HASHER.hash(password))
    _write(path, users)
    return users[name]


def remove_user(path: Path, name: str) -> None:
    users = load_users(path)
    if name not in users:
        known = ", ".join(sorted(users)) or "none"
        raise InputError(f"no user {name!r} in {path} (users: {known})")
    del users[name]
    _write(path, users)


def authenticate(users: dict[str, User], name: str, password: str) -> User | None:
    """The user when the password is theirs; None otherwise (an unknown name costs a verify too)."""
    user = users.get(name.strip())
    try:
        _HASHER.verify(user.hash if user else _dummy(), password)
    except (VerificationError, InvalidHashError):
        return None
    return user


@cache
def _dummy() -> str:
    return _HASHER.hash("veille: no such user")
