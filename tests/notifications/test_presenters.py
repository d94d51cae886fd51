"""An inbox line is the same whether the page reads the row or the pusher reads the event."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from notifications.models import Notification
from notifications.presenters import NotificationItem
from notifications.services import NOTIFICATION_CREATED, notification_payload
from tasks import services
from todo_project.eventbus.envelope import build_event

pytestmark = pytest.mark.django_db


def notification(user, **fields):
    task = services.task_create(user=user, data={"title": "Pay rent"})
    defaults = {
        "user": user,
        "task": task,
        "task_ref": task.pk,
        "message": "Pay rent <today>",
        "reminder_at": datetime(2030, 3, 4, 8, 0, 0, 123456, tzinfo=UTC),
        "due_date": datetime(2030, 3, 4, 9, 0, tzinfo=UTC),
    }
    return Notification.objects.create(**{**defaults, **fields})


def test_the_push_shows_what_the_inbox_shows(user):
    row = notification(user)
    pushed = NotificationItem.from_payload(
        build_event(NOTIFICATION_CREATED, notification_payload(row)).payload
    )
    assert pushed == NotificationItem.from_notification(row)
    assert pushed.dom_id == f"notification-{row.pk}"
    assert pushed.message == "Pay rent <today>"  # escaped by the template, not here
    assert pushed.is_read is False


def test_a_read_notification_is_shown_read(user):
    row = notification(user, read_at=datetime(2030, 3, 4, 10, 0, tzinfo=UTC))
    assert NotificationItem.from_notification(row).is_read is True


def test_a_payload_without_a_task_or_dates(user):
    item = NotificationItem.from_payload({"notification_id": 7, "message": "Hello"})
    assert (item.id, item.kind, item.task_id) == (7, "reminder", None)
    assert item.reminder_at is None and item.due_date is None and item.created_at is None
