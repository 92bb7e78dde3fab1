"""Who may do what on a served veille: logins, roles, the read-only switch, ask limits and the audit.

The UI asks this module on the server for every event, so a hidden button is never the only guard. The
users file is read again at each check: `veille user add/remove` takes effect without a restart.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path

from .audit import record
from .errors import InputError, VeilleError
from .limits import RateLimiter
from .users import authenticate, load_users

ANONYMOUS = "anonyme"


class AccessDenied(VeilleError):
    """A user (or nobody logged in) tried what their role does not allow."""


def is_loopback(host: str) -> bool:
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def serving_check(host: str, has_users: bool, read_only: bool, no_login: bool) -> str | None:
    """Refuse to expose an index anyone on the network could change; the warning to print, if any."""
    if read_only and no_login:
        raise InputError("--read-only and --no-login together: --read-only already lets anyone ask and nobody "
                         "change the index; pass just one")
    if is_loopback(host):
        return None
    if no_login:  # with users or without: --no-login turns logins off
        return (f"warning: serving on {host} without logins: anyone who can reach this port can add and remove "
                "articles. Add users with `veille user add NAME --role editor`, or serve with --read-only.")
    if has_users or read_only:
        return None
    raise InputError(f"refusing to serve on {host} without logins: anyone on the network could add and remove "
                     "articles. Add a user (`veille user add NAME --role editor`), or pass --read-only "
                     "(questions only), or --no-login to accept the risk")


@dataclass
class Access:
    users_file: Path
    history_file: Path
    read_only: bool = False
    login: bool = True  # False: --no-login, or no users on loopback; everyone may do what the mode allows
    limiter: RateLimiter = field(default_factory=lambda: RateLimiter(240, 60.0))

    @classmethod
    def open(cls, users_file: Path, history_file: Path, read_only: bool = False, no_login: bool = False,
             limiter: RateLimiter | None = None) -> Access:
        login = not no_login and bool(load_users(users_file))
        return cls(users_file, history_file, read_only, login, limiter or RateLimiter(240, 60.0))

    def authenticate(self, name: str, password: str) -> bool:
        """Gradio's login check."""
        return authenticate(load_users(self.users_file), name, password) is not None

    def role(self, username: str | None) -> str | None:
        """The role the person has now: None when logins are on and they are not (or no longer) a user."""
        if not self.login:
            role: str | None = "editor"
        else:
            user = load_users(self.users_file).get(username or "")
            role = user.role if user else None
        return "reader" if role and self.read_only else role

    def may_change(self, username: str | None) -> bool:
        return self.role(username) == "editor"

    def require_reader(self, username: str | None, address: str, counted: bool = True) -> None:
        """Anyone with a role may read; a question (`counted`) also counts against the ask limit."""
        if self.role(username) is None:
            raise AccessDenied("Connectez-vous pour poser des questions.")
        if counted:
            self.limiter.check(username if self.login and username else address)

    def require_editor(self, username: str | None, address: str, action: str, targets: list[str]) -> str:
        """Who changes the index, or AccessDenied (recorded in the history) when they may not."""
        who = username or ANONYMOUS
        role = self.role(username)
        if role == "editor":
            return who
        if self.read_only:
            reason = "Ce serveur est en lecture seule (--read-only) : personne ne peut modifier l’index."
        elif role is None:
            reason = "Connectez-vous avec un compte éditeur pour modifier l’index."
        else:
            reason = f"Le compte « {who} » est lecteur : seuls les éditeurs peuvent modifier l’index."
        record(self.history_file, who, action, targets, address, f"refused: {reason}")
        raise AccessDenied(reason)

    def audit(self, who: str, action: str, targets: list[str], address: str, result: str) -> None:
        record(self.history_file, who, action, targets, address, result)
