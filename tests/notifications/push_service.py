"""A push service on 127.0.0.1 for the web push tests: it checks what a real one checks
(the VAPID JWT of RFC 8292 against the server's public key, aud, exp and sub) and
decrypts each message (RFC 8291, aes128gcm) with the private key and auth secret of the
browser subscription it plays, as a browser would."""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import http_ece
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid, b64urlencode

from notifications.webpush import public_key_text

#: The server's VAPID identity in these tests.
_vapid = Vapid()
_vapid.generate_keys()
PRIVATE_KEY = b64urlencode(_vapid.private_key.private_numbers().private_value.to_bytes(32, "big"))
PUBLIC_KEY = public_key_text(_vapid.public_key)
SUBJECT = "mailto:ops@example.com"


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class BrowserKeys:
    """What a browser makes for one PushSubscription: a P-256 pair and an auth secret."""

    private_key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    auth_secret: bytes = field(default_factory=lambda: os.urandom(16))

    @property
    def p256dh(self) -> str:
        return b64url(
            self.private_key.public_key().public_bytes(
                serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
            )
        )

    @property
    def auth(self) -> str:
        return b64url(self.auth_secret)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    claims: dict[str, Any]
    message: dict[str, Any]


class PushService:
    """Answers each push with the next planned status of its path (201 by default)."""

    def __init__(self, *, vapid_public_key: str, subject: str) -> None:
        self.vapid_public_key = vapid_public_key
        self.subject = subject
        self.browsers: dict[str, BrowserKeys] = {}
        self.plans: dict[str, deque[tuple[int, dict[str, str]]]] = {}
        self.received: list[Received] = []
        #: Requests refused before decryption, with the reason (a bad JWT, say).
        self.rejected: list[str] = []
        self.delay = 0.0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def origin(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def subscribe(self, name: str) -> tuple[str, BrowserKeys]:
        """A new browser subscription: its endpoint and its keys."""
        keys = BrowserKeys()
        self.browsers[f"/push/{name}"] = keys
        return f"{self.origin}/push/{name}", keys

    def plan(self, name: str, *answers: int | tuple[int, dict[str, str]]) -> None:
        self.plans[f"/push/{name}"] = deque(
            answer if isinstance(answer, tuple) else (answer, {}) for answer in answers
        )

    def messages_for(self, name: str) -> list[dict[str, Any]]:
        return [r.message for r in self.received if r.path == f"/push/{name}"]

    def __enter__(self) -> PushService:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _check(self, path: str, headers: dict[str, str], body: bytes) -> Received:
        scheme, _, params = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "vapid":
            raise ValueError(f"Authorization scheme {scheme!r}, not vapid")
        parts = dict(item.split("=", 1) for item in params.split(","))
        if parts.get("k") != self.vapid_public_key:
            raise ValueError("k is not the server's VAPID public key")
        public_key = ec.EllipticCurvePublicKey.from_encoded_point(
            ec.SECP256R1(), b64url_decode(parts["k"])
        )
        claims = jwt.decode(
            parts["t"],
            key=public_key,
            algorithms=["ES256"],
            audience=self.origin,
            options={"require": ["exp", "aud", "sub"]},
        )
        if claims["sub"] != self.subject:
            raise ValueError(f"sub {claims['sub']!r}")
        if claims["exp"] > time.time() + 24 * 3600:
            raise ValueError("exp more than 24 hours ahead")
        if headers.get("content-encoding") != "aes128gcm":
            raise ValueError(f"Content-Encoding {headers.get('content-encoding')!r}")
        browser = self.browsers[path]
        plain = http_ece.decrypt(
            body,
            private_key=browser.private_key,
            auth_secret=browser.auth_secret,
            version="aes128gcm",
        )
        return Received(path, headers, claims, json.loads(plain))

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = {key.lower(): value for key, value in self.headers.items()}
                if service.delay:
                    time.sleep(service.delay)
                if self.path not in service.browsers:
                    self._answer(404, {})
                    return
                try:
                    received = service._check(self.path, headers, body)
                except Exception as exc:
                    service.rejected.append(f"{type(exc).__name__}: {exc}")
                    self._answer(400, {})
                    return
                service.received.append(received)
                plan = service.plans.get(self.path)
                status, extra = plan.popleft() if plan else (201, {})
                self._answer(status, extra)

            def _answer(self, status: int, extra: dict[str, str]) -> None:
                self.send_response(status)
                for key, value in extra.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler
