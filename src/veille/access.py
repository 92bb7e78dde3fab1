"""Who may do what on a served veille: logins, roles, the read-only switch, ask limits and the audit.

The UI asks this module on the server for every event, so a hidden button is never the only guard. The
users file is read again at each check: `veille user add/remove` takes effect without a restart.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import threading
from dataclasses import dataclass, field
from pathlib import Path

from .audit import record
from .errors import InputError, VeilleError
from .limits import Backoff, Quota, RateLimiter
from .settings import Settings, load_settings
from .users import User, authenticate, load_users

ANONYMOUS = "anonyme"
logger = logging.getLogger(__name__)


class AccessDenied(VeilleError):
    """A user (or nobody logged in) tried what their role does not allow."""


class LoginRefused(AccessDenied):
    """A login refused, of one `kind`: "wrong" name or password, "locked" out (the name or the address, for
    `retry_after` seconds), or "busy" (too many password checks at once)."""

    def __init__(self, message: str, retry_after: float = 0.0, kind: str = "wrong") -> None:
        super().__init__(message)
        self.retry_after, self.kind = retry_after, kind


def login_limits(s: Settings) -> dict:
    """Failed logins: `login_tries` per name and `login_address_tries` per address are free, then each locks
    for `login_lock` seconds, doubling up to 15 min; `login_checks` argon2 checks at once, each 64 MiB, so a
    burst of logins cannot exhaust memory."""
    return {"by_name": Backoff(s.login_tries, s.login_lock),
            "by_address": Backoff(s.login_address_tries, s.login_lock),
            "checks": threading.BoundedSemaphore(s.login_checks)}


def upload_quota(s: Settings) -> Quota:
    """What one editor may put in the server's upload cache: `upload_files` files and `upload_mb` megabytes
    in any `upload_window` seconds."""
    return Quota(s.upload_files, s.upload_mb * 1_000_000, s.upload_window)


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
    by_name: Backoff = field(default_factory=lambda: Backoff(5))
    by_address: Backoff = field(default_factory=lambda: Backoff(20))
    checks: threading.BoundedSemaphore = field(default_factory=lambda: threading.BoundedSemaphore(2))
    check_wait: float = 2.0  # seconds a login waits for a free check before it is told the server is busy

    @classmethod
    def open(cls, users_file: Path, history_file: Path, read_only: bool = False, no_login: bool = False,
             limiter: RateLimiter | None = None, settings: Settings | None = None) -> Access:
        login = not no_login and bool(load_users(users_file))
        return cls(users_file, history_file, read_only, login, limiter or RateLimiter(240, 60.0),
                   **login_limits(settings or load_settings()))

    def login_gate(self, name: str, address: str) -> None:
        """Refuse a locked-out name or address before any password check: even the right password waits."""
        for backoff, key, what, whose in ((self.by_name, name, "name", f"le compte « {name} »"),
                                          (self.by_address, address, "address", f"l’adresse {address}")):
            if (wait := backoff.wait(key)) > 0:
                seconds = math.ceil(wait)
                if backoff.first_refusal(key):
                    self.audit(name, "login", [], address, f"refused: {what} locked out for {seconds} s")
                raise LoginRefused(f"Trop d’échecs de connexion pour {whose} : réessayez dans {seconds} s.", wait,
                                   "locked")

    def log_in(self, name: str, password: str, address: str) -> User:
        """Check a login, recorded in the history; the user, or LoginRefused. Failures count against the
        name and the address; a success clears the name's."""
        name = name.strip()[:64]
        self.login_gate(name, address)
        if not self.checks.acquire(timeout=self.check_wait):
            logger.warning("login of %r from %s refused: every password check slot stayed busy", name, address)
            raise LoginRefused("Trop de connexions en cours : réessayez dans quelques secondes.", self.check_wait,
                               "busy")
        try:
            user = authenticate(load_users(self.users_file), name, password)
        finally:
            self.checks.release()
        if user is None:
            wait = max(self.by_name.fail(name), self.by_address.fail(address))
            self.audit(name, "login", [], address, "refused: wrong name or password")
            later = f" Trop d’échecs : réessayez dans {math.ceil(wait)} s." if wait else ""
            raise LoginRefused("Nom ou mot de passe incorrect." + later, wait)
        self.by_name.succeed(name)
        self.audit(name, "login", [], address, "ok")
        return user

    def authenticate(self, name: str, password: str) -> bool:
        """Gradio's own login check: ui/guard.py answers every /login first (with the lock-outs and the
        history, log_in), so this only turns Gradio's logins on; it stays bounded all the same."""
        if not self.checks.acquire(timeout=self.check_wait):
            return False
        try:
            return authenticate(load_users(self.users_file), name, password) is not None
        finally:
            self.checks.release()

    def stamp(self, name: str) -> str | None:
        """What a session stays valid for: the user's hash now (None once removed), so `veille user remove`
        or a new password ends the sessions opened before."""
        user = load_users(self.users_file).get(name)
        return user.hash if user else None

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
