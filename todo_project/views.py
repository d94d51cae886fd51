"""The front door, and the page chrome every signed-in page shares."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render


def home(request: HttpRequest) -> HttpResponse:
    """Signed in: straight to the task list. Otherwise a short landing page."""
    if request.user.is_authenticated:
        return redirect("tasks:list")
    return render(request, "home.html")


def chrome(request: HttpRequest) -> dict[str, Any]:
    """Context for the header of a signed-in page: the open-task count and unread badge.

    The same numbers are pushed over the WebSocket when they change (realtime.rendering).
    """
    if not request.user.is_authenticated:
        return {}
    from notifications.selectors import unread_count
    from tasks.selectors import open_task_count

    user = request.user
    return {
        "open_count": open_task_count(user=user),
        "unread_count": unread_count(user=user),
    }
