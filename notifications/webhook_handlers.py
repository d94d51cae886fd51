"""The webhook consumers: every task event and fired reminder becomes the deliveries of
the endpoints that chose it (sent later by notifications.webhook_worker)."""

from __future__ import annotations

from tasks.events import TASK_EVENT_TYPES
from tasks.reminders import REMINDER_DUE
from todo_project.eventbus.envelope import REMINDERS, TASK_EVENTS
from todo_project.eventbus.registry import Handler

from .webhooks import webhook_deliveries_create

WEBHOOK_HANDLERS = [
    Handler(
        name="notifications.webhooks.tasks",
        topic=TASK_EVENTS,
        func=webhook_deliveries_create,
        event_types=TASK_EVENT_TYPES,
    ),
    Handler(
        name="notifications.webhooks.reminders",
        topic=REMINDERS,
        func=webhook_deliveries_create,
        event_types=frozenset({REMINDER_DUE}),
    ),
]
