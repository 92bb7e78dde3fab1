"""Fetching a feed or a page without letting a URL reach what it should not, nor hold veille for long.

http and https only; the URL is parsed once (addresses.py) and what was checked is what is fetched; the
host is resolved once, every address it has is checked (private, loopback, link-local, reserved and
multicast ranges, and the IPv4 inside IPv6 forms, are refused unless VEILLE_FETCH_PRIVATE=1, so a URL typed
into the page cannot make the server read an internal service), and the connection goes to a checked
address, https still verifying the certificate for the host name. Redirects are followed by hand, each hop
checked the same way, at most MAX_REDIRECTS. One deadline covers the whole fetch (connecting, every hop,
headers and body): each socket operation may only wait for the time left, and the body is read in chunks
with the clock checked between them, so a server that sends a byte every few seconds is cut at the
deadline. A size cap read as the body arrives; only the content types the caller accepts. Every refusal
is a FetchError that says why.
"""

from __future__ import annotations

import http.client
import io
import socket
import ssl
import time
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass

from .addresses import FetchError, Target, parse_url, private_allowed, resolve

__all__ = ["FEED_TYPES", "HTML_TYPES", "FetchError", "Fetched", "check_url", "fetch", "private_allowed"]

MAX_BYTES = 5_000_000
TIMEOUT = 15.0  # seconds for the whole fetch, redirects included
MAX_REDIRECTS = 5
CHUNK = 65_536
HTML_TYPES = ("text/html", "application/xhtml+xml")
FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/xml", "text/xml", "application/rdf+xml",
              "application/feed+json", *HTML_TYPES)  # some servers send feeds as text/html
USER_AGENT = "veille/0.1 (+news monitoring; feeds and pages for cited answers)"
_REDIRECTS = (301, 302, 303, 307, 308)


@dataclass(frozen=True)
class Fetched:
    url: str  # after redirects
    content_type: str
    charset: str | None
    body: bytes
    status: int = 200  # 304: not modified since the ETag or date the caller sent; the body is then empty
    etag: str | None = None
    last_modified: str | None = None


def check_url(url: str) -> Target:
    """The URL as it would be fetched, or why it may not be (scheme, form, and every address the host has)."""
    target = parse_url(url)
    resolve(target, url)
    return target


class _Deadline:
    def __init__(self, seconds: float) -> None:
        self.seconds, self.end = seconds, time.monotonic() + seconds

    def left(self) -> float:
        """Seconds left; TimeoutError once there are none, which fetch() reports with the URL."""
        left = self.end - time.monotonic()
        if left <= 0:
            raise TimeoutError
        return left


class _Reader(io.RawIOBase):
    """The socket as http.client reads it: every read waits at most the time left, so headers and chunked
    bodies dripped a byte at a time are cut at the deadline too."""

    def __init__(self, owner: _Socket) -> None:
        self.owner = owner

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        self.owner.sock.settimeout(self.owner.deadline.left())
        return self.owner.sock.recv_into(buffer)

    def close(self) -> None:
        if not self.closed:
            self.owner.release()
        super().close()


class _Socket:
    """What http.client needs of a socket (sendall, makefile, close), each bounded by the deadline. Like a
    real socket, it stays open until the readers made from it are closed: http.client closes the
    connection as soon as the headers say the server will, and reads the body afterwards."""

    def __init__(self, sock: socket.socket, deadline: _Deadline) -> None:
        self.sock, self.deadline, self.readers, self.closing = sock, deadline, 0, False

    def sendall(self, data: bytes) -> None:
        self.sock.settimeout(self.deadline.left())  # CPython's sendall keeps one deadline for the whole call
        self.sock.sendall(data)

    def makefile(self, mode: str = "rb", buffering: int = -1) -> io.BufferedReader:
        self.readers += 1
        return io.BufferedReader(_Reader(self))

    def release(self) -> None:
        self.readers -= 1
        if self.closing and not self.readers:
            self.sock.close()

    def close(self) -> None:
        self.closing = True
        if not self.readers:
            self.sock.close()


class _Connection(http.client.HTTPConnection):
    """An HTTP(S) connection to the addresses already checked, never to what the name resolves to now."""

    def __init__(self, target: Target, addresses: list[tuple[int, tuple]], deadline: _Deadline) -> None:
        super().__init__(target.host, target.port)
        self.target, self.addresses, self.deadline = target, addresses, deadline

    def connect(self) -> None:
        errors = []
        for family, sockaddr in self.addresses:
            sock = socket.socket(family, socket.SOCK_STREAM)
            try:
                sock.settimeout(self.deadline.left())
                sock.connect(sockaddr)
                if self.target.scheme == "https":  # SNI and the certificate check are on the host name
                    sock.settimeout(self.deadline.left())  # the handshake, like sendall, has one deadline
                    sock = ssl.create_default_context().wrap_socket(sock, server_hostname=self.target.host)
            except TimeoutError:
                sock.close()
                raise
            except OSError as e:
                sock.close()
                errors.append(f"{sockaddr[0]}: {e}")
                continue
            self.sock = _Socket(sock, self.deadline)  # type: ignore[assignment]
            return
        raise OSError("; ".join(errors))


def fetch(url: str, accept: tuple[str, ...] = HTML_TYPES, max_bytes: int = MAX_BYTES, timeout: float = TIMEOUT,
          headers: Mapping[str, str] | None = None) -> Fetched:
    """GET the URL under the rules above; `headers` are added to the request (If-None-Match, ...)."""
    deadline, seen = _Deadline(timeout), [url]
    for _ in range(MAX_REDIRECTS + 1):
        target = parse_url(url)
        try:
            response, connection = _get(target, url, deadline, accept, headers or {})
            try:
                location = response.getheader("Location") if response.status in _REDIRECTS else None
                if not location:
                    conditional = any(h.lower() in ("if-none-match", "if-modified-since") for h in headers or {})
                    return _read(target.url, response, accept, max_bytes, deadline, conditional)
            finally:
                response.close()
                connection.close()
        except TimeoutError:
            raise FetchError(f"{seen[0]}: no complete answer within {deadline.seconds:g} s (the whole fetch, "
                             "redirects included); the server is too slow or stalls, try again later") from None
        except (OSError, ValueError, http.client.HTTPException) as e:  # ValueError: a header http.client refuses
            raise FetchError(f"{url}: could not be fetched ({e or type(e).__name__})") from None
        url = urllib.parse.urljoin(target.url, location)
        if url in seen:
            raise FetchError(f"{seen[0]}: a redirect loop ({' -> '.join([*seen, url])})")
        seen.append(url)
    raise FetchError(f"{seen[0]}: more than {MAX_REDIRECTS} redirects ({' -> '.join(seen)})")


def _get(target: Target, url: str, deadline: _Deadline, accept: tuple[str, ...],
         extra: Mapping[str, str]) -> tuple[http.client.HTTPResponse, _Connection]:
    """One request, on a connection to the addresses `target`'s host has just been checked to have."""
    connection = _Connection(target, resolve(target, url), deadline)
    try:
        connection.putrequest("GET", target.path, skip_host=True, skip_accept_encoding=True)
        for name, value in {"Host": target.netloc, "User-Agent": USER_AGENT, "Accept": ", ".join(accept),
                            "Accept-Encoding": "identity", **extra}.items():
            connection.putheader(name, value)
        connection.endheaders()
        return connection.getresponse(), connection
    except BaseException:
        connection.close()
        raise


def _read(url: str, response: http.client.HTTPResponse, accept: tuple[str, ...], max_bytes: int,
          deadline: _Deadline, conditional: bool) -> Fetched:
    etag, modified = response.getheader("ETag"), response.getheader("Last-Modified")
    if response.status == 304 and conditional:
        return Fetched(url, "", None, b"", 304, etag, modified)
    if not 200 <= response.status < 300:
        raise FetchError(f"{url}: the server answered HTTP {response.status} {response.reason}")
    ctype = response.headers.get_content_type()
    if ctype not in accept:
        raise FetchError(f"{url}: the content type is {ctype}, not one veille reads here ({', '.join(accept)})")
    length = response.getheader("Content-Length", "")
    if length.isdigit() and int(length) > max_bytes:
        raise FetchError(f"{url}: {int(length):,} bytes, over the {max_bytes:,}-byte limit")
    body = bytearray()
    while chunk := response.read1(CHUNK):
        body += chunk
        if len(body) > max_bytes:
            raise FetchError(f"{url}: over the {max_bytes:,}-byte limit")
        deadline.left()  # a server dripping the body is cut here even when each chunk arrives in time
    return Fetched(url, ctype, response.headers.get_content_charset(), bytes(body), response.status, etag, modified)
