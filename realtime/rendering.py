"""HTML fragments for live updates, rendered from event payloads with the very partials the
pages use, in the receiving user's time zone. The template engine escapes all user text.

Reads from the database, and why they are unavoidable:
- the user's time zone (the payload carries the task's zone, the page shows the user's);
- the header counts (open tasks, Today, Upcoming, unread notifications): aggregates no
  payload can carry.
The task row itself is rendered from the payload's snapshot, never read back, so a row
pushed for version N shows version N even if the task has changed since; the page keeps
the newest by `data-version`.
"""

from __future__ import annotations

import zoneinfo

from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from notifications.presenters import INBOX_TEMPLATE, NotificationItem
from notifications.selectors import unread_count
from notifications.services import NOTIFICATION_CREATED, NOTIFICATIONS_READ
from tasks.events import TASK_COMPLETED, TASK_CREATED, TASK_DELETED, TASK_UPDATED
from tasks.presenters import LIST_TEMPLATE, TaskRow
from tasks.selectors import nav_counts
from todo_project.accounts.models import User
from todo_project.eventbus.envelope import Event

LIVE_EVENTS = {
    TASK_CREATED: "created",
    TASK_UPDATED: "updated",
    TASK_COMPLETED: "updated",
    TASK_DELETED: "deleted",
}


def _zone(user_id: int) -> zoneinfo.ZoneInfo | None:
    name = User.objects.filter(pk=user_id).values_list("timezone", flat=True).first()
    if name is None:
        return None  # the user is gone: nobody to push to
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def render_event(event: Event) -> str:
    """The fragments for one task-updates event ('' when there is nothing to show)."""
    user_id = event.user_id
    if user_id is None:
        return ""
    zone = _zone(user_id)
    if zone is None:
        return ""
    with timezone.override(zone):
        if event.event_type in LIVE_EVENTS:
            return _task_fragment(event, user_id)
        if event.event_type == NOTIFICATION_CREATED:
            return _notification_fragment(event, user_id)
        if event.event_type == NOTIFICATIONS_READ:
            return render_to_string(
                "base.html#unread-badge",
                {"unread_count": unread_count(user=User(pk=user_id)), "oob": True},
            )
    return ""


def _task_fragment(event: Event, user_id: int) -> str:
    zone = timezone.get_current_timezone()  # the user's: render_event overrides it
    context = {
        "row": TaskRow.from_snapshot(event.payload),
        "live_event": LIVE_EVENTS[event.event_type],
        **nav_counts(user=User(pk=user_id, timezone=str(zone))),
    }
    return render_to_string(f"{LIST_TEMPLATE}#live-task", context)


def _notification_fragment(event: Event, user_id: int) -> str:
    item = NotificationItem.from_payload(event.payload)
    context = {
        "item": item,
        "unread_count": unread_count(user=User(pk=user_id)),
        "toast_kind": "reminder",
        "toast_title": "Reminder:" if item.kind == "reminder" else "",
        "toast_text": item.message,
        "toast_url": reverse("tasks:edit", args=[item.task_id]) if item.task_id else "",
        "toast_link": "Open task",
        "toast_snooze": item if item.can_snooze else None,
    }
    return render_to_string(f"{INBOX_TEMPLATE}#live-notification", context)
