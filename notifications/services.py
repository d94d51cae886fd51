from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from todo_project.accounts.models import User
from todo_project.eventbus.envelope import TASK_UPDATES, build_event
from todo_project.eventbus.outbox import enqueue

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


def notification_create_for_reminder(
    *,
    user_id: int,
    task_id: int,
    message: str,
    reminder_at: datetime,
    due_date: datetime | None,
) -> tuple[Notification, bool]:
    """Store a reminder notification once; a repeat of the same reminder returns the first.

    On creation it is logged, mailed after commit when the user has an address, and
    announced on task-updates for live badges and toasts.
    """
    from tasks.models import Task

    with transaction.atomic():
        notification, created = Notification.objects.get_or_create(
            task_ref=task_id,
            kind=Notification.Kind.REMINDER,
            reminder_at=reminder_at,
            defaults={
                "user_id": user_id,
                "task_id": task_id if Task.objects.filter(pk=task_id).exists() else None,
                "message": message[:500],
                "due_date": due_date,
            },
        )
        if not created:
            return notification, False
        logger.info("reminder for user %s task %s: %s", user_id, task_id, message)
        enqueue(
            build_event(NOTIFICATION_CREATED, notification_payload(notification)),
            topics=(TASK_UPDATES,),
            partition_key=user_id,
        )
        transaction.on_commit(lambda: _send_email(notification))
    return notification, True


def _send_email(notification: Notification) -> None:
    user = User.objects.filter(pk=notification.user_id).first()
    if user is None or not user.email:
        return
    try:
        send_mail(
            subject=f"Reminder: {notification.message}"[:150],
            message=notification.message,
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[user.email],
        )
    except Exception:
        # The notification is stored and shown in the inbox; a mail outage must not undo it.
        logger.exception("could not mail notification %s", notification.pk)


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
