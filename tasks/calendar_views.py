"""The calendar feed (no session: the secret URL is the credential) and its settings."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.cache import get_conditional_response
from django.views.decorators.http import require_POST, require_safe

from todo_project.accounts import throttle
from todo_project.accounts.models import User

from .calendar_feed import (
    calendar_feed_delete,
    calendar_feed_for_token,
    calendar_feed_reset,
    calendar_for,
    feed_tasks,
    feed_version,
    last_modified_header,
)

#: Calendar apps poll every few minutes to hours; a change shows after at most this.
FEED_MAX_AGE = 300


@require_safe
def calendar_feed(request: HttpRequest, token: str) -> HttpResponse:
    """Over a rate limit, 429 (ThrottleMiddleware); an unknown or reset URL, 404."""
    throttle.hit("calendar-feeds-per-address", request.META.get("REMOTE_ADDR", ""))
    feed = calendar_feed_for_token(token)
    if feed is None:
        raise Http404("No such calendar.")
    throttle.hit("calendar-feed-per-url", feed.token_hash)
    version = feed_version(feed=feed)
    response = get_conditional_response(
        request, etag=version.etag, last_modified=int(version.last_modified.timestamp())
    )
    if response is None:
        name = f"Todo: {feed.user.get_username()}"
        response = HttpResponse(
            calendar_for(feed_tasks(user=feed.user), name=name),
            content_type="text/calendar; charset=utf-8",
        )
        response["Content-Disposition"] = 'inline; filename="todo.ics"'
    response["ETag"] = version.etag
    response["Last-Modified"] = last_modified_header(version)
    response["Cache-Control"] = f"private, max-age={FEED_MAX_AGE}"
    response["X-Robots-Tag"] = "noindex"
    response["Referrer-Policy"] = "no-referrer"
    return response


@login_required
@require_POST
def calendar_feed_reset_view(request: HttpRequest) -> HttpResponse:
    assert isinstance(request.user, User)
    calendar_feed_reset(user=request.user)
    messages.success(request, "New calendar address: any old one no longer works.")
    return redirect(reverse("account_settings") + "#calendar-feed")


@login_required
@require_POST
def calendar_feed_delete_view(request: HttpRequest) -> HttpResponse:
    assert isinstance(request.user, User)
    calendar_feed_delete(user=request.user)
    messages.success(request, "Calendar feed turned off: its address no longer works.")
    return redirect(reverse("account_settings") + "#calendar-feed")
