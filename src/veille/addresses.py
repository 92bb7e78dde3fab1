"""Which URLs and which network addresses veille may fetch from, decided once and kept.

A URL is parsed here once, strictly, into a `Target`; the fetch sends exactly that target's host, port and
path, so no second parser can read the URL another way (`http://a#@b/`, `http://a\\b/`). A host name is
resolved once, every address it has is checked, and the fetch connects only to those checked addresses,
so a name that answers differently the second time (DNS rebinding) gains nothing.

`is_public` is the one address filter. IPv6 has several forms that carry an IPv4 address inside (mapped,
compatible, SIIT, NAT64, 6to4, Teredo): a NAT64 gateway turns `64:ff9b::a9fe:a9fe` into 169.254.169.254,
so the IPv4 address inside must pass the same filter as the IPv6 address around it.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import urllib.parse
from dataclasses import dataclass

from .errors import VeilleError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")  # RFC 8215: a site's own NAT64 prefix, any length
_COMPATIBLE = ipaddress.ip_network("::/96")  # the deprecated IPv4-compatible form, ::a.b.c.d
_TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")  # SIIT's IPv4-translated form, ::ffff:0:a.b.c.d
# Path and query characters sent as they are; anything else (spaces are refused earlier, non-ASCII letters
# of a French slug are not) is percent-encoded, so the request line is always plain ASCII.
_SAFE = "/%:@!$&'()*+,;=-._~"


class FetchError(VeilleError):
    """A URL that was not fetched, and why."""


@dataclass(frozen=True)
class Target:
    """A URL as it will be fetched: what the address check saw is what the request sends."""

    scheme: str
    host: str  # ASCII (IDNA) host name or IP literal, without brackets
    port: int
    path: str  # the request target: path and query, percent-encoded, never empty

    @property
    def netloc(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.netloc}{self.path}"


def private_allowed() -> bool:
    return os.environ.get("VEILLE_FETCH_PRIVATE", "").strip().lower() in {"1", "true", "yes", "on"}


def parse_url(url: str) -> Target:
    """The URL as a Target, or a FetchError saying what in it veille will not fetch."""
    text = url.strip()
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in text):
        raise FetchError(f"{url!r}: the address holds a space or a control character; give the URL without them")
    if "\\" in text:
        raise FetchError(f"{url}: the address holds a backslash, which programs read differently; use / instead")
    parts = urllib.parse.urlsplit(text)
    if parts.scheme not in ("http", "https"):
        raise FetchError(f"{url}: only http:// and https:// addresses are fetched, not {parts.scheme or 'a bare path'}")
    if "@" in parts.netloc:
        raise FetchError(f"{url}: the address names a user (user@host); veille fetches public pages only, give "
                         "the URL without the part before @")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        host = (parts.hostname or "").rstrip(".")
    except ValueError as e:
        raise FetchError(f"{url}: the host or port cannot be read ({e})") from None
    if not host:
        raise FetchError(f"{url}: no host name in the address")
    if "%" in host:
        raise FetchError(f"{url}: an IPv6 zone (%) names a local network interface; veille does not fetch those")
    try:
        host = host.encode("idna").decode("ascii") if ":" not in host else host
    except UnicodeError:
        raise FetchError(f"{url}: {host} is not a valid host name") from None
    query = "?" + urllib.parse.quote(parts.query, safe=_SAFE + "?") if parts.query else ""
    return Target(parts.scheme, host, port, urllib.parse.quote(parts.path or "/", safe=_SAFE) + query)


def _embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """Every IPv4 address this IPv6 address may stand for on some network (empty for a plain IPv6 one)."""
    value, found = int(address), []
    low32 = ipaddress.IPv4Address(value & 0xFFFFFFFF)
    if address.ipv4_mapped:
        found.append(address.ipv4_mapped)
    if address in _COMPATIBLE or address in _TRANSLATED or address in _NAT64:
        found.append(low32)
    if address in _NAT64_LOCAL:  # RFC 6052 /48 layout (bits 48-63, then 72-87) and the common /96 one
        found += [ipaddress.IPv4Address(((value >> 64) & 0xFFFF) << 16 | (value >> 40) & 0xFFFF), low32]
    if address.sixtofour:
        found.append(address.sixtofour)
    if address.teredo:
        found += list(address.teredo)  # the Teredo server and the (de-obfuscated) client
    return found


def is_public(address: str | IPAddress) -> bool:
    """Whether veille may connect to this address: a global unicast address, and so is any IPv4 inside it."""
    ip = ipaddress.ip_address(str(address).split("%")[0]) if isinstance(address, str) else address
    # is_global leaves out the private, loopback, link-local, shared (100.64/10), documentation and other
    # special-purpose ranges of both families; multicast is global but never a web server.
    if not ip.is_global or ip.is_multicast:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.is_site_local:  # fec0::/10: deprecated, still routed inside some old networks; Python calls it global
            return False
        return all(is_public(v4) for v4 in _embedded_ipv4(ip))
    return True


def resolve(target: Target, original: str) -> list[tuple[int, tuple]]:
    """The (family, socket address) pairs to connect to, each already checked; resolved here only once."""
    try:
        infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as e:
        raise FetchError(f"{original}: the host {target.host} is not known ({getattr(e, 'strerror', e)})") from None
    allowed = private_allowed()
    found: list[tuple[int, tuple]] = []
    for family, _, _, _, sockaddr in infos:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        if not allowed and not is_public(str(sockaddr[0])):
            raise FetchError(f"{original}: {target.host} is a private, loopback or link-local address "
                             f"({sockaddr[0]}); veille does not fetch those unless VEILLE_FETCH_PRIVATE=1")
        if (family, sockaddr) not in found:
            found.append((family, sockaddr))
    if not found:
        raise FetchError(f"{original}: the host {target.host} has no IPv4 or IPv6 address")
    return found
