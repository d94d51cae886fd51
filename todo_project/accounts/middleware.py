"""429 with Retry-After for the credential endpoints, before any session, database or
password work (throttle.py says what is limited)."""

from __future__ import annotations

import functools
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse

from . import throttle


@functools.cache
def credential_paths() -> frozenset[str]:
    return frozenset(
        reverse(name)
        for name in (
            "login",
            "signup",
            "password_change",
            "sign_out_everywhere",
            "admin:login",
            "api:obtain_token",
            "api:refresh_token",
        )
    )


def too_many(request: HttpRequest, refused: throttle.RateLimited) -> HttpResponse:
    response: HttpResponse
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": refused.message}, status=429)
    else:
        context = {"message": refused.message, "retry_after": refused.retry_after}
        response = render(request, "429.html", context, status=429)
    response["Retry-After"] = str(refused.retry_after)
    return response


class ThrottleMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method == "POST" and request.path in credential_paths():
            address = request.META.get("REMOTE_ADDR", "")
            try:
                throttle.hit("credentials-per-address", address)
                if request.path == reverse("signup"):
                    throttle.hit("signups-per-address", address)
            except throttle.RateLimited as refused:
                return too_many(request, refused)
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, throttle.RateLimited):
            return too_many(request, exception)
        return None
