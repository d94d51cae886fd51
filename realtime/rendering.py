"""HTML fragments for live updates, rendered from event payloads with the very partials the
pages use, in the receiving user's time zone. The template engine escapes all user text.

Reads from the database, and why they are unavoidable:
- the user's time zone (the payload carries the task's zone, the page shows the user's);
- the header counts (open tasks, Today, Upcoming, unread notifications): aggregates no
  payload can carry;
- the inbox rows a "read" event names (its payload carries only their ids).
The task row itself is rendered by each tab's consumer, for that tab's view (tasks.live).
"""

from __future__ import annotations

import zoneinfo

from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from notifications.presenters import INBOX_TEMPLATE, NotificationItem
from notifications.selectors import notification_items, unread_count
from notifications.services import NOTIFICATION_CREATED, NOTIFICATIONS_READ
from tasks.events import TASK_EVENT_TYPES
from tasks.selectors import nav_counts
from todo_project.accounts.models import User
from todo_project.eventbus.envelope import Event


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
        if event.event_type in TASK_EVENT_TYPES:
            return _task_fragment(event, user_id)
        if event.event_type == NOTIFICATION_CREATED:
            return _notification_fragment(event, user_id)
        if event.event_type == NOTIFICATIONS_READ:
            return _read_fragment(event, user_id)
    return ""


#: The most inbox rows one "read" push re-renders: the newest ones, two inbox pages. A tab
#: showing an older page sees the rest as read when it next loads (its badge is right).
READ_ROWS_LIMIT = 100


def _read_fragment(event: Event, user_id: int) -> str:
    """The badge, and each row now read as the inbox shows it (for another tab's inbox)."""
    ids = sorted(int(pk) for pk in event.payload.get("notification_ids") or [])
    rows = notification_items(user=User(pk=user_id), ids=ids[-READ_ROWS_LIMIT:])
    context = {
        "unread_count": unread_count(user=User(pk=user_id)),
        "items": [NotificationItem.from_notification(row) for row in rows],
    }
    return render_to_string(f"{INBOX_TEMPLATE}#live-read", context)


def _task_fragment(event: Event, user_id: int) -> str:
    """What every tab of the user shows of a task change: the header's counts (open, Today,
    Upcoming). Where the row goes depends on each tab's view: the consumer adds that
    (tasks.live)."""
    zone = timezone.get_current_timezone()  # the user's: render_event overrides it
    context = nav_counts(user=User(pk=user_id, timezone=str(zone)))
    return render_to_string("base.html#nav-counts", context)


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
