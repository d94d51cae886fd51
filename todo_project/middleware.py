from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import resolve_url
from django.utils import timezone
from django_htmx.http import HttpResponseClientRedirect


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


class HtmxLoginRedirectMiddleware:
    """An htmx request that meets an ended session goes to the login page as a whole page.

    `login_required` answers a redirect to the login page, which the browser's XHR would
    follow and htmx would swap into the row or list it was updating. Instead the page is
    told to navigate (HX-Redirect), and `next` is the page the user was on (HX-Current-URL),
    not the endpoint the fragment came from. Sits after HtmxMiddleware (request.htmx).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        htmx = getattr(request, "htmx", None)
        if not htmx or response.status_code != 302:
            return response
        login_path = urlsplit(resolve_url(settings.LOGIN_URL)).path
        if urlsplit(response.headers.get("Location", "")).path != login_path:
            return response
        back = htmx.current_url_abs_path  # None for another origin
        return HttpResponseClientRedirect(
            redirect_to_login(back)["Location"] if back else login_path
        )
