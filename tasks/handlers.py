"""Consumers of the tasks app: what happens after a task changed.

Registered from TasksConfig.ready(); the same functions run in embedded mode (local bus)
and under `manage.py worker` (Dapr).
"""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings

from todo_project.eventbus.envelope import TASK_EVENTS, Event
from todo_project.eventbus.registry import Handler
from todo_project.eventbus.signals import wake_scheduler

from . import reminders, services
from .events import TASK_COMPLETED, TASK_CREATED, TASK_DELETED, TASK_EVENT_TYPES, TASK_UPDATED
from .models import ActivityEntry

#: Changes after which the reminder schedule must be looked at again.
REMINDER_FIELDS = frozenset({"reminder_at", "completed", "due_date", "reminder_offset_minutes"})

#: Snapshot fields the history shows for an update: what a user edits, and completion.
HISTORY_FIELDS = (*services.EDITABLE_FIELDS, "completed")


def record_activity(events: Sequence[Event]) -> None:
    # One INSERT ... ON CONFLICT DO NOTHING: a redelivered event meets the unique event_id.
    ActivityEntry.objects.bulk_create(
        [activity_entry(event) for event in events], ignore_conflicts=True
    )


def activity_entry(event: Event) -> ActivityEntry:
    payload = event.payload
    changes: dict[str, object] = {}
    if event.event_type == TASK_UPDATED:
        fields = [f for f in payload.get("changed_fields", []) if f in HISTORY_FIELDS]
        changes = {field: payload.get(field) for field in fields}
        if "due_date" in changes and payload.get("all_day"):
            changes["all_day"] = True  # a date, not a time: the history shows it so
    elif event.event_type == TASK_CREATED and payload.get("restored"):
        changes = {"restored": True}  # an undone deletion, not a new task
    return ActivityEntry(
        event_id=event.event_id,
        task_id=int(payload["task_id"]),
        user_id=int(payload["user_id"]),
        event_type=event.event_type,
        title=str(payload.get("title", ""))[:200],
        changes=changes,
        version=int(payload.get("version", 0)),
        occurred_at=event.timestamp,
    )


def create_next_instance(events: Sequence[Event]) -> None:
    for event in events:
        services.task_create_next_instance(completed=event.payload)


def schedule_reminder(events: Sequence[Event]) -> None:
    """Keep the reminder schedule in step with the tasks (Dapr jobs, or wake the scheduler)."""
    relevant = [event for event in events if _moves_reminder(event)]
    if not relevant:
        return
    if settings.EVENT_BACKEND != "dapr":
        wake_scheduler()
        return
    for event in relevant:
        reminders.sync_reminder_job(event.payload, deleted=event.event_type == TASK_DELETED)


def _moves_reminder(event: Event) -> bool:
    if event.event_type == TASK_UPDATED:
        return bool(REMINDER_FIELDS & set(event.payload.get("changed_fields", [])))
    if event.event_type == TASK_CREATED:
        return bool(event.payload.get("reminder_at"))
    return True


HANDLERS = [
    Handler(
        name="tasks.activity_log",
        topic=TASK_EVENTS,
        func=record_activity,
        event_types=TASK_EVENT_TYPES,
    ),
    Handler(
        name="tasks.recurrence",
        topic=TASK_EVENTS,
        func=create_next_instance,
        event_types=frozenset({TASK_COMPLETED}),
    ),
    Handler(
        name="tasks.reminder_schedule",
        topic=TASK_EVENTS,
        func=schedule_reminder,
        event_types=TASK_EVENT_TYPES,
        # Idempotent (wakes the scheduler, or overwrites/deletes the Dapr job from the
        # snapshot) and a no-op for most events: a dedup row per event costs more than it.
        dedupe=False,
    ),
]
