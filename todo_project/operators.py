"""Who may read what only operators should see: /metrics of the web app and the details
of /readyz (the database error, the outbox backlog). Kubernetes probes need only the
status code, which everyone gets.

A request is an operator's when it comes (1) with `Authorization: Bearer OPERATOR_TOKEN`,
(2) to the internal METRICS_PORT (the chart's ServiceMonitor and port-forwards), or (3)
from the loopback address (a local run; behind a reverse proxy on the same host, daphne's
--proxy-headers make REMOTE_ADDR the real client)."""

from __future__ import annotations

import hmac
import ipaddress

from django.conf import settings
from django.http import HttpRequest


def is_operator(request: HttpRequest) -> bool:
    token = settings.OPERATOR_TOKEN
    header = request.headers.get("Authorization", "")
    if token and hmac.compare_digest(header.encode(), f"Bearer {token}".encode()):
        return True
    if settings.METRICS_PORT and request.META.get("SERVER_PORT") == str(settings.METRICS_PORT):
        return True
    try:
        return ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback
    except ValueError:
        return False
