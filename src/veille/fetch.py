"""Fetching a feed or a page without letting a URL reach what it should not.

http and https only; every address a name resolves to is checked before connecting (private, loopback,
link-local, reserved and multicast ranges are refused unless VEILLE_FETCH_PRIVATE=1, so a URL typed into
the page cannot make the server read an internal service); redirects are followed by hand, each hop
checked the same way, at most MAX_REDIRECTS; a time-out; a size cap read as the body arrives; only the
content types the caller accepts. Every refusal is a FetchError that says why.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

from .errors import VeilleError

MAX_BYTES = 5_000_000
TIMEOUT = 15.0
MAX_REDIRECTS = 5
HTML_TYPES = ("text/html", "application/xhtml+xml")
FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/xml", "text/xml", "application/rdf+xml",
              "application/feed+json", *HTML_TYPES)  # some servers send feeds as text/html
USER_AGENT = "veille/0.1 (+news monitoring; feeds and pages for cited answers)"


class FetchError(VeilleError):
    """A URL that was not fetched, and why."""


@dataclass(frozen=True)
class Fetched:
    url: str  # after redirects
    content_type: str
    charset: str | None
    body: bytes


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN201 - each hop is checked by fetch()
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def private_allowed() -> bool:
    return os.environ.get("VEILLE_FETCH_PRIVATE", "").strip().lower() in {"1", "true", "yes", "on"}


def check_url(url: str) -> urllib.parse.SplitResult:
    """The URL split, or why it may not be fetched (scheme, host, and every address the host has)."""
    parts = urllib.parse.urlsplit(url.strip())
    if parts.scheme not in ("http", "https"):
        raise FetchError(f"{url}: only http:// and https:// addresses are fetched, not {parts.scheme or 'a bare path'}")
    if not parts.hostname:
        raise FetchError(f"{url}: no host name in the address")
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80),
                                   type=socket.SOCK_STREAM)
    except socket.gaierror as e:
        raise FetchError(f"{url}: the host {parts.hostname} is not known ({e.strerror})") from None
    if not private_allowed():
        for info in infos:
            address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
            if not address.is_global or address.is_multicast:
                raise FetchError(f"{url}: {parts.hostname} is a private, loopback or link-local address "
                                 f"({address}); veille does not fetch those unless VEILLE_FETCH_PRIVATE=1")
    return parts


def fetch(url: str, accept: tuple[str, ...] = HTML_TYPES, max_bytes: int = MAX_BYTES,
          timeout: float = TIMEOUT) -> Fetched:
    """GET the URL under the rules above."""
    seen = [url]
    for _ in range(MAX_REDIRECTS + 1):
        check_url(url)
        request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept": ", ".join(accept)})
        try:
            response = _OPENER.open(request, timeout=timeout)
        except urllib.error.HTTPError as e:
            if e.code in (301, 302, 303, 307, 308) and e.headers.get("Location"):
                url = urllib.parse.urljoin(url, e.headers["Location"])
                if url in seen:
                    raise FetchError(f"{seen[0]}: a redirect loop ({' -> '.join([*seen, url])})") from None
                seen.append(url)
                continue
            raise FetchError(f"{url}: the server answered HTTP {e.code} {e.reason}") from None
        except (urllib.error.URLError, OSError) as e:
            reason = getattr(e, "reason", e)
            raise FetchError(f"{url}: could not be fetched ({reason})") from None
        with response:
            return _read(url, response, accept, max_bytes)
    raise FetchError(f"{seen[0]}: more than {MAX_REDIRECTS} redirects ({' -> '.join(seen)})")


def _read(url: str, response, accept: tuple[str, ...], max_bytes: int) -> Fetched:  # noqa: ANN001
    ctype = response.headers.get_content_type()
    if ctype not in accept:
        raise FetchError(f"{url}: the content type is {ctype}, not one veille reads here ({', '.join(accept)})")
    length = response.headers.get("Content-Length")
    if length and length.isdigit() and int(length) > max_bytes:
        raise FetchError(f"{url}: {int(length):,} bytes, over the {max_bytes:,}-byte limit")
    body = response.read(max_bytes + 1)
    if len(body) > max_bytes:
        raise FetchError(f"{url}: over the {max_bytes:,}-byte limit")
    return Fetched(response.geturl() or url, ctype, response.headers.get_content_charset(), body)
