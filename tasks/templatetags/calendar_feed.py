"""The calendar feed's card on the settings page (the page belongs to the accounts app,
which knows nothing of tasks: the card renders itself here)."""

from __future__ import annotations

from typing import Any

from django import template

from tasks.calendar_feed import calendar_feed_get, feed_url

register = template.Library()


@register.inclusion_tag("tasks/calendar_feed_card.html", takes_context=True)
def calendar_feed_card(context: dict[str, Any]) -> dict[str, Any]:
    request = context["request"]
    feed = calendar_feed_get(user=request.user)
    return {
        "csrf_token": context.get("csrf_token"),
        "url": feed_url(feed) if feed is not None else None,
        "reset_at": feed.reset_at if feed is not None else None,
    }
