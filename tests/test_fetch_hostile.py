"""Fetching against a hostile network: a real server on loopback that drips its answer a byte at a time,
stalls, redirects slowly, or sends validators; a resolver that answers a public address to the check and
loopback to the connection (DNS rebinding); URLs that two parsers read differently; and every IPv6 form
that carries an IPv4 address inside, through the one address filter."""

from __future__ import annotations

import ipaddress
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from veille.fetch import FetchError, check_url, fetch

PAGE = b"<html><body><p>Le port de Brest a accueilli 120 navires.</p></body></html>"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_GET(self) -> None:  # noqa: N802
        site = self.server.site
        site.seen.append((self.path, self.headers.get("Host", "")))
        name = self.path.strip("/").split("/")[0].replace("-", "_")
        getattr(self, f"_{name}", lambda: self.send_error(404))()

    def _page(self) -> None:
        self._send(PAGE)

    def _drip_body(self) -> None:  # a byte every 0.2 s for up to 6 s: a per-read time-out never fires
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", "30")
        self.end_headers()
        self._drip(b"<p>" + b"x" * 27)

    def _drip_headers(self) -> None:
        self._drip(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nX-Slow: " + b"y" * 24 + b"\r\n"
                   b"Content-Length: 4\r\n\r\n<p/>")

    def _stall(self) -> None:
        self.server.site.stop.wait(6)

    def _slow_hop(self) -> None:  # each hop 0.4 s: no hop is slow, the chain is
        n = int(self.path.rsplit("/", 1)[1])
        time.sleep(0.4)
        self._redirect("/page" if n >= 5 else f"/slow-hop/{n + 1}")

    def _late_body(self) -> None:  # "Connection: close", no length: http.client closes before the body
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.flush()
        time.sleep(0.2)
        self.wfile.write(PAGE * 100)
        self.close_connection = True

    def _hop(self) -> None:
        self._redirect("/page")

    def _etag(self) -> None:
        if self.headers.get("If-None-Match") == '"v1"':
            self.send_response(304)
            self.send_header("ETag", '"v1"')
            self.end_headers()
        else:
            self._send(PAGE, ETag='"v1"', **{"Last-Modified": "Mon, 04 Nov 2024 08:00:00 GMT"})

    def _send(self, body: bytes, **headers: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _redirect(self, where: str) -> None:
        self.send_response(302)
        self.send_header("Location", where)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _drip(self, data: bytes) -> None:
        self.wfile.flush()
        for i in range(len(data)):
            if self.server.site.stop.wait(0.2):
                return
            try:
                self.wfile.write(data[i:i + 1])
                self.wfile.flush()
            except OSError:
                return

    def log_message(self, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    site: Hostile


class Hostile:
    """A loopback HTTP server whose paths misbehave: /page, /drip-body, /drip-headers, /stall, /slow-hop/N,
    /hop/N (redirects to /page), /late-body, /etag (304 when sent its ETag). `seen` holds (path, Host header)."""

    def __init__(self, certificate: Path | None = None) -> None:
        self.seen: list[tuple[str, str]] = []
        self.stop = threading.Event()
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.site = self
        if certificate:  # https, its certificate (and key) in one file
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(certificate)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.base = f"{'https' if certificate else 'http'}://127.0.0.1:{self.port}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.stop.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def hostile() -> Iterator[Hostile]:
    server = Hostile()
    yield server
    server.close()


@pytest.fixture
def private_ok(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VEILLE_FETCH_PRIVATE", "1")


@pytest.fixture
def private_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VEILLE_FETCH_PRIVATE", raising=False)


def _cut(url: str, timeout: float) -> float:
    start = time.monotonic()
    with pytest.raises(FetchError, match=rf"no complete answer within {timeout:g} s"):
        fetch(url, timeout=timeout)
    return time.monotonic() - start


# --- one deadline for the whole fetch -------------------------------------------------------------------

@pytest.mark.parametrize("path", ["drip-body", "drip-headers", "stall"])
def test_a_server_dripping_or_stalling_is_cut_at_the_deadline(hostile: Hostile, private_ok: None, path: str) -> None:
    assert _cut(hostile.base + path, 1.0) < 1.6


def test_a_chain_of_slow_redirects_shares_one_deadline(hostile: Hostile, private_ok: None) -> None:
    assert _cut(hostile.base + "slow-hop/1", 1.0) < 1.6  # five hops of 0.4 s each, each within any per-read limit


def test_a_prompt_server_is_fetched_through_a_redirect_under_a_short_deadline(hostile: Hostile,
                                                                               private_ok: None) -> None:
    got = fetch(hostile.base + "hop/1", timeout=2.0)
    assert got.body == PAGE and got.url == hostile.base + "page" and got.status == 200


def test_a_body_sent_after_the_headers_until_the_connection_closes_is_read_whole(hostile: Hostile,
                                                                                 private_ok: None) -> None:
    assert fetch(hostile.base + "late-body", timeout=2.0).body == PAGE * 100


# --- the address checked is the address connected to ----------------------------------------------------

def test_a_name_that_rebinds_to_loopback_is_connected_at_its_checked_address(
        hostile: Hostile, private_refused: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """The resolver answers a public address first and loopback after: only the first is ever used."""
    real_resolve, real_connect = socket.getaddrinfo, socket.socket.connect
    asked: list[str] = []
    connected: list[tuple] = []

    def resolver(host: str, port: object, *args: object, **kwargs: object) -> list:
        if host != "news.example":
            return real_resolve(host, port, *args, **kwargs)  # type: ignore[arg-type]
        asked.append(host)
        address = "93.184.216.34" if len(asked) == 1 else "127.0.0.1"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, hostile.port))]

    def connect(sock: socket.socket, address: tuple) -> None:
        connected.append(address)
        if address[0] != "127.0.0.1":  # the public address is not really dialled in a test
            raise ConnectionRefusedError("not dialled in tests")
        real_connect(sock, address)

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    monkeypatch.setattr(socket.socket, "connect", connect)
    before = len(hostile.seen)
    with pytest.raises(FetchError, match="could not be fetched"):
        fetch(f"http://news.example:{hostile.port}/page", timeout=2.0)
    assert connected == [("93.184.216.34", hostile.port)] and len(asked) == 1
    assert len(hostile.seen) == before  # the loopback server was never reached


def test_a_name_for_loopback_is_refused_without_the_variable(hostile: Hostile, private_refused: None) -> None:
    before = len(hostile.seen)
    for url in (f"http://localhost:{hostile.port}/page", hostile.base + "page"):
        with pytest.raises(FetchError, match=r"private, loopback or link-local .*VEILLE_FETCH_PRIVATE=1"):
            fetch(url, timeout=2.0)
    assert len(hostile.seen) == before


def test_a_name_for_loopback_is_fetched_with_the_variable_and_its_host_header(hostile: Hostile,
                                                                             private_ok: None) -> None:
    got = fetch(f"http://localhost:{hostile.port}/hop/1", timeout=2.0)
    assert got.body == PAGE and got.url == f"http://localhost:{hostile.port}/page"
    assert hostile.seen[-2:] == [("/hop/1", f"localhost:{hostile.port}"), ("/page", f"localhost:{hostile.port}")]


@pytest.mark.parametrize("spelling", ["2130706433", "0x7f.1", "127.1", "0177.0.0.1", "0x7f000001"])
def test_odd_spellings_of_loopback_are_refused(spelling: str, private_refused: None) -> None:
    with pytest.raises(FetchError, match="private, loopback or link-local"):
        check_url(f"http://{spelling}/")


@pytest.fixture(scope="module")
def secure(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Hostile, Path]]:
    """An https server on loopback whose certificate names localhost only (no IP address)."""
    if not shutil.which("openssl"):
        pytest.skip("no openssl command to make a test certificate")
    pem = tmp_path_factory.mktemp("tls") / "localhost.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost", "-keyout", str(pem), "-out", str(pem)],
                   check=True, capture_output=True)
    server = Hostile(certificate=pem)
    yield server, pem
    server.close()


def test_https_is_verified_for_the_host_name_while_connecting_to_the_checked_address(
        secure: tuple[Hostile, Path], private_ok: None, monkeypatch: pytest.MonkeyPatch) -> None:
    server, pem = secure
    with pytest.raises(FetchError, match="certificate verify failed"):  # not trusted yet
        fetch(f"https://localhost:{server.port}/page", timeout=2.0)
    monkeypatch.setenv("SSL_CERT_FILE", str(pem))  # trust it, as a system trusts a public authority
    got = fetch(f"https://localhost:{server.port}/hop/1", timeout=2.0)
    assert got.body == PAGE and got.url == f"https://localhost:{server.port}/page"
    assert server.seen[-1] == ("/page", f"localhost:{server.port}")  # SNI and Host name the host, not the IP
    with pytest.raises(FetchError, match="certificate verify failed.*mismatch"):  # the same server by its IP
        fetch(f"https://127.0.0.1:{server.port}/page", timeout=2.0)


# --- the URL is parsed once, and the odd ones refused ---------------------------------------------------

@pytest.mark.parametrize(("url", "why"), [
    ("http://user@8.8.8.8/", "names a user"),
    ("http://user:secret@8.8.8.8/", "names a user"),
    ("http://127.0.0.1\\@8.8.8.8/", "backslash"),
    ("http://8.8.8.8\\page", "backslash"),
    ("http://8.8.8.8/a b", "space or a control character"),
    ("http://8.8.8.8/a\tb", "space or a control character"),
    ("http://8.8.8.8/\x00", "space or a control character"),
    ("http://8.8.8.8/a\r\nX-Injected: 1", "space or a control character"),
    ("http://8.8.8.8:99999/", "host or port cannot be read"),
    ("ftp://8.8.8.8/", "only http:// and https://"),
    ("http:///path", "no host name"),
    ("http://[fe80::1%25eth0]/", "zone"),
])
def test_urls_read_differently_by_other_parsers_are_refused(url: str, why: str, private_refused: None) -> None:
    with pytest.raises(FetchError, match=why):
        check_url(url)


def test_the_host_checked_is_the_host_fetched_for_a_fragment_holding_an_at(hostile: Hostile,
                                                                          private_refused: None) -> None:
    """`http://A#@B/` is A for every reader here: refused as loopback, never fetched from B."""
    with pytest.raises(FetchError, match="private, loopback"):
        fetch(f"http://127.0.0.1:{hostile.port}#@8.8.8.8/", timeout=2.0)


def test_a_french_path_is_sent_percent_encoded(hostile: Hostile, private_ok: None) -> None:
    with pytest.raises(FetchError, match="HTTP 404"):
        fetch(hostile.base + "économie/été?q=café#haut", timeout=2.0)
    assert hostile.seen[-1][0] == "/%C3%A9conomie/%C3%A9t%C3%A9?q=caf%C3%A9"


# --- the one address filter, over every IPv6 form that carries an IPv4 address --------------------------

INTERNAL = ["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0",
            "192.0.2.1", "224.0.0.1", "255.255.255.255"]
PUBLIC = ["8.8.8.8", "93.184.216.34", "1.1.1.1"]


def _forms(v4: str) -> dict[str, str]:
    """v4 inside every IPv6 form that carries one."""
    n = int(ipaddress.IPv4Address(v4))
    hi, lo = n >> 16, n & 0xFFFF
    teredo = int(ipaddress.IPv6Address("2001::")) | (int(ipaddress.IPv4Address("8.8.4.4")) << 64) | (n ^ 0xFFFFFFFF)
    return {"mapped": f"::ffff:{v4}", "compatible": f"::{v4}", "translated": f"::ffff:0:{v4}",
            "nat64": f"64:ff9b::{v4}", "nat64-hex": f"64:ff9b::{hi:x}:{lo:x}", "nat64-local-96": f"64:ff9b:1::{v4}",
            "nat64-local-48": f"64:ff9b:1:{hi:x}:{lo >> 8:x}:{(lo & 0xFF) << 8:x}::",
            "6to4": f"2002:{hi:x}:{lo:x}::1", "teredo": str(ipaddress.IPv6Address(teredo))}


@pytest.mark.parametrize("v4", INTERNAL)
def test_no_form_of_an_internal_ipv4_address_is_public(v4: str) -> None:
    from veille.addresses import is_public

    assert not is_public(v4)
    public = {form: address for form, address in _forms(v4).items() if is_public(address)}
    assert not public


@pytest.mark.parametrize("address", ["fe80::1", "fc00::1", "fd12:3456::1", "fec0::1", "::1", "::", "ff02::1",
                                     "2001:db8::1", "100::1"])
def test_internal_ipv6_addresses_are_not_public(address: str) -> None:
    from veille.addresses import is_public

    assert not is_public(address)


@pytest.mark.parametrize("address", [*PUBLIC, "2606:4700:4700::1111", "2a00:1450:4007:80e::200e",
                                     "64:ff9b::8.8.8.8", "2002:808:808::1"])
def test_public_addresses_stay_public(address: str) -> None:
    from veille.addresses import is_public

    assert is_public(address)


@pytest.mark.parametrize("form", list(_forms("169.254.169.254")))
def test_a_name_resolving_to_an_ipv6_form_of_the_metadata_address_is_refused(
        form: str, private_refused: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Through check_url, as a fetch sees it: the resolver gives the IPv6 form (a NAT64 network's DNS64)."""
    address = _forms("169.254.169.254")[form]
    answer = [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, 80, 0, 0))]
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: answer)
    with pytest.raises(FetchError, match="private, loopback or link-local"):
        check_url("http://metadata.example/latest/")


# --- conditional GET ------------------------------------------------------------------------------------

def test_validators_are_returned_and_a_304_is_reported_not_modified(hostile: Hostile, private_ok: None) -> None:
    first = fetch(hostile.base + "etag", timeout=2.0)
    assert (first.status, first.etag, first.last_modified) == (200, '"v1"', "Mon, 04 Nov 2024 08:00:00 GMT")
    again = fetch(hostile.base + "etag", timeout=2.0, headers={"If-None-Match": first.etag or ""})
    assert (again.status, again.body) == (304, b"")
