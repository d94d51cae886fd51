from __future__ import annotations

import zoneinfo
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import timezone


class UserTimezoneMiddleware:
    """Show and read date-times in the signed-in user's time zone."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        name = getattr(user, "timezone", None) if user is not None else None
        if name:
            try:
                timezone.activate(zoneinfo.ZoneInfo(name))
            except zoneinfo.ZoneInfoNotFoundError:
                timezone.deactivate()
        else:
            timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            # Threads serve many requests: never leak one user's zone into the next.
            timezone.deactivate()


class ContentSecurityPolicyMiddleware:
    """A strict policy: the pages use no inline script, no eval and no third-party origin."""

    POLICY = (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
    )

    EXEMPT_PREFIXES = ("/admin/",)

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        # Django's admin (inline styles and scripts) keeps its own rules; everything else,
        # the API docs included (Swagger UI from ninja's static files), is held to this one.
        if not request.path.startswith(self.EXEMPT_PREFIXES):
            response.headers.setdefault("Content-Security-Policy", self.POLICY)
        return response
