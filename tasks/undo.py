"""Undo of a completion or a deletion, offered for UNDO_WINDOW after it.

Undoing is a write like any other: one transaction, the task's row lock, a version bump
and the events through the outbox, so history, reminders, webhooks and every open tab
follow as they follow any change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from todo_project.accounts.models import User
from todo_project.eventbus.envelope import parse_instant

from . import services
from .events import TASK_CREATED, emit_task_event
from .models import UNDO_WINDOW, DeletedTask, Priority, Task


class UndoUnavailable(Exception):
    """The change can no longer be undone; the message says why, for the user."""


@dataclass(frozen=True)
class UndoneCompletion:
    task: Task
    #: The next instance that completing had spawned and the undo deleted again.
    removed_successor_id: int | None = None
    #: The next instance kept because it was changed since it was created.
    kept_successor: Task | None = None


def _window_minutes() -> int:
    return int(UNDO_WINDOW.total_seconds() // 60)


def task_undo_complete(
    *, task: Task, version: int, now: datetime | None = None
) -> UndoneCompletion:
    """Reopen a task completed at `version` (what the completion returned), if it has not
    changed since and was completed less than UNDO_WINDOW ago.

    The next instance of a repeating task that this completion spawned is deleted again
    when nobody has touched it (still version 1 and open); a changed one is kept and
    returned. If the worker has not created it yet, it never will: it skips a completion
    that was reopened meanwhile.
    """
    now = now or timezone.now()
    with transaction.atomic():
        locked = Task.objects.select_for_update().get(pk=task.pk)
        if not locked.completed or locked.version != version:
            raise UndoUnavailable(
                f"“{locked.title}” has changed since it was completed, so the completion "
                "can no longer be undone."
            )
        if locked.completed_at is None or locked.completed_at < now - UNDO_WINDOW:
            raise UndoUnavailable(
                f"“{locked.title}” was completed more than {_window_minutes()} minutes ago; "
                "reopen it instead."
            )
        reopened = services.task_reopen(task=locked)
        successor = Task.objects.select_for_update().filter(recurrence_parent=locked).first()
        if successor is None:
            return UndoneCompletion(task=reopened)
        if successor.version == 1 and not successor.completed:
            removed_id = successor.pk
            services.task_delete(task=successor, restorable=False, now=now)
            return UndoneCompletion(task=reopened, removed_successor_id=removed_id)
        return UndoneCompletion(task=reopened, kept_successor=successor)


def deleted_task_get(*, user: User, task_id: int) -> DeletedTask:
    """Raises DeletedTask.DoesNotExist for an unknown id and another user's task alike."""
    return DeletedTask.objects.get(user=user, task_id=task_id)


def task_restore(*, user: User, task_id: int, now: datetime | None = None) -> Task:
    """Bring back a task deleted less than UNDO_WINDOW ago, under its old id: its fields,
    tags, reminder, recurrence and completion as they were, and its history (kept by id).
    Emits TaskCreated marked `restored` (the reminder is scheduled again from it).

    Raises DeletedTask.DoesNotExist when there is nothing to restore, UndoUnavailable
    when it is too late.
    """
    now = now or timezone.now()
    with transaction.atomic():
        deleted = DeletedTask.objects.select_for_update().get(user=user, task_id=task_id)
        snapshot = deleted.snapshot
        if deleted.deleted_at < now - UNDO_WINDOW:
            raise UndoUnavailable(
                f"“{snapshot.get('title', '')}” was deleted more than {_window_minutes()} "
                "minutes ago and can no longer be restored."
            )
        task = _task_from_snapshot(user=user, snapshot=snapshot, version=deleted.version + 1)
        task.save(force_insert=True)
        created_at = parse_instant(snapshot.get("created_at"))
        if created_at is not None:
            # auto_now_add stamped it now; the task was created when it was.
            Task.objects.filter(pk=task.pk).update(created_at=created_at)
            task.created_at = created_at
        tags = [str(name) for name in snapshot.get("tags") or []]
        services._set_tags(task, tags)
        emit_task_event(TASK_CREATED, task, tags=tags, restored=True)
        deleted.delete()
    return task


def _task_from_snapshot(*, user: User, snapshot: dict[str, Any], version: int) -> Task:
    parent_id = snapshot.get("recurrence_parent_id")
    if parent_id and (
        not Task.objects.filter(pk=parent_id, user=user).exists()
        or Task.objects.filter(recurrence_parent_id=parent_id).exists()
    ):
        parent_id = None  # the parent is gone, or has another successor by now
    series_id = snapshot.get("series_id")
    return Task(
        pk=int(snapshot["task_id"]),
        user=user,
        title=str(snapshot["title"]),
        description=str(snapshot.get("description") or ""),
        priority=Priority.from_name(str(snapshot.get("priority") or "medium")),
        due_date=parse_instant(snapshot.get("due_date")),
        reminder_at=parse_instant(snapshot.get("reminder_at")),
        reminder_offset_minutes=snapshot.get("reminder_offset_minutes"),
        recurrence=str(snapshot.get("recurrence") or ""),
        timezone=str(snapshot.get("timezone") or "UTC"),
        completed=bool(snapshot.get("completed")),
        completed_at=parse_instant(snapshot.get("completed_at")),
        series_id=series_id or None,
        series_start=parse_instant(snapshot.get("series_start")),
        recurrence_parent_id=parent_id or None,
        version=version,
    )
