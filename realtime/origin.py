"""The WebSocket handshake is accepted only from this site's own pages.

Channels' AllowedHostsOriginValidator compares the Origin's host name with ALLOWED_HOSTS
and ignores its scheme and port, so a page on http://todo.example.com:8080 (another
service on the same host) could open a socket with the user's cookies. Here the Origin
must be exactly the origin the browser addressed (scheme, host and port, as Django's CSRF
check computes it: https behind a proxy that says X-Forwarded-Proto: https), or one of
CSRF_TRUSTED_ORIGINS.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host

DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin(value: str) -> tuple[str, str, int] | None:
    parts = urlsplit(value.strip().lower())
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    try:
        port = parts.port or DEFAULT_PORTS[parts.scheme]
    except ValueError:
        return None
    return parts.scheme, parts.hostname, port


def allowed_origin(scope: dict[str, Any]) -> bool:
    headers = {
        name.decode("latin-1").lower(): value.decode("latin-1")
        for name, value in scope.get("headers", [])
    }
    origin = _origin(headers.get("origin", ""))
    host = headers.get("host", "")
    if origin is None or not host:
        return False
    domain, _port = split_domain_port(host)
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        return False
    secure = scope.get("scheme") in {"wss", "https"}
    proxy_header = settings.SECURE_PROXY_SSL_HEADER
    if proxy_header is not None:
        name, value = proxy_header
        forwarded = headers.get(name.removeprefix("HTTP_").replace("_", "-").lower(), "")
        secure = secure or forwarded.split(",")[0].strip().lower() == value
    own = _origin(f"{'https' if secure else 'http'}://{host}")
    trusted = {_origin(o) for o in settings.CSRF_TRUSTED_ORIGINS}
    return origin == own or origin in trusted


class SameOriginValidator:
    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope["type"] == "websocket" and not allowed_origin(scope):
            return await WebsocketDenier()(scope, receive, send)
        return await self.application(scope, receive, send)
