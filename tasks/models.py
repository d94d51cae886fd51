from __future__ import annotations

import uuid
from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone as django_timezone

from todo_project.accounts.models import validate_timezone_name

from .recurrence import describe

TITLE_MAX_LENGTH = 200
DESCRIPTION_MAX_LENGTH = 10_000
TAG_MAX_LENGTH = 50
MAX_TAGS = 20
#: Instance attribute where a list selector puts each task's tag names for a whole page.
LOADED_TAG_NAMES = "loaded_tag_names"


class Priority(models.IntegerChoices):
    """Stored as a rank so that ascending order is most urgent first, whatever the labels."""

    URGENT = 0, "urgent"
    HIGH = 1, "high"
    MEDIUM = 2, "medium"
    LOW = 3, "low"

    @classmethod
    def from_name(cls, name: str) -> Priority:
        return cls[name.upper()]

    @property
    def slug(self) -> str:
        return str(self.label)


class Tag(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tags"
    )
    name = models.CharField(max_length=TAG_MAX_LENGTH)

    class Meta:
        ordering = [Lower("name")]
        constraints = [
            models.UniqueConstraint("user", Lower("name"), name="tag_unique_name_per_user_ci"),
        ]

    def __str__(self) -> str:
        return self.name


class Task(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tasks"
    )
    title = models.CharField(max_length=TITLE_MAX_LENGTH)
    description = models.TextField(blank=True, default="", max_length=DESCRIPTION_MAX_LENGTH)
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.MEDIUM)
    tags = models.ManyToManyField(Tag, blank=True, related_name="tasks")
    due_date = models.DateTimeField(null=True, blank=True)
    reminder_at = models.DateTimeField(null=True, blank=True)
    reminder_offset_minutes = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Minutes before the due date; kept by later instances of a recurring task.",
    )
    recurrence = models.CharField(
        max_length=500, blank=True, default="", help_text="RFC 5545 RRULE, empty for one-off tasks."
    )
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone_name])
    completed = models.BooleanField(default=False)
    completed_at = models.DateTimeField(null=True, blank=True)
    series_id = models.UUIDField(null=True, blank=True, db_index=True)
    series_start = models.DateTimeField(
        null=True, blank=True, help_text="DTSTART of the series: the first instance's due date."
    )
    recurrence_parent = models.OneToOneField(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="next_instance",
        help_text="The completed instance that spawned this one (one successor at most).",
    )
    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            # due_date DESC NULLS LAST has a PostgreSQL-only index in migration 0002.
            models.Index(fields=["user", "due_date", "id"], name="task_user_due"),
            models.Index(fields=["user", "priority", "id"], name="task_user_priority"),
            models.Index(fields=["user", "created_at", "id"], name="task_user_created"),
            models.Index(fields=["user", "updated_at", "id"], name="task_user_updated"),
            models.Index("user", Lower("title"), "id", name="task_user_title"),
            models.Index(fields=["user", "completed", "id"], name="task_user_completed"),
            # Overdue and due-range filters on open tasks: counted from the index alone
            # (with the id, also when joined with a tag's through rows).
            models.Index(
                fields=["user", "due_date", "id"],
                name="task_user_pending_due",
                condition=Q(completed=False),
            ),
            models.Index(
                fields=["reminder_at"],
                name="task_pending_reminder",
                condition=Q(reminder_at__isnull=False, completed=False),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(recurrence="") | Q(due_date__isnull=False),
                name="task_recurring_needs_due_date",
            ),
            models.CheckConstraint(
                condition=Q(completed=False) | Q(completed_at__isnull=False),
                name="task_completed_has_timestamp",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def priority_name(self) -> str:
        return Priority(self.priority).slug

    @property
    def is_recurring(self) -> bool:
        return bool(self.recurrence)

    @property
    def tag_names(self) -> list[str]:
        """Tag names in case-insensitive order (as loaded by a list selector, if it did)."""
        loaded = self.__dict__.get(LOADED_TAG_NAMES)
        if loaded is not None:
            return list(loaded)
        return [tag.name for tag in self.tags.all()]

    @property
    def recurrence_summary(self) -> str | None:
        return describe(self.recurrence) if self.recurrence else None

    @property
    def is_overdue(self) -> bool:
        return is_overdue(completed=self.completed, due_date=self.due_date)


def is_overdue(*, completed: bool, due_date: datetime | None, now: datetime | None = None) -> bool:
    """Open, and due before now. overdue_q() is the same rule as a filter."""
    return not completed and due_date is not None and due_date < (now or django_timezone.now())


def overdue_q(now: datetime | None = None) -> Q:
    """Tasks for which is_overdue() holds."""
    return Q(completed=False, due_date__lt=now or django_timezone.now())


class TaskCount(models.Model):
    """How many tasks a user has per priority and completion: the list's total without
    counting rows when it is filtered by priority and status only (or not at all).

    Kept by database triggers on tasks_task (migration 0004), so every write path (services,
    admin, bulk loads, cascades) keeps it exact in the writing transaction. Read-only here.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    priority = models.PositiveSmallIntegerField(choices=Priority.choices)
    completed = models.BooleanField()
    tasks = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "priority", "completed"], name="taskcount_unique_key"
            ),
        ]

    def __str__(self) -> str:
        state = "completed" if self.completed else "pending"
        return f"{self.user_id}: {self.tasks} {Priority(self.priority).slug} {state}"


class TagCount(models.Model):
    """How many tasks carry a tag, and how many of them are open: the total of a list
    filtered by that tag alone or with a status, and the counts of GET /api/tags, without
    counting rows. Kept by database triggers on the tag through table and on completion
    (migrations 0005 and 0008), like TaskCount. Read-only here."""

    tag = models.OneToOneField(
        Tag, on_delete=models.CASCADE, primary_key=True, related_name="usage"
    )
    tasks = models.BigIntegerField(default=0)
    pending = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.tag_id}: {self.tasks}"


class ActivityEntry(models.Model):
    """One line of a task's history, written by the task-events consumer.

    task_id is not a foreign key so that the history of a deleted task stays for audit.
    event_id is unique: a redelivered event cannot write a second line.
    """

    event_id = models.UUIDField(unique=True, default=uuid.uuid4)
    task_id = models.BigIntegerField(db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="task_activity"
    )
    event_type = models.CharField(max_length=40)
    title = models.CharField(max_length=TITLE_MAX_LENGTH)
    changes = models.JSONField(default=dict, blank=True)
    version = models.PositiveIntegerField()
    occurred_at = models.DateTimeField()
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [models.Index(fields=["task_id", "occurred_at"], name="activity_task_time")]
        verbose_name_plural = "activity entries"

    def __str__(self) -> str:
        return f"{self.event_type} task {self.task_id} v{self.version}"


class ReminderFiring(models.Model):
    """A reminder that fired: written with its ReminderDue event, so each fires once."""

    task_id = models.BigIntegerField()
    reminder_at = models.DateTimeField()
    fired_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["task_id", "reminder_at"], name="reminder_fires_once"),
        ]

    def __str__(self) -> str:
        return f"task {self.task_id} at {self.reminder_at.isoformat()}"
