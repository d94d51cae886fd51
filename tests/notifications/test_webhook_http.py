"""Targets are checked against SSRF, the request goes to the checked address, signed."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
import socket

import httpx
import pytest

from notifications import webhook_http
from notifications.webhook_http import TargetRefused, resolve_target
from tests.notifications.receiver import Receiver


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://10.1.2.3/hook",
        "https://172.16.0.1/hook",
        "https://192.168.1.1/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://100.64.0.1/hook",
        "https://0.0.0.0/hook",
        "https://224.0.0.1/hook",
        "https://240.0.0.1/hook",
        "https://[::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://[::ffff:10.0.0.1]/hook",
        "https://[fe80::1]/hook",
        "https://[fc00::1]/hook",
        "https://[fd12:3456::1]/hook",
        "https://[ff02::1]/hook",
        "https://[64:ff9b::7f00:1]/hook",
        "https://[2002:7f00:1::]/hook",
        "https://2130706433/hook",
        "https://localhost/hook",
    ],
)
def test_non_public_targets_are_refused(url):
    with pytest.raises(TargetRefused, match="refused"):
        resolve_target(url, allow_private=False)


def test_a_name_that_resolves_to_loopback_is_refused(monkeypatch):
    real = socket.getaddrinfo

    def resolver(host, *args, **kwargs):
        if host == "hooks.example.com":
            return real("127.0.0.1", *args, **kwargs)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    with pytest.raises(TargetRefused, match=re.escape("hooks.example.com resolves to 127.0.0.1")):
        resolve_target("https://hooks.example.com/hook", allow_private=False)


def test_one_private_address_among_public_ones_refuses_the_name(monkeypatch):
    def resolver(host, port, *args, **kwargs):
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.5", port)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    with pytest.raises(TargetRefused, match=re.escape("10.0.0.5")):
        resolve_target("https://mixed.example.com/", allow_private=False)


def test_a_public_address_is_pinned_with_the_host_kept_for_tls(monkeypatch):
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        lambda host, port, *a, **k: [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port))
        ],
    )
    target = resolve_target("https://hooks.example.com/in?x=1", allow_private=False)
    assert target.address == ipaddress.ip_address("93.184.215.14")
    assert target.pinned_url() == "https://93.184.215.14:443/in?x=1"
    assert target.host_header() == "hooks.example.com"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://93.184.215.14/hook", "https://"),
        ("ftp://example.com/hook", "https://"),
        ("https://user:pw@example.com/hook", "user name or password"),
        ("https:///hook", "host name"),
        ("https://example.com:99999/", "Not a valid URL"),
        ("https://93.184.215.14/a\x00b", "control characters"),
        ("https://93.184.215.14/a b", "spaces"),
        ("https://exa\x00mple.com/", "control characters"),
    ],
)
def test_malformed_or_plain_http_urls_are_refused(url, message):
    with pytest.raises(TargetRefused, match=message):
        resolve_target(url, allow_private=False)


def test_the_operator_setting_allows_loopback_and_http():
    target = resolve_target("http://127.0.0.1:8080/hook", allow_private=True)
    assert str(target.address) == "127.0.0.1"
    assert target.host_header() == "127.0.0.1:8080"


def test_public_ipv4_and_ipv6_pass():
    for address in ("93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"):
        assert webhook_http.address_refusal(ipaddress.ip_address(address)) is None


def test_signature_is_hmac_sha256_of_timestamp_and_body_per_secret():
    header = webhook_http.signature_header(b'{"a":1}', ["new", "old"], 1700000000)
    expected = [
        hmac.new(key, b'1700000000.{"a":1}', hashlib.sha256).hexdigest() for key in (b"new", b"old")
    ]
    assert header == f"t=1700000000,v1={expected[0]},v1={expected[1]}"


def test_post_reaches_the_checked_address_and_does_not_follow_redirects():
    with Receiver([302]) as receiver:
        target = resolve_target(receiver.url, allow_private=True)
        answer = webhook_http.post(target, b"{}", {"X-Test": "1"}, timeout=5)
    assert answer.status_code == 302
    assert len(receiver.requests) == 1
    request = receiver.requests[0]
    assert request.headers["host"] == target.host_header()
    assert request.headers["x-test"] == "1"
    assert request.headers["content-type"] == "application/json"


def test_post_without_a_listener_raises_an_httpx_error():
    with Receiver() as receiver:
        url = receiver.url
    with pytest.raises(httpx.HTTPError):
        webhook_http.post(resolve_target(url, allow_private=True), b"{}", {}, timeout=2)
