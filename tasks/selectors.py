"""Reads of tasks. Every selector is scoped to one user: another user's task does not exist."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Count, QuerySet
from django.utils import timezone

from todo_project.accounts.models import User

from . import recurrence as rrules
from .filters import TaskFilter
from .models import ActivityEntry, Tag, Task


@dataclass(frozen=True)
class TaskPage:
    items: list[Task]
    count: int
    limit: int
    offset: int


def task_queryset(*, user: User) -> QuerySet[Task]:
    return Task.objects.filter(user=user)


def task_get(*, user: User, task_id: int) -> Task:
    """Raises Task.DoesNotExist for a missing task and for another user's task alike."""
    return task_queryset(user=user).prefetch_related("tags").get(pk=task_id)


def task_filterset(
    *, user: User, params: Mapping[str, Any], default_status: str = "all"
) -> TaskFilter:
    return TaskFilter(
        params, queryset=task_queryset(user=user), user_id=user.pk, default_status=default_status
    )


def task_list(
    *,
    user: User,
    params: Mapping[str, Any],
    limit: int = 50,
    offset: int = 0,
    default_status: str = "all",
) -> TaskPage:
    """One page of the user's tasks filtered by `params` (the FilterSet's parameters).

    Three queries whatever the page size: the count, the page, and the page's tags.
    """
    filterset = task_filterset(user=user, params=params, default_status=default_status)
    if not filterset.is_valid():
        raise ValidationError(filterset.errors)
    queryset = filterset.qs
    count = queryset.count()
    items = list(queryset.prefetch_related("tags")[offset : offset + limit]) if count else []
    return TaskPage(items=items, count=count, limit=limit, offset=offset)


def tag_counts(*, user: User) -> list[dict[str, Any]]:
    """The user's tags in use, with how many tasks carry each."""
    rows = (
        Tag.objects.filter(user=user)
        .annotate(count=Count("tasks"))
        .filter(count__gt=0)
        .values("name", "count")
    )
    return list(rows)


def task_activity(*, user: User, task_id: int) -> QuerySet[ActivityEntry]:
    task_get(user=user, task_id=task_id)  # 404 for someone else's task
    return ActivityEntry.objects.filter(user=user, task_id=task_id)


def task_upcoming_occurrences(
    *, task: Task, limit: int, now: datetime | None = None
) -> list[datetime]:
    """The next due dates of the task's series after this instance (or now, if later)."""
    if not task.recurrence or task.due_date is None:
        return []
    after = max(task.due_date, now or timezone.now())
    return rrules.occurrences(
        task.recurrence,
        series_start=task.series_start or task.due_date,
        tz=task.timezone,
        after=after,
        limit=limit,
    )
