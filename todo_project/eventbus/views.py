"""Dapr app-channel routes, served by `manage.py worker` only (see app_channel_urls)."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from .registry import job_route_for


def _token_ok(request: HttpRequest) -> bool:
    """Only the sidecar may fire a job: it sends its app token (APP_API_TOKEN) in the
    `dapr-api-token` header. Without a configured token nothing is accepted."""
    expected = settings.APP_API_TOKEN
    if not expected:
        return False
    return hmac.compare_digest(request.headers.get("dapr-api-token", ""), expected)


@csrf_exempt
@require_POST
def job_trigger(request: HttpRequest, name: str) -> JsonResponse:
    """A job fired: handed to the app that registered its name's prefix. 404 for a name
    nobody registered tells Dapr not to retry it."""
    if not _token_ok(request):
        return JsonResponse({"detail": "missing or wrong dapr-api-token"}, status=401)
    route = job_route_for(name)
    if route is None:
        return JsonResponse({"job": name, "result": "unknown job"}, status=404)
    status, reason = route.trigger(name, request.body)
    return JsonResponse({"job": name, "result": reason}, status=status)


@require_GET
def no_subscriptions(request: HttpRequest) -> JsonResponse:
    return JsonResponse([], safe=False)


@require_GET
def no_app_config(request: HttpRequest) -> JsonResponse:
    return JsonResponse({})
