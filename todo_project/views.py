"""The front door, and the page chrome every signed-in page shares."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.views.decorators.cache import cache_control


def home(request: HttpRequest) -> HttpResponse:
    """Signed in: straight to the task list. Otherwise a short landing page."""
    if request.user.is_authenticated:
        return redirect("tasks:list")
    return render(request, "home.html")


@cache_control(max_age=86400, public=True)
def favicon(request: HttpRequest) -> HttpResponse:
    """Pages link their icon; this answers browsers (and the API docs) that ask by habit."""
    return redirect(static("app/favicon.svg"), permanent=True)


def chrome(request: HttpRequest) -> dict[str, Any]:
    """Context for the header of a signed-in page: the task counts and unread badge.

    The same numbers are pushed over the WebSocket when they change (realtime.rendering).
    """
    if not request.user.is_authenticated:
        return {}
    from notifications.selectors import unread_count
    from tasks.selectors import nav_counts

    user = request.user
    return {
        **nav_counts(user=user),
        "unread_count": unread_count(user=user),
    }
