from __future__ import annotations

import re
import zoneinfo
from datetime import date
from typing import Annotated, Any, Literal
from uuid import UUID

from ninja import Field, Schema
from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    StrictBool,
    WithJsonSchema,
    field_validator,
)
from pydantic import Field as PydanticField

from todo_project.api_types import JSON_INTEGER, JSON_TEXT, NO_NUL, AwareInstant, Instant

from .filters import ListStatus, ListView, SortOrder
from .filters import SortField as SortField
from .models import DESCRIPTION_MAX_LENGTH, MAX_TAGS, TAG_MAX_LENGTH, TITLE_MAX_LENGTH
from .rules import MAX_REMINDER_OFFSET_MINUTES, RECURRENCE_MAX_LENGTH, not_blank_pattern
from .services import Snooze

PriorityName = Literal["urgent", "high", "medium", "low"]
#: The list's parameters take the FilterSet's own choices.
StatusName = ListStatus
OrderName = SortOrder
ViewName = ListView


def _drop_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def omittable(**constraints: Any) -> Any:
    """A PATCH field that may be left out but not sent as null (the OpenAPI document shows
    no null and no default for it)."""
    return Field(default=None, json_schema_extra=_drop_default, **constraints)


Title = Annotated[
    str,
    Field(
        min_length=1,
        max_length=TITLE_MAX_LENGTH,
        pattern=not_blank_pattern(),
        description=f"1-{TITLE_MAX_LENGTH} characters, not only white space; trimmed.",
    ),
]
Description = Annotated[str, Field(max_length=DESCRIPTION_MAX_LENGTH, pattern=NO_NUL)]
TagName = Annotated[
    str,
    Field(
        min_length=1,
        max_length=TAG_MAX_LENGTH,
        pattern=not_blank_pattern(),
        description=f"1-{TAG_MAX_LENGTH} characters, not only white space; trimmed.",
    ),
]
#: A tag the list filters by: any text but NUL (a tag nobody has matches nothing).
TagFilter = Annotated[str, Field(pattern=NO_NUL)]
Tags = Annotated[
    list[TagName],
    Field(
        max_length=MAX_TAGS,
        description=f"At most {MAX_TAGS}; unique regardless of case (duplicates are merged).",
    ),
]
Rule = Annotated[
    str,
    Field(
        max_length=RECURRENCE_MAX_LENGTH,
        pattern=NO_NUL,
        description="RFC 5545 RRULE, e.g. FREQ=WEEKLY;BYDAY=MO,WE (empty: no repeat). "
        "Needs a due date, and must produce a date after it (COUNT=1, an UNTIL before it or "
        "30 February never do). FREQ DAILY, WEEKLY, MONTHLY or YEARLY; the time of day comes "
        "from the due date (no BYHOUR, BYMINUTE, BYSECOND).",
    ),
]
# The services check the name (one message for API and forms); the schema lists them all.
Zone = Annotated[
    str,
    WithJsonSchema(
        {
            "type": "string",
            "enum": sorted(zoneinfo.available_timezones()),
            "description": "IANA zone the rule keeps wall-clock time in.",
        }
    ),
]


def _date_only(value: Any) -> Any:
    # pydantic's lax date also takes "2026-12-01T00:00" (a naive date-time): only a date.
    if isinstance(value, str) and not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        raise ValueError("a date is YYYY-MM-DD")
    return value


CalendarDate = Annotated[date, BeforeValidator(_date_only)]
DueDate = Annotated[
    AwareDatetime | CalendarDate,
    Field(
        description="A date-time with an offset (a timed task), or a date YYYY-MM-DD (an "
        "all-day task, due to the end of that day in the task's time zone)."
    ),
    JSON_TEXT,
]
AllDay = Annotated[
    StrictBool,
    Field(
        description="Due on a date, not at a time. Default: true for a due_date given as a "
        "date, false for a date-time. True with a date-time keeps only its date in the "
        "task's time zone; true needs a due date."
    ),
]
ReminderOffset = Annotated[
    int,
    PydanticField(
        ge=0,
        le=MAX_REMINDER_OFFSET_MINUTES,
        description="Remind this many minutes before the due date (kept by repeats).",
    ),
    JSON_INTEGER,
]


def _given(*names: str, **schemas: dict[str, Any]) -> dict[str, Any]:
    """JSON Schema: these fields are present and not null (or match their schemas)."""
    return {
        "required": list(names),
        "properties": {name: schemas.get(name, {"not": {"type": "null"}}) for name in names},
    }


def _write_rules(schema: dict[str, Any]) -> None:
    """The rules between fields of a new or replaced task, stated in the document so that a
    generated client knows them (the services enforce the same, naming the field)."""
    schema["allOf"] = [
        {
            "not": _given("reminder_at", "reminder_offset_minutes"),
            "description": "Give either reminder_at or reminder_offset_minutes, not both.",
        },
        {
            "if": _given("reminder_offset_minutes"),
            "then": _given("due_date"),
            "description": "A reminder before the due date needs a due date.",
        },
        {
            "if": _given(
                "recurrence", recurrence={"type": "string", "pattern": not_blank_pattern()}
            ),
            "then": _given("due_date"),
            "description": "A recurring task needs a due date.",
        },
        {
            "if": _given("all_day", all_day={"const": True}),
            "then": _given("due_date"),
            "description": "An all-day task needs a due date.",
        },
        {
            "not": _given(
                "all_day",
                "due_date",
                all_day={"const": False},
                due_date={"type": "string", "pattern": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"},
            ),
            "description": "A due date without a time is all-day: not with all_day false.",
        },
    ]


class TaskWrite(BaseModel):
    """Fields of a task a client sets. Naive date-times are rejected: give an offset or Z.
    A field the API does not know is an error, not ignored."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_write_rules)

    title: Title
    description: Description = ""
    priority: PriorityName = "medium"
    tags: Tags = PydanticField(default_factory=list)
    due_date: DueDate | None = None
    all_day: AllDay | None = None
    reminder_at: AwareInstant | None = Field(None, description="Absolute reminder time.")
    reminder_offset_minutes: ReminderOffset | None = None
    recurrence: Rule | None = None
    timezone: Zone | None = Field(None, description="Default: the user's time zone.")


class TaskPatch(BaseModel):
    """The fields to change; the others keep their values. Title, description, priority,
    tags and time zone may be left out but not set to null."""

    model_config = ConfigDict(extra="forbid")

    title: Title = omittable()
    description: Description = omittable()
    priority: PriorityName = omittable()
    tags: Tags = omittable()
    due_date: DueDate | None = None
    all_day: AllDay = omittable()
    reminder_at: AwareInstant | None = None
    reminder_offset_minutes: ReminderOffset | None = None
    recurrence: Rule | None = None
    timezone: Zone = omittable()


def write_data(body: TaskWrite | TaskPatch, *, partial: bool) -> dict[str, Any]:
    """The fields the client sent, in the shape services take."""
    data = body.model_dump(exclude_unset=partial)
    if not partial and data.get("timezone") is None:
        data.pop("timezone", None)
    if not partial and data.get("all_day") is None:
        data.pop("all_day", None)  # from the due date's type
    if "recurrence" in data and data["recurrence"] is None:
        data["recurrence"] = ""
    return data


# A plain pydantic model read from the Task's attributes inside pydantic-core, not a ninja
# Schema: ninja resolves every field through a Python getter, which on a 50-task page cost
# more than the database did.
class TaskOut(BaseModel):
    """A task as the API returns it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    description: str
    priority: PriorityName = Field(validation_alias="priority_name")
    tags: list[str] = Field(validation_alias="tag_names")
    due_date: Instant | None = Field(
        ..., description="For an all-day task, the last instant of its day (see due_day)."
    )
    all_day: bool = Field(..., description="Due on a date (due_day), not at a time.")
    due_day: date | None = Field(
        ..., description="The date of an all-day task in its time zone; null otherwise."
    )
    reminder_at: Instant | None
    reminder_offset_minutes: int | None
    recurrence: str | None
    recurrence_summary: str | None
    timezone: str
    completed: bool
    completed_at: Instant | None
    overdue: bool = Field(validation_alias="is_overdue")
    series_id: UUID | None
    recurrence_parent_id: int | None
    version: int
    created_at: Instant
    updated_at: Instant

    @field_validator("recurrence", mode="before")
    @classmethod
    def _no_rule_is_null(cls, value: str | None) -> str | None:
        return value or None


def _one_of_snooze_or_until(schema: dict[str, Any]) -> None:
    schema["oneOf"] = [_given("snooze"), _given("until")]


class SnoozeIn(BaseModel):
    """When the task's reminder fires again: a choice, or an instant. Exactly one."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_one_of_snooze_or_until)

    snooze: Snooze | None = Field(
        None, description="10m, 1h, or tomorrow (your morning hour tomorrow, in your zone)."
    )
    until: AwareInstant | None = Field(None, description="A time in the future.")


class TaskListOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    items: list[TaskOut]
    count: int = Field(
        ...,
        description="Matching tasks in all pages, counted up to 1000: with more, 1000 and "
        "count_exact false (shown as 1000+).",
    )
    count_exact: bool = Field(..., description="False when more tasks match than count.")
    limit: int
    offset: int


#: tasks.models.TagColour's values ("" is the default chip).
TagColourName = Literal[
    "", "red", "orange", "yellow", "green", "teal", "blue", "purple", "pink", "gray"
]


class TagOut(Schema):
    id: int
    name: str
    count: int = Field(..., description="Tasks that carry the tag.")
    colour: TagColourName


class TagPatch(BaseModel):
    """What to change; a left-out field keeps its value."""

    model_config = ConfigDict(extra="forbid")

    name: TagName = omittable(
        description="A new name. The name of another of your tags (case ignored) merges "
        "this tag into that one, and needs merge: true (409 otherwise)."
    )
    colour: TagColourName = omittable(description="The chip's colour; empty for the default.")
    merge: bool = Field(False, description="Confirm a merge into the tag that has `name`.")


class ActivityOut(Schema):
    id: int
    event_id: UUID
    event_type: str
    title: str
    changes: dict[str, Any]
    version: int
    occurred_at: Instant
    actor: str

    @staticmethod
    def resolve_actor(obj: Any) -> str:
        return str(obj.user.get_username())


class OccurrencesOut(Schema):
    summary: str | None = Field(..., description="The rule in words, null for a one-off task.")
    occurrences: list[Instant] = Field(
        ..., description="Upcoming due dates (UTC; they keep wall-clock time in the task's zone)."
    )


class UndoCompleteIn(Schema):
    version: int = Field(
        ..., ge=1, description="The task's version that the completion returned (its `version`)."
    )
