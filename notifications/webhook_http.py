"""One webhook request: the target checked against server-side request forgery, the body
signed, the connection made to the very address that was checked, no redirects followed.

No database here: notifications.webhooks decides what to send and records the outcome.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import socket
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from urllib.parse import urlsplit, urlunsplit

import httpx

SIGNATURE_HEADER = "X-Todo-Signature"
USER_AGENT = "Todo-Webhooks/1"
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
#: NAT64 (RFC 6052): the last 32 bits are an IPv4 address, which is what gets reached.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class TargetRefused(ValueError):
    """The URL may not be called: its form, or an address its host resolves to."""


def address_refusal(address: IPAddress) -> str | None:
    """Why a connection to `address` is refused (None: a public address)."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is None and address.teredo is not None:
            embedded = address.teredo[1]
        if embedded is not None:
            return address_refusal(embedded)
    checks = (
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("unspecified", address.is_unspecified),
        ("reserved", address.is_reserved),
        ("private", address.is_private),
        ("not globally routable", not address.is_global),
    )
    return next((f"a {kind} address" for kind, refused in checks if refused), None)


@dataclass(frozen=True)
class Target:
    """A checked URL and the address to connect to for it."""

    url: str
    host: str
    port: int
    address: IPAddress

    def pinned_url(self) -> str:
        """The URL with the checked address as its host: httpx then connects there and
        does not resolve the name again (a second lookup could answer differently)."""
        parts = urlsplit(self.url)
        host = f"[{self.address}]" if self.address.version == 6 else str(self.address)
        return urlunsplit((parts.scheme, f"{host}:{self.port}", parts.path or "/", parts.query, ""))

    def host_header(self) -> str:
        parts = urlsplit(self.url)
        default = 443 if parts.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"


def check_url_form(url: str, *, allow_private: bool) -> tuple[str, int]:
    """(host, port) of a URL that may be called, or TargetRefused saying why not."""
    if any(char.isspace() or ord(char) < 32 or ord(char) == 127 for char in url.strip()):
        raise TargetRefused("The URL may not contain spaces or control characters.")
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise TargetRefused(f"Not a valid URL: {exc}.") from None
    schemes = {"https", "http"} if allow_private else {"https"}
    if parts.scheme not in schemes:
        raise TargetRefused("The URL must start with https://.")
    if not parts.hostname:
        raise TargetRefused("The URL needs a host name.")
    if parts.username is not None or parts.password is not None:
        raise TargetRefused("The URL may not contain a user name or password.")
    if parts.fragment:
        raise TargetRefused("The URL may not contain a #fragment.")
    return parts.hostname, port or (443 if parts.scheme == "https" else 80)


def resolve_target(url: str, *, allow_private: bool) -> Target:
    """Check the URL, resolve its host and check every address it resolves to (one
    refused address refuses the URL: an attacker's DNS could answer with either)."""
    host, port = check_url_form(url, allow_private=allow_private)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError, ValueError) as exc:
        raise TargetRefused(f"The host {host} could not be resolved ({exc}).") from None
    addresses: list[IPAddress] = []
    for info in infos:
        # The scope of a link-local IPv6 address ("fe80::1%eth0") is not part of it.
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise TargetRefused(f"The host {host} has no address.")
    if not allow_private:
        for address in addresses:
            refusal = address_refusal(address)
            if refusal is not None:
                raise TargetRefused(f"{host} resolves to {address}, {refusal}: refused.")
    return Target(url=url.strip(), host=host, port=port, address=addresses[0])


def signature_header(body: bytes, secrets: Iterable[str], timestamp: int) -> str:
    """`t=<unix time>,v1=<hex>` with one v1 per secret: HMAC-SHA256 of `<t>.<body>`."""
    signed = f"{timestamp}.".encode() + body
    signatures = [hmac.new(s.encode(), signed, hashlib.sha256).hexdigest() for s in secrets]
    return ",".join([f"t={timestamp}", *(f"v1={signature}" for signature in signatures)])


@dataclass(frozen=True)
class Answer:
    status_code: int
    duration_ms: int


@cache
def _client() -> httpx.Client:
    # No connection reuse: a pooled connection is keyed by address, and two host names on
    # one address need their own TLS handshakes (SNI, certificate). trust_env=False: no
    # proxy from the environment, which would resolve the name again itself.
    return httpx.Client(
        follow_redirects=False,
        trust_env=False,
        limits=httpx.Limits(max_keepalive_connections=0),
    )


def post(target: Target, body: bytes, headers: Mapping[str, str], *, timeout: float) -> Answer:
    """POST the body to the checked address; the receiver's answer (any status, a
    redirect is not followed) or an httpx.HTTPError when none came in time."""
    request = _client().build_request(
        "POST",
        target.pinned_url(),
        content=body,
        headers={
            "Host": target.host_header(),
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            **headers,
        },
        timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
        # TLS speaks to (and checks the certificate of) the host name, not the address.
        extensions={"sni_hostname": target.host},
    )
    started = time.perf_counter()
    response = _client().send(request, stream=True)
    duration_ms = round((time.perf_counter() - started) * 1000)
    response.close()  # the body is not read: only the status matters
    return Answer(status_code=response.status_code, duration_ms=duration_ms)
