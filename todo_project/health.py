"""Liveness and readiness for probes and operators."""

from __future__ import annotations

import asyncio
import uuid

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from todo_project.eventbus.selectors import outbox_stats
from todo_project.operators import is_operator


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def _check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return "ok"


async def _channel_layer_roundtrip() -> None:
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("no channel layer configured")
    channel = await layer.new_channel("readyz.")
    payload = {"type": "readyz.ping", "nonce": uuid.uuid4().hex}
    await layer.send(channel, payload)
    received = await asyncio.wait_for(layer.receive(channel), timeout=2)
    if received.get("nonce") != payload["nonce"]:
        raise RuntimeError("channel layer returned another message")


def _check_sidecar() -> str:
    # The same probe the relay asks before it claims rows (one request, API token included).
    from todo_project.eventbus.dapr_gateway import sidecar_healthy

    if not sidecar_healthy(timeout=2.0):
        raise RuntimeError("no 2xx from the sidecar's /v1.0/healthz/outbound")
    return "ok"


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """503 when the process cannot serve (database, channel layer); 200 "degraded" when
    only the Dapr sidecar is down: writes still commit to the outbox, which the relay
    delivers once the sidecar is back, so taking the pod out of service would only hurt."""
    checks: dict[str, object] = {}
    ready = True
    degraded = False
    probes = [("database", _check_database, True), ("channel_layer", _channel_layer_check, True)]
    if settings.EVENT_BACKEND == "dapr":
        probes.append(("dapr_sidecar", _check_sidecar, False))
    for name, probe, critical in probes:
        try:
            checks[name] = probe()
        except Exception as exc:
            checks[name] = f"error: {type(exc).__name__}: {exc}"
            if critical:
                ready = False
            else:
                degraded = True
    try:
        checks["outbox"] = outbox_stats()
    except Exception as exc:
        checks["outbox"] = f"error: {type(exc).__name__}"
        ready = False
    status = "unavailable" if not ready else "degraded" if degraded else "ready"
    body: dict[str, object] = {"status": status}
    if is_operator(request):  # errors and backlog figures are not for the public
        body["checks"] = checks
    return JsonResponse(body, status=200 if ready else 503)


def _channel_layer_check() -> str:
    async_to_sync(_channel_layer_roundtrip)()
    return "ok"
