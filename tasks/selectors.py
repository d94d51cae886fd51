"""Reads of tasks. Every selector is scoped to one user: another user's task does not exist."""

from __future__ import annotations

import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import (
    Aggregate,
    Count,
    IntegerField,
    JSONField,
    OuterRef,
    QuerySet,
    RowRange,
    Subquery,
    Window,
)
from django.db.models.functions import Lower
from django.utils import timezone

from todo_project.accounts.models import User

from . import recurrence as rrules
from .filters import ListView, TaskFilter
from .models import LOADED_TAG_NAMES, ActivityEntry, Tag, Task

#: List totals are exact up to this many tasks; past it they read "1000+".
COUNT_CAP = 1000


@dataclass(frozen=True)
class BoundedCount:
    """How many rows match, exact up to a cap: `value` is min(matches, cap) and `exact`
    is False when more than `value` match. Prints as "42", or "1000+" past the cap."""

    value: int
    exact: bool

    def __str__(self) -> str:
        return str(self.value) if self.exact else f"{self.value}+"

    def __bool__(self) -> bool:
        return self.value > 0


def count_bounded(queryset: QuerySet[Any]) -> BoundedCount:
    """Count the rows of `queryset` up to COUNT_CAP: one COUNT over a LIMIT cap+1
    subquery, so its cost stops growing with the table once more than the cap match."""
    return bounded(queryset.order_by()[: COUNT_CAP + 1].count())


def bounded(found: int) -> BoundedCount:
    """A number of matches (exact, or COUNT_CAP + 1 for "more"), presented with the cap."""
    return BoundedCount(min(found, COUNT_CAP), exact=found <= COUNT_CAP)


class CountUpTo(Subquery):
    """COUNT(*) of a sliced queryset as a scalar subquery, so that the query of a page can
    carry the page's bounded total (the database computes it once, not per row)."""

    template = "(SELECT COUNT(*) FROM (%(subquery)s) AS bounded)"
    output_field = IntegerField()


def count_bounded_expression(queryset: QuerySet[Any]) -> CountUpTo:
    """What count_bounded counts, as an expression to annotate another query with."""
    return CountUpTo(queryset.order_by().values("pk")[: COUNT_CAP + 1])


class JSONGroupArray(Aggregate):
    """The aggregated values as a JSON array (json_group_array on SQLite)."""

    function = "JSON_GROUP_ARRAY"
    output_field = JSONField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return super().as_sql(compiler, connection, function="JSONB_AGG", **extra)


#: The annotation that carries a row's tag names until with_tag_names_loaded() moves them.
_TAG_NAMES = "page_tag_names"


def with_tag_names(queryset: QuerySet[Task]) -> QuerySet[Task]:
    """The tasks with their tag names in the same query (one small subquery per row
    returned), for Task.tag_names after with_tag_names_loaded(). Cheaper than
    prefetch_related("tags"), which builds a Tag and a related manager per row, and than a
    second query: on a 50-task page a round trip to the database is most of the time."""
    names = (
        Task.tags.through.objects.filter(task_id=OuterRef("pk"))
        .values("task_id")
        .annotate(names=JSONGroupArray("tag__name"))
        .values("names")  # type: ignore[misc]  # an annotation the stubs do not see
    )
    return queryset.annotate(**{_TAG_NAMES: Subquery(names)})


def with_tag_names_loaded(tasks: list[Task]) -> list[Task]:
    """Move the names with_tag_names() fetched to where Task.tag_names reads them."""
    for task in tasks:
        # The order of the event snapshots (tasks.events) and of the pages.
        names = task.__dict__.pop(_TAG_NAMES, None) or []
        task.__dict__[LOADED_TAG_NAMES] = sorted(names, key=str.casefold)
    return tasks


@dataclass(frozen=True)
class TaskPage:
    items: list[Task]
    total: BoundedCount
    limit: int
    offset: int

    @property
    def count(self) -> int:
        return self.total.value

    @property
    def count_exact(self) -> bool:
        return self.total.exact


def task_queryset(*, user: User) -> QuerySet[Task]:
    # The search document is for the database to match and rank; no reader needs it.
    return Task.objects.filter(user=user).defer("search_document")


def open_task_count(*, user: User) -> BoundedCount:
    """The header's number of open tasks (pages and live pushes)."""
    return count_bounded(task_queryset(user=user).filter(completed=False))


def task_get(*, user: User, task_id: int) -> Task:
    """Raises Task.DoesNotExist for a missing task and for another user's task alike."""
    return task_queryset(user=user).prefetch_related("tags").get(pk=task_id)


def task_filterset(
    *,
    user: User,
    params: Mapping[str, Any],
    default_status: str = "all",
    now: datetime | None = None,
) -> TaskFilter:
    """The FilterSet of the user's tasks; `view` days are the user's (their time zone)."""
    return TaskFilter(
        params,
        queryset=task_queryset(user=user),
        user_id=user.pk,
        default_status=default_status,
        zone=user_zone(user),
        now=now,
    )


def user_zone(user: User) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(user.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def view_count(*, user: User, view: str, now: datetime | None = None) -> BoundedCount:
    """How many open tasks a planning view (`view=today|upcoming`) shows, bounded."""
    filters = task_filterset(user=user, params={"view": view}, now=now)
    if not filters.is_valid():
        raise ValidationError(filters.errors)
    return count_bounded(filters.qs)


def nav_counts(*, user: User) -> dict[str, BoundedCount]:
    """The header's counts (pages, row responses and live pushes): open tasks, and the
    tasks Today and Upcoming show. `user` needs its time zone."""
    return {
        "open_count": open_task_count(user=user),
        "today_count": view_count(user=user, view=ListView.TODAY),
        "upcoming_count": view_count(user=user, view=ListView.UPCOMING),
    }


def task_list(
    *,
    user: User,
    params: Mapping[str, Any] | None = None,
    filters: TaskFilter | None = None,
    limit: int = 50,
    offset: int = 0,
    default_status: str = "all",
) -> TaskPage:
    """One page of the user's tasks filtered by `params` (the FilterSet's parameters),
    with the number of matches bounded by COUNT_CAP. A caller that shows the parsed
    parameters too (the list page's filter bar) passes the FilterSet of task_filterset() as
    `filters` instead, so they are parsed once.

    One query whatever the page size, for the page with its total and each task's tag
    names, after one that resolves tag names when the tag filter is used. With a search
    the total comes with the page's ids (every match is read to rank or filter it anyway)
    and the page's rows come second.
    """
    filterset = (
        filters
        if filters is not None
        else task_filterset(user=user, params=params or {}, default_status=default_status)
    )
    if not filterset.is_valid():
        raise ValidationError(filterset.errors)
    queryset = filterset.qs
    if "search" in filterset.active_filters():
        # Every match is read (to rank or sort it, and to count it), so the page and its
        # total come from one narrow query of ids; the page's rows are fetched after. The
        # full rows through the window and sort took twice as long at 3,000 matches.
        ranked = _searched_ids(queryset, offset=offset, limit=limit)
        if ranked:
            total = bounded(ranked[0][1])
        else:
            total = count_bounded(queryset) if offset else bounded(0)
        found = (
            with_tag_names(task_queryset(user=user)).in_bulk([pk for pk, _ in ranked])
            if ranked
            else {}
        )
        rows = [found[pk] for pk, _ in ranked if pk in found]
    else:
        page = with_tag_names(queryset).annotate(total_matches=count_bounded_expression(queryset))
        rows = list(page[offset : offset + limit])
        if rows:
            total = bounded(rows[0].total_matches)  # type: ignore[attr-defined]
        else:
            total = count_bounded(queryset) if offset else bounded(0)
    return TaskPage(items=with_tag_names_loaded(rows), total=total, limit=limit, offset=offset)


def _searched_ids(queryset: QuerySet[Task], *, offset: int, limit: int) -> list[tuple[int, int]]:
    """(id, number of matches) of one page of a searched list, in one query.

    The window is ordered like the page (its frame still spans every match): then the sort
    key, the relevance rank included, is computed below the window and the window buffers
    (id, key) instead of each match's search document. A third less time at 3,000
    matches, and the page needs no second sort."""
    matches = Window(
        Count("pk"),
        order_by=list(queryset.query.order_by),  # type: ignore[arg-type]
        frame=RowRange(start=None, end=None),
    )
    return list(
        queryset.annotate(total_matches=matches).values_list("pk", "total_matches")[
            offset : offset + limit
        ]
    )


@dataclass(frozen=True)
class PageIds:
    """The ids of one page of a list, in its order, and how many tasks the list has."""

    ids: list[int]
    total: BoundedCount


def task_page_ids(*, filters: TaskFilter, limit: int, offset: int) -> PageIds:
    """Which tasks one page of the list `filters` describes shows, and the list's total:
    one query (after the one that resolves tag names, with the tag filter), the page's own
    query without its columns. A live push asks this for each open tab's view."""
    if not filters.is_valid():
        raise ValidationError(filters.errors)
    queryset = filters.qs
    if "search" in filters.active_filters():
        ranked = _searched_ids(queryset, offset=offset, limit=limit)
    else:
        ranked = list(
            queryset.annotate(total_matches=count_bounded_expression(queryset)).values_list(
                "pk", "total_matches"
            )[offset : offset + limit]
        )
    if not ranked:  # an empty page: past the end (a second query), or no match at all
        return PageIds(ids=[], total=count_bounded(queryset) if offset else bounded(0))
    return PageIds(ids=[pk for pk, _ in ranked], total=bounded(ranked[0][1]))


def tasks_with_tag_names(*, user: User, ids: list[int]) -> list[Task]:
    """The user's tasks among `ids`, in that order, with their tag names (one query)."""
    found = with_tag_names(task_queryset(user=user)).in_bulk(ids)
    return with_tag_names_loaded([found[pk] for pk in ids if pk in found])


def tag_counts(*, user: User, include_unused: bool = False) -> list[dict[str, Any]]:
    """The user's tags in use (or all, with `include_unused`), with how many tasks carry
    each (counted from the tag rows) and their colour."""
    rows = Tag.objects.filter(user=user).annotate(count=Count("tasks"))
    if not include_unused:
        rows = rows.filter(count__gt=0)
    return list(rows.order_by(Lower("name")).values("id", "name", "count", "colour"))


def tag_colours(*, user: User) -> dict[str, str]:
    """The colour of each of the user's coloured tags, by case-folded name."""
    rows = Tag.objects.filter(user=user).exclude(colour="").values_list("name", "colour")
    return {name.casefold(): colour for name, colour in rows}


def tag_get(*, user: User, tag_id: int) -> Tag:
    """Raises Tag.DoesNotExist for a missing tag and for another user's tag alike."""
    return Tag.objects.get(user=user, pk=tag_id)


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
