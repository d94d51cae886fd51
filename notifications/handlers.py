"""Consumers of the notifications app."""

from __future__ import annotations

from tasks.reminders import REMINDER_DUE
from todo_project.eventbus.envelope import REMINDERS, Event, parse_instant
from todo_project.eventbus.registry import Handler

from .services import notification_create_for_reminder


def on_reminder_due(event: Event) -> None:
    payload = event.payload
    reminder_at = parse_instant(payload["reminder_at"])
    if reminder_at is None:
        raise ValueError("ReminderDue without reminder_at")
    notification_create_for_reminder(
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
]
