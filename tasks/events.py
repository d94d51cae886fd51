"""Task domain events, built in one place and written through the outbox."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from todo_project.eventbus.envelope import TASK_EVENTS, TASK_UPDATES, Event, build_event
from todo_project.eventbus.outbox import enqueue_many

from .models import Priority, Task

TASK_CREATED = "TaskCreated"
TASK_UPDATED = "TaskUpdated"
TASK_COMPLETED = "TaskCompleted"
TASK_DELETED = "TaskDeleted"
TASK_EVENT_TYPES = frozenset({TASK_CREATED, TASK_UPDATED, TASK_COMPLETED, TASK_DELETED})


def task_snapshot(task: Task, *, tags: Iterable[str] | None = None) -> dict[str, Any]:
    """What consumers need to act without reading the row back (it may have changed since)."""
    return {
        "task_id": task.pk,
        "user_id": task.user_id,
        "title": task.title,
        "description": task.description,
        "priority": Priority(task.priority).slug,
        "tags": sorted(tags if tags is not None else task.tag_names, key=str.casefold),
        "due_date": task.due_date,
        "all_day": task.all_day,
        "reminder_at": task.reminder_at,
        "reminder_offset_minutes": task.reminder_offset_minutes,
        "recurrence": task.recurrence or None,
        "timezone": task.timezone,
        "completed": task.completed,
        "completed_at": task.completed_at,
        "series_id": task.series_id,
        "series_start": task.series_start,
        "recurrence_parent_id": task.recurrence_parent_id,
        "version": task.version,
        "created_at": task.created_at,
        "updated_at": task.updated_at,
    }


def task_event(
    event_type: str,
    task: Task,
    *,
    changed_fields: Iterable[str] = (),
    tags: Iterable[str] | None = None,
    restored: bool = False,
) -> Event:
    """The event of one change of `task`, for emit_task_events().

    `restored` marks the TaskCreated of a deleted task brought back by an undo."""
    payload = task_snapshot(task, tags=tags)
    if event_type == TASK_UPDATED:
        payload["changed_fields"] = sorted(changed_fields)
    if restored:
        payload["restored"] = True
    return build_event(event_type, payload)


def emit_task_events(events: Iterable[Event]) -> None:
    """Write the events to task-events (worker) and task-updates (live push), one INSERT."""
    enqueue_many(
        (event, (TASK_EVENTS, TASK_UPDATES), int(event.payload["user_id"])) for event in events
    )


def emit_task_event(
    event_type: str,
    task: Task,
    *,
    changed_fields: Iterable[str] = (),
    tags: Iterable[str] | None = None,
    restored: bool = False,
) -> Event:
    """task_event() written at once; returns it."""
    event = task_event(
        event_type, task, changed_fields=changed_fields, tags=tags, restored=restored
    )
    emit_task_events([event])
    return event
