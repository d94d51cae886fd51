from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.backends.ddl_references import Statement
from django.db.models import F, Func, Q
from django.db.models.functions import Length, Lower
from django.db.models.lookups import LessThanOrEqual
from django.utils import timezone as django_timezone

from todo_project.accounts.models import validate_timezone_name

from .days import local_day
from .recurrence import describe
from .rules import RECURRENCE_MAX_LENGTH

TITLE_MAX_LENGTH = 200
DESCRIPTION_MAX_LENGTH = 10_000
TAG_MAX_LENGTH = 50
MAX_TAGS = 20
#: Instance attribute where a list selector puts each task's tag names for a whole page.
LOADED_TAG_NAMES = "loaded_tag_names"
#: Text search configuration of Task.search_document (no stemming: prefix matches).
SEARCH_CONFIG = "simple"
#: How long a deleted task can be restored, or a completion undone.
UNDO_WINDOW = timedelta(minutes=10)


class PostgresOnlyIndexMixin:
    """An index that exists on PostgreSQL only: elsewhere (SQLite) its statements are empty.

    For what SQLite cannot build (GIN, NULLS LAST in an index) and does not need: there the
    same queries run without it (SQLite searches with LIKE). Declared in Meta like any
    other index, so makemigrations and SQLite's table rebuilds handle it.
    """

    def create_sql(self, model: Any, schema_editor: Any, *args: Any, **kwargs: Any) -> Any:
        if schema_editor.connection.vendor != "postgresql":
            return Statement("")
        return super().create_sql(model, schema_editor, *args, **kwargs)  # type: ignore[misc]

    def remove_sql(self, model: Any, schema_editor: Any, *args: Any, **kwargs: Any) -> Any:
        if schema_editor.connection.vendor != "postgresql":
            return Statement("")
        return super().remove_sql(model, schema_editor, *args, **kwargs)  # type: ignore[misc]


class PostgresOnlyIndex(PostgresOnlyIndexMixin, models.Index):
    pass


class PostgresOnlyGinIndex(PostgresOnlyIndexMixin, GinIndex):
    pass


class SearchDocument(Func):
    """The full-text document of a task on PostgreSQL (a tsvector of its words); NULL on
    other databases, which search the columns with LIKE instead."""

    output_field = SearchVectorField()

    def __init__(self, *fields: str) -> None:
        super().__init__(SearchVector(*fields, config=SEARCH_CONFIG))

    def as_sql(self, compiler: Any, connection: Any, *args: Any, **extra: Any) -> Any:
        return "NULL", []

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return compiler.compile(self.get_source_expressions()[0])


class UnsizedCharField(models.CharField):
    """A CharField stored as `text`: its max_length is enforced by validation and by a
    CheckConstraint, not by the column type. Changing it then never retypes the column,
    which PostgreSQL refuses for a column that a generated column (search_document) reads."""

    def db_type(self, connection: Any) -> str | None:
        return connection.data_types["TextField"]


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


class TagColour(models.TextChoices):
    """The palette a tag's chip may take (static/app/app.css: each passes WCAG AA, light
    and dark). Empty: the default chip."""

    DEFAULT = "", "Default"
    RED = "red", "Red"
    ORANGE = "orange", "Orange"
    YELLOW = "yellow", "Yellow"
    GREEN = "green", "Green"
    TEAL = "teal", "Teal"
    BLUE = "blue", "Blue"
    PURPLE = "purple", "Purple"
    PINK = "pink", "Pink"
    GRAY = "gray", "Gray"


class Tag(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tags"
    )
    name = models.CharField(max_length=TAG_MAX_LENGTH)
    colour = models.CharField(max_length=10, choices=TagColour.choices, blank=True, default="")

    class Meta:
        ordering = [Lower("name")]
        constraints = [
            models.UniqueConstraint("user", Lower("name"), name="tag_unique_name_per_user_ci"),
        ]

    def __str__(self) -> str:
        return self.name


class Task(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="tasks",
        db_index=False,  # task_user_id below
    )
    title = UnsizedCharField(max_length=TITLE_MAX_LENGTH)
    description = models.TextField(blank=True, default="", max_length=DESCRIPTION_MAX_LENGTH)
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.MEDIUM)
    tags = models.ManyToManyField(Tag, blank=True, related_name="tasks")
    due_date = models.DateTimeField(
        null=True,
        blank=True,
        help_text="For an all-day task, the last instant of its day in the task's time zone.",
    )
    all_day = models.BooleanField(
        default=False,
        help_text="Due on a date, not at a time: due_date is the end of that day (tasks.days).",
    )
    reminder_at = models.DateTimeField(null=True, blank=True)
    reminder_offset_minutes = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Minutes before the due date; kept by later instances of a recurring task.",
    )
    recurrence = models.CharField(
        max_length=RECURRENCE_MAX_LENGTH,
        blank=True,
        default="",
        help_text="RFC 5545 RRULE, empty for one-off tasks.",
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
    #: Derived from title and description by the database (PostgreSQL; NULL elsewhere).
    #: Stored, so that neither a search's match, its recheck nor its rank recomputes the
    #: document of each matching row (ten times the index lookup).
    search_document = models.GeneratedField(
        expression=SearchDocument("title", "description"),
        output_field=SearchVectorField(null=True),
        db_persist=True,
    )

    class Meta:
        ordering = ["id"]
        indexes = [
            # A user's tasks in id order, read from the index alone: the tag filter's counts
            # merge-join it with the tag rows (ordered by task id) instead of reading tasks.
            models.Index(fields=["user", "id"], name="task_user_id"),
            models.Index(fields=["user", "due_date", "id"], name="task_user_due"),
            # Due dates descending with the undated last, as the list sorts them (SQLite
            # cannot index NULLS LAST).
            PostgresOnlyIndex(
                "user",
                F("due_date").desc(nulls_last=True),
                F("id").desc(),
                name="task_user_due_desc",
            ),
            # Full-text search; fastupdate off: entries go in at once instead of through
            # GIN's pending list, which every search would read until the next VACUUM.
            PostgresOnlyGinIndex(
                fields=["search_document"], name="task_search_document", fastupdate=False
            ),
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
                condition=Q(all_day=False) | Q(due_date__isnull=False),
                name="task_all_day_needs_due_date",
            ),
            models.CheckConstraint(
                condition=Q(completed=False) | Q(completed_at__isnull=False),
                name="task_completed_has_timestamp",
            ),
            models.CheckConstraint(
                condition=LessThanOrEqual(Length("title"), TITLE_MAX_LENGTH),
                name="task_title_max_length",
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

    @property
    def due_day(self) -> date | None:
        """The calendar date of an all-day task (in its time zone); None otherwise."""
        if not self.all_day or self.due_date is None:
            return None
        return local_day(self.due_date, self.timezone)


def is_overdue(*, completed: bool, due_date: datetime | None, now: datetime | None = None) -> bool:
    """Open, and due before now. overdue_q() is the same rule as a filter. An all-day task
    is due at the end of its day (tasks.days), so it is overdue once that day is over."""
    return not completed and due_date is not None and due_date < (now or django_timezone.now())


def overdue_q(now: datetime | None = None) -> Q:
    """Tasks for which is_overdue() holds."""
    return Q(completed=False, due_date__lt=now or django_timezone.now())


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


class CalendarFeed(models.Model):
    """A user's private calendar URL (tasks/calendar_feed.py).

    The token in the URL is an HMAC, keyed by SECRET_KEY, of the random nonce kept here:
    the settings page can show the URL again, while the database alone does not reveal
    it. Requests are looked up by the token's SHA-256. A reset draws a new nonce, so the
    old URL stops working at once.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feed"
    )
    nonce = models.CharField(max_length=64)
    token_hash = models.CharField(max_length=64, unique=True)
    reset_at = models.DateTimeField(default=django_timezone.now)

    def __str__(self) -> str:
        return f"calendar feed of user {self.user_id}"


class DeletedTask(models.Model):
    """A deleted task, kept for UNDO_WINDOW so that the deletion can be undone.

    `snapshot` is the payload of the task's TaskDeleted event (tasks.events.task_snapshot):
    while the task is gone it is the task's only copy, so every fact is still stored once.
    The history stays where it was (ActivityEntry is keyed by task id, not a foreign key),
    and a restored task gets its old id back. Older rows are purged by the next delete.
    """

    task_id = models.BigIntegerField(primary_key=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="deleted_tasks"
    )
    snapshot = models.JSONField(encoder=DjangoJSONEncoder)
    deleted_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"deleted task {self.task_id}"

    @property
    def version(self) -> int:
        """The version its TaskDeleted event carried."""
        return int(self.snapshot.get("version") or 0)
