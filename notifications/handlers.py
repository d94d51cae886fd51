"""Consumers of the notifications app."""

from __future__ import annotations

from datetime import datetime

from todo_project.eventbus.envelope import REMINDERS, Event
from todo_project.eventbus.registry import Handler

from .services import notification_create_for_reminder

REMINDER_DUE = "ReminderDue"


def _instant(value: object) -> datetime | None:
    if value in (None, ""):
        return None
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError(f"{value!r} has no UTC offset")
    return parsed


def on_reminder_due(event: Event) -> None:
    payload = event.payload
    reminder_at = _instant(payload["reminder_at"])
    if reminder_at is None:
        raise ValueError("ReminderDue without reminder_at")
    notification_create_for_reminder(
        user_id=int(payload["user_id"]),
        task_id=int(payload["task_id"]),
        message=str(payload.get("message") or "Reminder"),
        reminder_at=reminder_at,
        due_date=_instant(payload.get("due_date")),
    )


HANDLERS = [
    Handler(
        name="notifications.reminder",
        topic=REMINDERS,
        func=on_reminder_due,
        event_types=frozenset({REMINDER_DUE}),
    ),
]
