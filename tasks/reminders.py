"""Reminders: firing one (the same function for both modes) and the two ways to schedule.

- Embedded: `ReminderScheduler`, a thread that sleeps until the next unfired reminder
  and wakes when a task changes. Reminders that came due while the app was down are
  unfired rows, so they fire once on start.
- Dapr: one job per task, `reminder-task-<id>`, kept in step with the task by the
  task-events handler; the sidecar calls `POST /job/<name>` when it is due.
"""

from __future__ import annotations

import logging
import re
import threading
import zoneinfo
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, close_old_connections, transaction
from django.db.models import Exists, Min, OuterRef
from django.utils import timezone

from todo_project.eventbus.envelope import REMINDERS, build_event, parse_instant
from todo_project.eventbus.outbox import enqueue
from todo_project.eventbus.signals import scheduler_wakeup
from todo_project.observability import REMINDER_LATENESS

from .models import ReminderFiring, Task

logger = logging.getLogger(__name__)
REMINDER_DUE = "ReminderDue"
JOB_PREFIX = "reminder-task-"
_JOB_NAME = re.compile(rf"^{JOB_PREFIX}(\d+)$")


def job_name(task_id: int) -> str:
    return f"{JOB_PREFIX}{task_id}"


def task_id_from_job(name: str) -> int | None:
    match = _JOB_NAME.match(name)
    return int(match.group(1)) if match else None


@dataclass(frozen=True)
class FireResult:
    fired: bool
    reason: str


def fire_reminder(
    *, task_id: int, reminder_at: datetime, now: datetime | None = None
) -> FireResult:
    """Emit ReminderDue for the task if this reminder is still current and has not fired.

    A trigger for a deleted or completed task, or for a reminder time the task no longer
    has (it was changed or cleared since), does nothing.
    """
    now = now or timezone.now()
    with transaction.atomic():
        task = Task.objects.select_for_update().filter(pk=task_id).first()
        if task is None:
            return FireResult(False, "task deleted")
        if task.completed:
            return FireResult(False, "task completed")
        if task.reminder_at is None or task.reminder_at != reminder_at:
            return FireResult(False, "stale reminder")
        try:
            with transaction.atomic():
                ReminderFiring.objects.create(
                    task_id=task_id, reminder_at=reminder_at, fired_at=now
                )
        except IntegrityError:
            return FireResult(False, "already fired")
        _enqueue_reminder_due(task)
    REMINDER_LATENESS.observe(max(0.0, (now - reminder_at).total_seconds()))
    return FireResult(True, "fired")


def _enqueue_reminder_due(task: Task) -> None:
    """ReminderDue for the task's current reminder, in the caller's transaction."""
    event = build_event(
        REMINDER_DUE,
        {
            "user_id": task.user_id,
            "task_id": task.pk,
            "message": task.title,
            "due_date": task.due_date,
            "reminder_at": task.reminder_at,
            "version": task.version,
        },
    )
    enqueue(event, topics=(REMINDERS,), partition_key=task.user_id)


def _unfired() -> Any:
    fired = ReminderFiring.objects.filter(
        task_id=OuterRef("pk"), reminder_at=OuterRef("reminder_at")
    )
    return Task.objects.filter(completed=False, reminder_at__isnull=False).filter(~Exists(fired))


def next_reminder_at() -> datetime | None:
    return _unfired().aggregate(first=Min("reminder_at"))["first"]


def fire_due_reminders(*, now: datetime | None = None, limit: int = 500) -> int:
    """Fire every unfired reminder due at `now`; one step of the embedded scheduler.

    One transaction for the whole batch (one commit, bulk inserts) instead of one per
    reminder: the rows are locked (SKIP LOCKED, so a concurrent firer such as a Dapr job
    trigger takes the others) and re-checked by _unfired(), so each fires once.
    """
    now = now or timezone.now()
    with transaction.atomic():
        due = list(
            _unfired()
            .filter(reminder_at__lte=now)
            .select_for_update(skip_locked=True)
            .order_by("reminder_at", "pk")[:limit]
        )
        if not due:
            return 0
        ReminderFiring.objects.bulk_create(
            ReminderFiring(task_id=task.pk, reminder_at=task.reminder_at, fired_at=now)
            for task in due
        )
        for task in due:
            _enqueue_reminder_due(task)
    for task in due:
        REMINDER_LATENESS.observe(max(0.0, (now - task.reminder_at).total_seconds()))
    return len(due)


def fire_missed_reminders() -> int:
    """Fire every reminder due by now, in batches; returns how many fired. Run once when
    the Dapr worker starts: their jobs' triggers may have come while it was down."""
    fired = 0
    while batch := fire_due_reminders():
        fired += batch
    return fired


class ReminderScheduler(threading.Thread):
    """Sleeps until the next reminder is due; a task change wakes it to look again."""

    def __init__(self, *, max_sleep: float = 60.0) -> None:
        super().__init__(name="reminder-scheduler", daemon=True)
        self.max_sleep = max_sleep
        self.stopping = threading.Event()

    def stop(self) -> None:
        self.stopping.set()
        scheduler_wakeup.set()

    def run(self) -> None:
        while not self.stopping.is_set():
            scheduler_wakeup.clear()
            try:
                fire_missed_reminders()
                upcoming = next_reminder_at()
            except Exception:
                logger.exception("reminder scheduler pass failed")
                upcoming = None
            finally:
                close_old_connections()
            sleep = self.max_sleep
            if upcoming is not None:
                sleep = min(sleep, max(0.0, (upcoming - timezone.now()).total_seconds()))
            scheduler_wakeup.wait(sleep)


def sync_reminder_job(payload: dict[str, Any], *, deleted: bool = False) -> None:
    """Dapr mode: make the job `reminder-task-<id>` match the task snapshot in an event."""
    from todo_project.eventbus.publishers import dapr_gateway

    gateway = dapr_gateway()
    name = job_name(int(payload["task_id"]))
    when = (
        None if deleted or payload.get("completed") else parse_instant(payload.get("reminder_at"))
    )
    if when is None:
        gateway.delete_job(name)
        return
    # Dapr wants an explicit offset; show it in the task's zone for operators reading jobs.
    when = when.astimezone(zoneinfo.ZoneInfo(payload.get("timezone") or "UTC"))
    gateway.schedule_job(
        name=name,
        due_time=when,
        data={
            "task_id": int(payload["task_id"]),
            "reminder_at": when.isoformat(),
            "version": int(payload.get("version", 0)),
        },
    )


def handle_job_trigger(name: str, body: bytes, *, now: datetime | None = None) -> tuple[int, str]:
    """A Dapr job fired (`POST /job/<name>`): returns (HTTP status, reason).

    2xx tells Dapr the trigger was handled (including "nothing to do" for a stale one);
    404 tells it not to retry an unknown job; an exception becomes a 500 and is retried
    by the job's failure policy.
    """
    task_id = task_id_from_job(name)
    if task_id is None:
        return 404, "unknown job"
    reminder_at = _reminder_time_from(body)
    if reminder_at is None:
        current = Task.objects.filter(pk=task_id).values_list("reminder_at", flat=True).first()
        now = now or timezone.now()
        if current is None or current > now:
            return 200, "no reminder due"
        reminder_at = current
    result = fire_reminder(task_id=task_id, reminder_at=reminder_at, now=now)
    return 200, result.reason


def _reminder_time_from(body: bytes) -> datetime | None:
    """The reminder_at the job was scheduled for, if the trigger body carries it.

    Dapr may deliver the job data as-is or wrapped ({"value": ...}); accept both.
    """
    import json

    try:
        data: Any = json.loads(body or b"null")
    except ValueError:
        return None
    for _ in range(3):
        if isinstance(data, dict) and "reminder_at" in data:
            try:
                return parse_instant(data["reminder_at"])
            except ValueError:  # not a date-time, or one without an offset
                return None
        if isinstance(data, dict) and isinstance(
            data.get("value") or data.get("data"), (dict, str)
        ):
            data = data.get("value") or data.get("data")
            if isinstance(data, str):
                try:
                    data = json.loads(data)
                except ValueError:
                    return None
            continue
        break
    return None
