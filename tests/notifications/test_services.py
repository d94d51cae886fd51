"""Reminder notifications: each reminder once, a few queries however many come at once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from notifications.models import Notification
from notifications.services import (
    NOTIFICATION_CREATED,
    DueReminder,
    notifications_create_for_reminders,
)
from tasks import services
from todo_project.eventbus.envelope import TASK_UPDATES
from todo_project.eventbus.models import OutboxMessage

pytestmark = pytest.mark.django_db(transaction=True)


def due(user, task_id: int, minutes: int, message: str = "Pay rent") -> DueReminder:
    at = timezone.now().replace(microsecond=0) - timedelta(minutes=minutes)
    return DueReminder(
        user_id=user.pk, task_id=task_id, message=message, reminder_at=at, due_date=None
    )


def test_bulk_creates_each_reminder_once_and_announces_it(user, other_user):
    task = services.task_create(user=user, data={"title": "Pay rent"})
    theirs = services.task_create(user=other_user, data={"title": "Water plants"})
    gone = services.task_create(user=user, data={"title": "Deleted since"})
    gone_id = gone.pk
    services.task_delete(task=gone)
    earlier = due(user, task.pk, 10)
    notifications_create_for_reminders([earlier])  # notified before (a redelivery)
    OutboxMessage.objects.all().delete()

    created = notifications_create_for_reminders(
        [
            earlier,
            due(user, task.pk, 5, "Pay rent now"),
            due(user, task.pk, 5, "Pay rent now"),  # the same reminder twice in one batch
            due(other_user, theirs.pk, 5, "Water plants"),
            due(user, gone_id, 1, "Deleted since"),
        ]
    )

    assert [n.message for n in created] == ["Pay rent now", "Water plants", "Deleted since"]
    assert Notification.objects.count() == 4
    assert Notification.objects.get(task_ref=gone_id).task_id is None
    rows = OutboxMessage.objects.order_by("id")
    assert [(r.topic, r.event_type) for r in rows] == [(TASK_UPDATES, NOTIFICATION_CREATED)] * 3
    assert [r.envelope["payload"]["notification_id"] for r in rows] == [n.pk for n in created]
    assert [r.partition_key for r in rows] == [str(user.pk), str(other_user.pk), str(user.pk)]


def test_bulk_takes_a_few_queries_whatever_the_number(user):
    task = services.task_create(user=user, data={"title": "Pay rent"})

    def queries(count: int, offset: int) -> int:
        reminders = [due(user, task.pk, offset + i) for i in range(count)]
        with CaptureQueriesContext(connection) as captured:
            assert len(notifications_create_for_reminders(reminders)) == count
        return len(captured)

    assert queries(2, 0) == queries(30, 100)


def test_nothing_new_writes_nothing(user):
    task = services.task_create(user=user, data={"title": "Pay rent"})
    reminder = due(user, task.pk, 3)
    notifications_create_for_reminders([reminder])
    OutboxMessage.objects.all().delete()
    assert notifications_create_for_reminders([reminder]) == []
    assert not OutboxMessage.objects.exists()
    assert notifications_create_for_reminders([]) == []


def test_snooze_moves_the_tasks_reminder_and_marks_the_notification_read(user):
    from datetime import UTC, datetime

    from django.core.exceptions import ValidationError

    from notifications.services import notification_snooze

    now = datetime(2026, 12, 1, 10, tzinfo=UTC)
    task = services.task_create(user=user, data={"title": "Call mum", "reminder_at": now})
    (notification,) = notifications_create_for_reminders(
        [
            DueReminder(
                user_id=user.pk, task_id=task.pk, message="Call mum", reminder_at=now, due_date=None
            )
        ]
    )
    notification, snoozed = notification_snooze(notification=notification, choice="1h", now=now)
    assert notification.read_at is not None
    assert snoozed.reminder_at == datetime(2026, 12, 1, 11, tzinfo=UTC)
    services.task_delete(task=snoozed)
    notification.refresh_from_db()
    with pytest.raises(ValidationError) as raised:
        notification_snooze(notification=notification, choice="1h", now=now)
    assert "snooze" in raised.value.message_dict
