"""Writes to tasks. Each service runs in one transaction, bumps `version` and writes its
events through the outbox in that same transaction.

Validation lives here, so the API, the forms and the worker share it: a
`django.core.exceptions.ValidationError` keyed by field name, nothing written.
"""

from __future__ import annotations

import copy
import uuid
import zoneinfo
from collections.abc import Collection, Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any, overload

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone

from todo_project.accounts.models import User
from todo_project.eventbus.envelope import parse_instant

from . import days
from . import recurrence as rrules
from .events import TASK_COMPLETED, TASK_CREATED, TASK_DELETED, TASK_UPDATED, emit_task_event
from .models import (
    DESCRIPTION_MAX_LENGTH,
    MAX_TAGS,
    TAG_MAX_LENGTH,
    TITLE_MAX_LENGTH,
    UNDO_WINDOW,
    DeletedTask,
    Priority,
    Tag,
    Task,
)
from .rules import MAX_REMINDER_OFFSET_MINUTES, RECURRENCE_MAX_LENGTH, trim

#: Fields a client may set; anything else is not a task field.
EDITABLE_FIELDS = (
    "title",
    "description",
    "priority",
    "tags",
    "due_date",
    "all_day",
    "reminder_at",
    "reminder_offset_minutes",
    "recurrence",
    "timezone",
)


# --- validation -------------------------------------------------------------------------


def _no_nul(field: str, value: str) -> str:
    # PostgreSQL text cannot hold NUL; refuse it everywhere so both databases agree.
    if "\x00" in value:
        raise ValidationError({field: "Must not contain NUL characters."})
    return value


def clean_title(value: Any) -> str:
    raw = _no_nul("title", str(value or ""))
    if len(raw) > TITLE_MAX_LENGTH:
        raise ValidationError(
            {"title": f"Title must be at most {TITLE_MAX_LENGTH} characters (got {len(raw)})."}
        )
    title = trim(raw)
    if not title:
        raise ValidationError({"title": "Title must not be empty."})
    return title


def clean_description(value: Any) -> str:
    description = _no_nul("description", str(value or ""))
    if len(description) > DESCRIPTION_MAX_LENGTH:
        raise ValidationError(
            {"description": f"Description must be at most {DESCRIPTION_MAX_LENGTH} characters."}
        )
    return description


def clean_priority(value: Any) -> Priority:
    if isinstance(value, Priority):
        return value
    try:
        return Priority.from_name(str(value))
    except KeyError:
        names = ", ".join(p.slug for p in Priority)
        raise ValidationError({"priority": f"Priority must be one of {names}."}) from None


def clean_tags(values: Iterable[Any] | None) -> list[str]:
    if values is None:
        return []
    if isinstance(values, str):
        raise ValidationError({"tags": "Tags must be a list of strings."})
    tags: list[str] = []
    seen: set[str] = set()
    for raw in values:
        text = _no_nul("tags", str(raw))
        if len(text) > TAG_MAX_LENGTH:
            raise ValidationError({"tags": f"Tag {text[:20]!r}… is longer than {TAG_MAX_LENGTH}."})
        tag = trim(text)
        if not tag:
            raise ValidationError({"tags": "Tags must not be empty."})
        if tag.casefold() in seen:
            continue
        seen.add(tag.casefold())
        tags.append(tag)
    if len(tags) > MAX_TAGS:
        raise ValidationError({"tags": f"A task can have at most {MAX_TAGS} tags."})
    return tags


def clean_instant(field: str, value: Any) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise ValidationError({field: "Must be a date and time."})
    if timezone.is_naive(value):
        raise ValidationError({field: "Must include a UTC offset or Z (e.g. 2026-12-01T09:00Z)."})
    try:
        # Stored in UTC: PostgreSQL refuses some offsets Python accepts (beyond ±16 h).
        return value.astimezone(UTC)
    except OverflowError:
        raise ValidationError({field: "Date and time out of range."}) from None


def clean_timezone(value: Any) -> str:
    name = _no_nul("timezone", str(value or ""))
    if name not in zoneinfo.available_timezones():
        raise ValidationError(
            {"timezone": f"{name!r} is not an IANA time zone name (e.g. Europe/Berlin)."}
        )
    return name


def clean_reminder_offset(value: Any) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValidationError({"reminder_offset_minutes": "Must be a whole number of minutes ≥ 0."})
    if value > MAX_REMINDER_OFFSET_MINUTES:
        raise ValidationError({"reminder_offset_minutes": "Must be at most one year."})
    return value


def _apply(task: Task, data: Mapping[str, Any]) -> list[str] | None:
    """Validate `data` into `task` (unsaved). Returns the tag list when tags were given."""
    unknown = set(data) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationError(dict.fromkeys(sorted(unknown), "Not a task field."))
    errors: dict[str, list[str]] = {}
    tags: list[str] | None = None
    reminder_inputs = _reminder_inputs(task)
    day_before = task.due_day
    cleaners = {
        "title": clean_title,
        "description": clean_description,
        "priority": clean_priority,
        "timezone": clean_timezone,
        "reminder_offset_minutes": clean_reminder_offset,
    }
    for name, value in data.items():
        try:
            if name == "tags":
                tags = clean_tags(value)
            elif name in ("due_date", "all_day"):
                continue  # together, after the time zone: _apply_due
            elif name == "reminder_at":
                task.reminder_at = clean_instant(name, value)
            elif name == "recurrence":
                rule = _no_nul("recurrence", value or "")
                if len(rule) > RECURRENCE_MAX_LENGTH:
                    raise ValidationError(
                        {"recurrence": f"A rule is at most {RECURRENCE_MAX_LENGTH} characters."}
                    )
                task.recurrence = trim(rule)
            else:
                setattr(task, name, cleaners[name](value))
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if not errors:
        try:
            _apply_due(task, data, day_before=day_before)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    _derive_schedule(task, data, recompute_reminder=_reminder_inputs(task) != reminder_inputs)
    return tags


ALL_DAY_NEEDS_DATE = "An all-day task needs a due date."


def clean_all_day(value: Any) -> bool | None:
    if value is None:
        return None
    if not isinstance(value, bool):
        raise ValidationError({"all_day": "Must be true or false."})
    return value


def _apply_due(task: Task, data: Mapping[str, Any], *, day_before: date | None) -> None:
    """Set due_date and all_day from `data`: a date without a time is all-day (stored as
    the end of that day in the task's zone, tasks.days); a date-time is a timed task unless
    all_day is true, which keeps only its date in the task's zone."""
    all_day = clean_all_day(data.get("all_day"))
    if "due_date" in data:
        value = data["due_date"]
        if value is None:
            if all_day:
                raise ValidationError({"all_day": ALL_DAY_NEEDS_DATE})
            task.due_date, task.all_day = None, False
        elif isinstance(value, datetime):
            instant = clean_instant("due_date", value)
            assert instant is not None
            task.all_day = bool(all_day)
            task.due_date = _day_end(instant, task.timezone) if all_day else instant
        elif isinstance(value, date):
            if all_day is False:
                raise ValidationError(
                    {"due_date": "A date without a time is all-day: give a time, or all_day true."}
                )
            task.due_date, task.all_day = _day_end(value, task.timezone), True
        else:
            raise ValidationError({"due_date": "Must be a date and time, or a date."})
    elif all_day is not None and all_day != task.all_day:
        if task.due_date is None:
            raise ValidationError({"all_day": ALL_DAY_NEEDS_DATE})
        if not all_day:
            raise ValidationError(
                {"all_day": "Give a due_date with a time to make an all-day task timed."}
            )
        task.due_date, task.all_day = _day_end(task.due_date, task.timezone), True
    elif task.all_day and day_before is not None:
        # Same date in a changed time zone: the date is the fact, the instant follows.
        task.due_date = _day_end(day_before, task.timezone)


def _day_end(day: date | datetime, tz: str) -> datetime:
    """The all-day due date of `day` (a date, or the date an instant falls on in `tz`)."""
    try:
        if isinstance(day, datetime):
            return days.all_day_due(day, tz)
        return days.day_end(day, tz)
    except OverflowError:
        raise ValidationError({"due_date": "Date out of range."}) from None


def _reminder_inputs(task: Task) -> tuple[Any, ...]:
    """What a reminder 'N minutes before' is computed from."""
    return (task.due_date, task.all_day, task.reminder_offset_minutes, task.timezone)


def _derive_schedule(
    task: Task, data: Mapping[str, Any], *, recompute_reminder: bool = True
) -> None:
    """Reminder and recurrence rules that depend on several fields at once.

    A reminder before the due date is computed again when what it counts from changed
    (or is given again); until then a snoozed reminder stays where it was put."""
    if data.get("reminder_at") is not None and data.get("reminder_offset_minutes") is not None:
        raise ValidationError(
            {"reminder_at": "Give either reminder_at or reminder_offset_minutes, not both."}
        )
    if data.get("reminder_at") is not None:
        task.reminder_offset_minutes = None
    if task.reminder_offset_minutes is not None:
        if task.due_date is None:
            raise ValidationError(
                {"reminder_offset_minutes": "A reminder before the due date needs a due date."}
            )
        if recompute_reminder or task.pk is None or "reminder_offset_minutes" in data:
            try:
                task.reminder_at = reminder_before(
                    task, task.due_date, task.reminder_offset_minutes
                )
            except OverflowError:
                raise ValidationError(
                    {"reminder_offset_minutes": "The reminder would be before the year 1."}
                ) from None
    if task.recurrence:
        series_start = series_start_for(task, task.due_date)
        try:
            task.recurrence = rrules.validate_rule(
                task.recurrence, first_due=series_start, tz=task.timezone
            )
            if len(task.recurrence) > RECURRENCE_MAX_LENGTH:
                raise rrules.RecurrenceError(
                    f"the rule is longer than {RECURRENCE_MAX_LENGTH} characters once written out"
                )
        except rrules.RecurrenceError as exc:
            raise ValidationError({"recurrence": str(exc)}) from None
        if task.series_id is None:
            task.series_id = uuid.uuid4()
        task.series_start = series_start
    else:
        task.series_start = None


def reminder_before(task: Task, due_date: datetime, offset_minutes: int) -> datetime:
    """The reminder `offset_minutes` before `due_date`: before the due time, or for an
    all-day task before the owner's morning hour on its day, in the owner's time zone."""
    if task.all_day:
        owner = task.user
        start = days.at_hour(
            days.local_day(due_date, task.timezone), owner.morning_hour, owner.timezone
        )
    else:
        start = due_date
    return start - timedelta(minutes=offset_minutes)


@overload
def series_start_for(task: Task | None, due_date: datetime) -> datetime: ...
@overload
def series_start_for(task: Task | None, due_date: datetime | None) -> datetime | None: ...
def series_start_for(task: Task | None, due_date: datetime | None) -> datetime | None:
    """DTSTART of the series of `task` when it is due at `due_date`: the first instance
    of a series (or a task not saved yet) starts it at its due date, so moving that due
    date moves the series; a later instance keeps the start it inherited."""
    if task is not None and task.recurrence_parent_id and task.series_start is not None:
        return task.series_start
    return due_date


def _set_tags(task: Task, names: list[str]) -> None:
    existing = {tag.name.casefold(): tag for tag in Tag.objects.filter(user=task.user_id)}
    chosen = []
    for name in names:
        tag = existing.get(name.casefold())
        if tag is None:
            tag = Tag.objects.create(user_id=task.user_id, name=name)
            existing[name.casefold()] = tag
        chosen.append(tag)
    task.tags.set(chosen)


def _apply_create(task: Task, data: Mapping[str, Any]) -> list[str]:
    """_apply() for a new task: `title` is required."""
    if "title" not in data:
        raise ValidationError({"title": "This field is required."})
    return _apply(task, data) or []


def task_validate(*, task: Task, data: Mapping[str, Any]) -> None:
    """Raise the ValidationError that saving `data` would raise (task_update for a saved
    task, task_create for a new one), writing nothing: for a form that shows errors
    before it saves, such as the admin's."""
    draft = copy.copy(task)
    if task.pk is None:
        _apply_create(draft, data)
    else:
        _apply(draft, data)


# --- services ---------------------------------------------------------------------------


def task_create(*, user: User, data: Mapping[str, Any]) -> Task:
    """Create a task from API/form data (`title` required; other fields optional)."""
    task = Task(user=user, timezone=user.timezone)
    tags = _apply_create(task, data)
    with transaction.atomic():
        task.save()
        _set_tags(task, tags)
        emit_task_event(TASK_CREATED, task, tags=tags)
    return task


class VersionConflict(Exception):
    """The task is no longer at the version the client changed (optimistic concurrency)."""

    def __init__(self, current: int) -> None:
        super().__init__(f"the task is at version {current}")
        self.current = current


def _check_version(task: Task, expected: Collection[int] | None) -> None:
    if expected is not None and task.version not in expected:
        raise VersionConflict(task.version)


def task_update(
    *, task: Task, data: Mapping[str, Any], expected_version: Collection[int] | None = None
) -> Task:
    """Apply a partial update; an update that changes nothing writes nothing. With
    `expected_version`, VersionConflict unless the task is still at one of those versions (checked
    under the row lock, so two concurrent changes cannot both pass)."""
    with transaction.atomic():
        locked = Task.objects.select_for_update().get(pk=task.pk)
        _check_version(locked, expected_version)
        before = {name: getattr(locked, name) for name in EDITABLE_FIELDS if name != "tags"}
        before_tags = locked.tag_names
        tags = _apply(locked, data)
        changed = [n for n, old in before.items() if getattr(locked, n) != old]
        if tags is not None and {t.casefold() for t in tags} != {t.casefold() for t in before_tags}:
            changed.append("tags")
        if not changed:
            return locked
        locked.version += 1
        locked.save()
        if tags is not None:
            _set_tags(locked, tags)
        emit_task_event(TASK_UPDATED, locked, changed_fields=changed, tags=tags)
    return locked


def task_complete(*, task: Task, now: datetime | None = None) -> Task:
    """Mark done; completing a completed task changes nothing and emits nothing."""
    with transaction.atomic():
        locked = Task.objects.select_for_update().get(pk=task.pk)
        if locked.completed:
            return locked
        locked.completed = True
        locked.completed_at = now or timezone.now()
        locked.version += 1
        locked.save()
        emit_task_event(TASK_COMPLETED, locked)
    return locked


def task_reopen(*, task: Task) -> Task:
    """Mark not done. The successor of a recurring instance, if any, is kept."""
    with transaction.atomic():
        locked = Task.objects.select_for_update().get(pk=task.pk)
        if not locked.completed:
            return locked
        locked.completed = False
        locked.completed_at = None
        locked.version += 1
        locked.save()
        emit_task_event(TASK_UPDATED, locked, changed_fields=["completed", "completed_at"])
    return locked


class Snooze(models.TextChoices):
    """How long a reminder is put off."""

    TEN_MINUTES = "10m", "10 min"
    ONE_HOUR = "1h", "1 hour"
    TOMORROW_MORNING = "tomorrow", "Tomorrow morning"


def snooze_until(choice: str, *, user: User, now: datetime | None = None) -> datetime:
    """When a reminder snoozed by `choice` fires again: in 10 minutes, in an hour, or at
    the user's morning hour tomorrow (in the user's time zone)."""
    now = now or timezone.now()
    if choice == Snooze.TEN_MINUTES:
        return now + timedelta(minutes=10)
    if choice == Snooze.ONE_HOUR:
        return now + timedelta(hours=1)
    if choice == Snooze.TOMORROW_MORNING:
        tomorrow = days.local_day(now, user.timezone) + timedelta(days=1)
        return days.at_hour(tomorrow, user.morning_hour, user.timezone)
    choices = ", ".join(Snooze.values)
    raise ValidationError({"snooze": f"Snooze for one of {choices}."})


def task_snooze_reminder(*, task: Task, until: datetime, now: datetime | None = None) -> Task:
    """Move the task's next reminder to `until`: it fires once then, and not at the time
    it had (the schedule follows the TaskUpdated event, as for any reminder change). A
    reminder before the due date keeps its offset, so the next instance of a series
    reminds as before; changing the due date or the offset computes it again."""
    when = clean_instant("reminder_at", until)
    assert when is not None
    if when <= (now or timezone.now()):
        raise ValidationError({"reminder_at": "Snooze to a time in the future."})
    with transaction.atomic():
        locked = Task.objects.select_for_update().get(pk=task.pk)
        if locked.completed:
            raise ValidationError({"reminder_at": "A completed task has no reminder to snooze."})
        _move_reminder(locked, when)
    return locked


def task_reminders_follow_morning(*, user: User) -> int:
    """After the user's morning hour or zone changed: each open all-day task with a
    reminder before it reminds from the new morning (a TaskUpdated each, so the schedule
    follows). Returns how many moved."""
    moved = 0
    pending = Task.objects.filter(
        user=user, completed=False, all_day=True, reminder_offset_minutes__isnull=False
    ).values_list("pk", flat=True)
    for task_id in list(pending):
        with transaction.atomic():
            locked = Task.objects.select_for_update().select_related("user").get(pk=task_id)
            if locked.due_date is None or locked.reminder_offset_minutes is None:
                continue
            when = reminder_before(locked, locked.due_date, locked.reminder_offset_minutes)
            moved += _move_reminder(locked, when)
    return moved


def _move_reminder(locked: Task, when: datetime) -> bool:
    """Set the locked task's reminder_at alone, in the caller's transaction."""
    if locked.reminder_at == when:
        return False
    locked.reminder_at = when
    locked.version += 1
    locked.save()
    emit_task_event(TASK_UPDATED, locked, changed_fields=["reminder_at"])
    return True


def task_delete(
    *,
    task: Task,
    expected_version: Collection[int] | None = None,
    restorable: bool = True,
    now: datetime | None = None,
) -> None:
    """Delete the task; a `restorable` one can be brought back by tasks.undo.task_restore
    for UNDO_WINDOW (its TaskDeleted snapshot is kept as a DeletedTask)."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = Task.objects.select_for_update().get(pk=task.pk)
        _check_version(locked, expected_version)
        tags = locked.tag_names
        locked.version += 1
        event = emit_task_event(TASK_DELETED, locked, tags=tags)
        locked.delete()
        DeletedTask.objects.filter(deleted_at__lt=now - UNDO_WINDOW).delete()
        if restorable:
            DeletedTask.objects.create(
                task_id=event.payload["task_id"],
                user_id=locked.user_id,
                snapshot=event.payload,
                deleted_at=now,
            )


def task_create_next_instance(
    *, completed: Mapping[str, Any], now: datetime | None = None
) -> Task | None:
    """Create the next instance of a recurring series from a TaskCompleted snapshot.

    Exactly one successor per completed instance: the parent row is locked, an existing
    successor is returned as is, and `recurrence_parent` is unique in the database.
    The due date is the series' first occurrence after both the completed due date and
    now, so completing late leaves no backlog. Returns None when the series has ended,
    the task is not recurring, or the completed instance was deleted or reopened meanwhile.
    """
    if not completed.get("recurrence") or not completed.get("due_date"):
        return None
    now = now or timezone.now()
    due = _required_instant(completed["due_date"])
    series_start = _required_instant(completed.get("series_start") or completed["due_date"])
    tz = str(completed.get("timezone") or "UTC")
    next_due = rrules.next_occurrence(
        str(completed["recurrence"]), series_start=series_start, tz=tz, after=max(due, now)
    )
    if next_due is None:
        return None
    all_day = bool(completed.get("all_day"))
    if all_day:
        # By date: the occurrence's day in the task's zone, to its last instant.
        next_due = days.all_day_due(next_due, tz)
    with transaction.atomic():
        parent = Task.objects.select_for_update().filter(pk=completed["task_id"]).first()
        if parent is None or not parent.completed:
            # Deleted, or reopened (an undone completion) before the worker got here: the
            # completion that asked for a successor is gone. Completing it again asks anew.
            return None
        existing = Task.objects.filter(recurrence_parent=parent).first()
        if existing is not None:
            return existing
        offset = completed.get("reminder_offset_minutes")
        reminder_at = completed.get("reminder_at")
        if offset is None and reminder_at:
            # An absolute reminder on a repeating task keeps its distance to the due date
            # (to the morning of an all-day task's day).
            start = reminder_before(parent, due, 0) if all_day else due
            delta = start - _required_instant(reminder_at)
            offset = int(delta.total_seconds() // 60) if delta.total_seconds() >= 0 else None
        task = Task(
            user_id=parent.user_id,
            title=str(completed["title"]),
            description=str(completed.get("description") or ""),
            priority=Priority.from_name(str(completed.get("priority") or "medium")),
            due_date=next_due,
            all_day=all_day,
            reminder_offset_minutes=offset,
            recurrence=str(completed["recurrence"]),
            timezone=tz,
            series_id=parent.series_id
            or uuid.UUID(str(completed.get("series_id") or uuid.uuid4())),
            series_start=series_start,
            recurrence_parent=parent,
        )
        if offset is not None:
            task.reminder_at = reminder_before(task, next_due, offset)
        task.save()
        tags = list(completed.get("tags") or [])
        _set_tags(task, tags)
        emit_task_event(TASK_CREATED, task, tags=tags)
    return task


def _required_instant(value: Any) -> datetime:
    parsed = parse_instant(value)
    if parsed is None:
        raise ValueError("a date-time is required")
    return parsed
