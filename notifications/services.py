from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from todo_project.accounts.models import User
from todo_project.eventbus.envelope import TASK_UPDATES, build_event
from todo_project.eventbus.outbox import enqueue, enqueue_many

from .models import Notification

logger = logging.getLogger(__name__)
NOTIFICATION_CREATED = "NotificationCreated"
NOTIFICATIONS_READ = "NotificationsRead"


def notification_payload(notification: Notification) -> dict[str, object]:
    return {
        "notification_id": notification.pk,
        "user_id": notification.user_id,
        "task_id": notification.task_id,
        "kind": notification.kind,
        "message": notification.message,
        "reminder_at": notification.reminder_at,
        "due_date": notification.due_date,
        "created_at": notification.created_at,
    }


@dataclass(frozen=True)
class DueReminder:
    """What a ReminderDue event asks for: one notification per task and reminder time."""

    user_id: int
    task_id: int
    message: str
    reminder_at: datetime
    due_date: datetime | None


def notifications_create_for_reminders(reminders: Sequence[DueReminder]) -> list[Notification]:
    """Store each reminder's notification once, with a few queries whatever their number;
    returns the notifications it created (a reminder notified before is skipped).

    Each new one is logged and announced on task-updates, for live badges and toasts and
    for the e-mail of users who opted in (notifications/email.py). One notified concurrently
    raises IntegrityError (the unique constraint): the delivery is retried, and then
    finds it notified.
    """
    from tasks.models import Task

    if not reminders:
        return []
    task_ids = {reminder.task_id for reminder in reminders}
    with transaction.atomic():
        seen = set(
            Notification.objects.filter(
                kind=Notification.Kind.REMINDER, task_ref__in=task_ids
            ).values_list("task_ref", "reminder_at")
        )
        live = set(Task.objects.filter(pk__in=task_ids).values_list("pk", flat=True))
        new = []
        for reminder in reminders:
            key = (reminder.task_id, reminder.reminder_at)
            if key in seen:
                continue
            seen.add(key)
            new.append(
                Notification(
                    user_id=reminder.user_id,
                    task_id=reminder.task_id if reminder.task_id in live else None,
                    task_ref=reminder.task_id,
                    kind=Notification.Kind.REMINDER,
                    reminder_at=reminder.reminder_at,
                    message=reminder.message[:500],
                    due_date=reminder.due_date,
                )
            )
        created = Notification.objects.bulk_create(new) if new else []
        _announce_created(created)
    return created


def _announce_created(notifications: list[Notification]) -> None:
    """In the creating transaction: log and announce on task-updates (whose handlers push
    it to open tabs and mail it to users who opted in)."""
    if not notifications:
        return
    for notification in notifications:
        logger.info(
            "reminder for user %s task %s: %s",
            notification.user_id,
            notification.task_ref,
            notification.message,
        )
    enqueue_many(
        (
            build_event(NOTIFICATION_CREATED, notification_payload(notification)),
            (TASK_UPDATES,),
            notification.user_id,
        )
        for notification in notifications
    )


def notification_mark_read(*, notification: Notification) -> Notification:
    with transaction.atomic():
        if notification.read_at is None:
            notification.read_at = timezone.now()
            notification.save(update_fields=["read_at"])
            _announce_read(notification.user_id, [notification.pk])
    return notification


def notification_mark_all_read(*, user: User) -> int:
    with transaction.atomic():
        ids = list(
            Notification.objects.select_for_update()
            .filter(user=user, read_at=None)
            .values_list("pk", flat=True)
        )
        if ids:
            Notification.objects.filter(pk__in=ids).update(read_at=timezone.now())
            _announce_read(user.pk, ids)
    return len(ids)


def _announce_read(user_id: int, notification_ids: list[int]) -> None:
    """Other open tabs update their unread badge (task-updates only: nothing else cares)."""
    event = build_event(
        NOTIFICATIONS_READ, {"user_id": user_id, "notification_ids": notification_ids}
    )
    enqueue(event, topics=(TASK_UPDATES,), partition_key=user_id)


def notification_snooze(
    *, notification: Notification, choice: str, now: datetime | None = None
) -> tuple[Notification, Any]:
    """Remind again later about the notification's task (tasks.services.snooze_until's
    choices: 10 min, 1 hour, tomorrow morning) and mark the notification read. Returns the
    notification and the task. A ValidationError when there is no open task to snooze."""
    from django.core.exceptions import ValidationError

    from tasks import services as task_services
    from tasks.models import Task

    user = notification.user
    task = (
        Task.objects.filter(pk=notification.task_id, user=user).first()
        if notification.task_id is not None
        else None
    )
    if task is None:
        raise ValidationError({"snooze": "The task of this reminder is gone."})
    until = task_services.snooze_until(choice, user=user, now=now)
    with transaction.atomic():
        task = task_services.task_snooze_reminder(task=task, until=until, now=now)
        notification = notification_mark_read(notification=notification)
    return notification, task
