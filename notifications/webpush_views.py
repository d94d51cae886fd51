"""The browser's side of web push: the service worker script and the settings page's
subscribe and unsubscribe calls (session and CSRF; the API has the same for tokens)."""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from . import webpush

SERVICE_WORKER_TEMPLATE = "notifications/push_sw.js"


@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    """Served under /notifications/ but controlling the whole app: the header lets the
    page register it with scope "/"; no-cache so a new version is picked up at once."""
    response = render(request, SERVICE_WORKER_TEMPLATE, content_type="text/javascript")
    response["Service-Worker-Allowed"] = "/"
    response["Cache-Control"] = "no-cache"
    return response


def _json_body(request: HttpRequest) -> dict[str, Any] | None:
    try:
        data = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


@login_required
@require_POST
def subscribe(request: HttpRequest) -> HttpResponse:
    """Body: the browser's PushSubscription.toJSON()."""
    if not webpush.push_enabled():
        return JsonResponse({"detail": "Web push is not enabled on this server."}, status=409)
    data = _json_body(request)
    if data is None:
        return JsonResponse({"detail": "The body must be a JSON object."}, status=400)
    keys = data.get("keys")
    if not isinstance(keys, dict):
        keys = {}
    try:
        subscription = webpush.push_subscription_save(
            user=request.user,  # type: ignore[arg-type]
            endpoint=_text(data.get("endpoint"))[:2000],
            p256dh=_text(keys.get("p256dh"))[:200],
            auth=_text(keys.get("auth"))[:100],
            user_agent=request.headers.get("User-Agent", ""),
        )
    except ValidationError as exc:
        return JsonResponse({"errors": exc.message_dict}, status=422)
    return JsonResponse({"id": subscription.pk}, status=201)


@login_required
@require_POST
def unsubscribe(request: HttpRequest) -> HttpResponse:
    data = _json_body(request)
    if data is None or not _text(data.get("endpoint")):
        return JsonResponse({"errors": {"endpoint": ["This field is required."]}}, status=422)
    removed = webpush.push_subscription_delete(
        user=request.user,  # type: ignore[arg-type]
        endpoint=_text(data["endpoint"]),
    )
    return JsonResponse({"removed": removed})
