from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from ninja import Field, Schema
from pydantic import AwareDatetime, BaseModel, ConfigDict, field_validator

from .models import DESCRIPTION_MAX_LENGTH

PriorityName = Literal["urgent", "high", "medium", "low"]
StatusName = Literal["pending", "completed", "all"]
SortField = Literal["due_date", "priority", "created_at", "updated_at", "title"]
OrderName = Literal["asc", "desc"]


class TaskWrite(Schema):
    """Fields of a task a client sets. Naive date-times are rejected: give an offset or Z."""

    title: str = Field(..., description="1-200 characters after trimming.", max_length=1000)
    description: str = Field("", max_length=DESCRIPTION_MAX_LENGTH)
    priority: PriorityName = "medium"
    tags: list[str] = Field(default_factory=list, description="At most 20, 1-50 characters each.")
    due_date: AwareDatetime | None = None
    reminder_at: AwareDatetime | None = Field(None, description="Absolute reminder time.")
    reminder_offset_minutes: int | None = Field(
        None, ge=0, description="Remind this many minutes before the due date (kept by repeats)."
    )
    recurrence: str | None = Field(
        None, description="RFC 5545 RRULE, e.g. FREQ=WEEKLY;BYDAY=MO,WE. Needs a due date."
    )
    timezone: str | None = Field(
        None, description="IANA zone the rule keeps wall-clock time in; default: the user's."
    )


class TaskPatch(Schema):
    title: str | None = Field(None, max_length=1000)
    description: str | None = Field(None, max_length=DESCRIPTION_MAX_LENGTH)
    priority: PriorityName | None = None
    tags: list[str] | None = None
    due_date: AwareDatetime | None = None
    reminder_at: AwareDatetime | None = None
    reminder_offset_minutes: int | None = Field(None, ge=0)
    recurrence: str | None = None
    timezone: str | None = None


def write_data(body: TaskWrite | TaskPatch, *, partial: bool) -> dict[str, Any]:
    """The fields the client sent, in the shape services take."""
    data = body.model_dump(exclude_unset=partial)
    if not partial and data.get("timezone") is None:
        data.pop("timezone", None)
    for name in ("title", "description", "priority", "tags", "timezone"):
        if name in data and data[name] is None:
            raise_null(name)
    if "recurrence" in data and data["recurrence"] is None:
        data["recurrence"] = ""
    return data


def raise_null(name: str) -> None:
    from django.core.exceptions import ValidationError

    raise ValidationError({name: "May not be null."})


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
    due_date: datetime | None
    reminder_at: datetime | None
    reminder_offset_minutes: int | None
    recurrence: str | None
    recurrence_summary: str | None
    timezone: str
    completed: bool
    completed_at: datetime | None
    overdue: bool = Field(validation_alias="is_overdue")
    series_id: UUID | None
    recurrence_parent_id: int | None
    version: int
    created_at: datetime
    updated_at: datetime

    @field_validator("recurrence", mode="before")
    @classmethod
    def _no_rule_is_null(cls, value: str | None) -> str | None:
        return value or None


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


class TagOut(Schema):
    name: str
    count: int


class ActivityOut(Schema):
    id: int
    event_id: UUID
    event_type: str
    title: str
    changes: dict[str, Any]
    version: int
    occurred_at: datetime
    actor: str

    @staticmethod
    def resolve_actor(obj: Any) -> str:
        return str(obj.user.get_username())


class OccurrencesOut(Schema):
    summary: str | None = Field(..., description="The rule in words, null for a one-off task.")
    occurrences: list[datetime] = Field(..., description="Upcoming due dates, in the task's zone.")
