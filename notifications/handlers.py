"""Consumers of the notifications app."""

from __future__ import annotations

from collections.abc import Sequence

from tasks.reminders import REMINDER_DUE
from todo_project.eventbus.envelope import REMINDERS, TASK_UPDATES, Event, parse_instant
from todo_project.eventbus.registry import Handler

from . import webpush
from .email import email_deliveries_create
from .services import NOTIFICATION_CREATED, DueReminder, notifications_create_for_reminders
from .webhook_handlers import WEBHOOK_HANDLERS


def on_reminder_due(events: Sequence[Event]) -> None:
    notifications_create_for_reminders([due_reminder(event) for event in events])


def on_notification_created(events: Sequence[Event]) -> None:
    email_deliveries_create(
        notification_ids=[int(event.payload["notification_id"]) for event in events]
    )


def due_reminder(event: Event) -> DueReminder:
    payload = event.payload
    reminder_at = parse_instant(payload["reminder_at"])
    if reminder_at is None:
        raise ValueError("ReminderDue without reminder_at")
    return DueReminder(
        user_id=int(payload["user_id"]),
        task_id=int(payload["task_id"]),
        message=str(payload.get("message") or "Reminder"),
        reminder_at=reminder_at,
        due_date=parse_instant(payload.get("due_date")),
    )


HANDLERS = [
    Handler(
        name="notifications.reminder",
        topic=REMINDERS,
        func=on_reminder_due,
        event_types=frozenset({REMINDER_DUE}),
    ),
    Handler(
        name="notifications.webpush",
        topic=TASK_UPDATES,
        func=webpush.on_notification_created,
        event_types=frozenset({NOTIFICATION_CREATED}),
    ),
    Handler(
        name="notifications.email",
        topic=TASK_UPDATES,
        func=on_notification_created,
        event_types=frozenset({NOTIFICATION_CREATED}),
    ),
    *WEBHOOK_HANDLERS,
]
