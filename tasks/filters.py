"""The one FilterSet behind the API list and the HTML list."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

import django_filters
from django import forms
from django.conf import settings
from django.contrib.postgres.search import SearchQuery, SearchRank
from django.core.exceptions import ValidationError
from django.core.validators import ProhibitNullCharactersValidator
from django.db import models
from django.db.models import Exists, F, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Concat, Lower
from django.utils import timezone

from .days import day_start, local_day
from .models import SEARCH_CONFIG, Priority, Tag, Task, overdue_q


class ListStatus(models.TextChoices):
    """Which tasks a list shows (`status`)."""

    PENDING = "pending", "Pending"
    COMPLETED = "completed", "Completed"
    ALL = "all", "All"


class ListView(models.TextChoices):
    """A planning view (`view`): open tasks by when they are due, in the user's zone."""

    TODAY = "today", "Today"
    UPCOMING = "upcoming", "Upcoming"


#: Upcoming is today and the six days after it.
UPCOMING_DAYS = 7


def view_range(view: str, *, now: datetime, zone: tzinfo) -> tuple[datetime | None, datetime]:
    """The due dates a view shows, [start, end) with start None for no lower bound:
    Today is everything due before tomorrow (overdue and due today), Upcoming the next
    UPCOMING_DAYS calendar days from today. Days are the zone's, so a DST change makes
    one of them 23 or 25 hours long rather than shifting the others."""
    today = local_day(now, zone)
    if view == ListView.TODAY:
        return None, day_start(today + timedelta(days=1), zone)
    return day_start(today, zone), day_start(today + timedelta(days=UPCOMING_DAYS), zone)


class SortField(models.TextChoices):
    """What a list is sorted by (`sort_by`); without one, by due date (or relevance)."""

    DUE_DATE = "due_date", "Due date"
    PRIORITY = "priority", "Priority"
    CREATED_AT = "created_at", "Created"
    UPDATED_AT = "updated_at", "Updated"
    TITLE = "title", "Title"


class SortOrder(models.TextChoices):
    ASC = "asc", "Ascending"
    DESC = "desc", "Descending"


def default_order(sort_by: str) -> SortOrder:
    """Without `order`: most urgent first for a priority sort, ascending for the others."""
    return SortOrder.DESC if sort_by == SortField.PRIORITY else SortOrder.ASC


_WORD = re.compile(r"\w+", re.UNICODE)


class MultipleValueField(forms.MultipleChoiceField):
    """A repeatable free-text parameter (?tag=a&tag=b)."""

    def valid_value(self, value: str) -> bool:
        return True

    def validate(self, value: Any) -> None:
        super().validate(value)
        for item in value:
            ProhibitNullCharactersValidator()(item)


class AwareDateTimeField(forms.DateTimeField):
    """ISO 8601; a value without offset is read in the current (the user's) time zone."""

    input_formats = ["iso-8601"]

    def to_python(self, value: Any) -> datetime | None:
        parsed = super().to_python(value)
        if parsed is None:
            return None
        try:
            if timezone.is_naive(parsed):
                parsed = timezone.make_aware(parsed)
            # UTC for the database: PostgreSQL refuses offsets Python accepts (beyond ±16 h).
            return parsed.astimezone(UTC)
        except (OverflowError, ValueError):
            raise ValidationError("Date and time out of range.", code="invalid") from None


class TaskListForm(forms.Form):
    """The list's query parameters, parsed: the one parser behind the API list and the
    page (whose filter bar shows what this form understood). Every field is optional."""

    priority = forms.MultipleChoiceField(
        choices=[(p.slug, p.slug.title()) for p in Priority], required=False
    )
    tag = MultipleValueField(required=False, label="Tags (all of)")
    search = forms.CharField(required=False, max_length=200)
    status = forms.ChoiceField(choices=ListStatus.choices, required=False)
    due_after = AwareDateTimeField(required=False)
    due_before = AwareDateTimeField(required=False)
    overdue = forms.NullBooleanField(required=False)
    view = forms.ChoiceField(choices=ListView.choices, required=False)
    sort_by = forms.ChoiceField(choices=SortField.choices, required=False, label="Sort by")
    order = forms.ChoiceField(choices=SortOrder.choices, required=False)


class TaskFilter(django_filters.FilterSet):
    # What each parameter does; TaskListForm says what it accepts.
    priority = django_filters.Filter(method="filter_priority")
    tag = django_filters.Filter(method="filter_tags")
    search = django_filters.Filter(method="filter_search")
    status = django_filters.Filter(method="filter_status")
    due_after = django_filters.Filter(field_name="due_date", lookup_expr="gte")
    due_before = django_filters.Filter(field_name="due_date", lookup_expr="lt")
    overdue = django_filters.Filter(method="filter_overdue")
    view = django_filters.Filter(method="filter_view")
    sort_by = django_filters.Filter(method="filter_noop")
    order = django_filters.Filter(method="filter_noop")

    class Meta:
        model = Task
        fields: list[str] = []

    def __init__(
        self,
        *args: Any,
        user_id: int,
        default_status: str = "all",
        zone: tzinfo | None = None,
        now: datetime | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.user_id = user_id
        self.default_status = default_status
        #: The zone whose days `view` means (the user's), and the moment "today" is in.
        self.zone = zone or timezone.get_current_timezone()
        self.now = now
        self._relevance = False
        self._searched = False
        #: Ids of the user's tags the tag filter resolved to (all of them must be carried).
        self.tag_ids: list[int] = []
        self._tags_resolved = False

    def get_form_class(self) -> type[forms.Form]:
        return TaskListForm

    def filter_noop(self, queryset: QuerySet[Task], name: str, value: Any) -> QuerySet[Task]:
        return queryset

    def filter_priority(self, queryset: QuerySet[Task], name: str, value: list[str]):
        if not value:
            return queryset
        return queryset.filter(priority__in=[Priority.from_name(v) for v in value])

    def filter_tags(self, queryset: QuerySet[Task], name: str, value: list[str]):
        names = {v.strip().lower() for v in value if v.strip()}
        if not names:
            return queryset
        if not self._tags_resolved:
            self._tags_resolved = True
            # The user's own tags (index tag_unique_name_per_user_ci), resolved first so
            # that the planner sees each tag id as a constant and knows how common it is.
            found = list(
                Tag.objects.filter(user_id=self.user_id)
                .annotate(key=Lower("name"))
                .filter(key__in=names)
                .order_by()
                .values_list("id", flat=True)
            )
            if len(found) == len(names):
                self.tag_ids = found
        if not self.tag_ids:
            return queryset.none()  # a tag the user does not have: nothing carries it
        # One probe per tag into the task's own tag rows (their unique (task, tag) index).
        through = Task.tags.through.objects
        for tag_id in self.tag_ids:
            queryset = queryset.filter(
                Exists(through.filter(task_id=OuterRef("pk"), tag_id=tag_id))
            )
        return queryset

    def filter_status(self, queryset: QuerySet[Task], name: str, value: str):
        return queryset  # applied in filter_queryset so the default covers a missing value

    def filter_overdue(self, queryset: QuerySet[Task], name: str, value: bool | None):
        if value is None:
            return queryset
        overdue = overdue_q()
        return queryset.filter(overdue) if value else queryset.exclude(overdue)

    def filter_view(self, queryset: QuerySet[Task], name: str, value: str):
        if not value:
            return queryset
        start, end = view_range(value, now=self.now or timezone.now(), zone=self.zone)
        queryset = queryset.filter(due_date__lt=end)
        return queryset.filter(due_date__gte=start) if start is not None else queryset

    def filter_search(self, queryset: QuerySet[Task], name: str, value: str):
        words = _WORD.findall(value.casefold())
        if not words:
            return queryset
        if settings.IS_POSTGRES:
            # Prefix matching on every word: "rep q" finds "Quarterly report".
            query = SearchQuery(
                " & ".join(f"{word}:*" for word in words), config=SEARCH_CONFIG, search_type="raw"
            )
            queryset = queryset.filter(search_document=query)
            self._searched = True
            if not self.form.cleaned_data.get("sort_by"):
                self._relevance = True
                queryset = queryset.annotate(rank=SearchRank(F("search_document"), query))
            return queryset
        for word in words:
            queryset = queryset.filter(Q(title__icontains=word) | Q(description__icontains=word))
        return queryset

    def filter_queryset(self, queryset: QuerySet[Task]) -> QuerySet[Task]:
        queryset = super().filter_queryset(queryset)
        status = self.selected_status()
        if status == "pending":
            queryset = queryset.filter(completed=False)
        elif status == "completed":
            queryset = queryset.filter(completed=True)
        return queryset.order_by(*self.ordering())

    def active_filters(self) -> set[str]:
        """Names of the parameters that narrow the list (sorting does not; status does
        unless it is 'all'). Call after is_valid()."""
        data = self.form.cleaned_data
        active = {
            name
            for name, value in data.items()
            if name not in ("sort_by", "order", "status") and value not in (None, "", [])
        }
        if self.selected_status() != "all":
            active.add("status")
        return active

    def selected_status(self) -> str:
        """The status asked for; without one, a view shows open tasks."""
        cleaned = self.form.cleaned_data
        if cleaned.get("view"):
            return cleaned.get("status") or ListStatus.PENDING
        return cleaned.get("status") or self.default_status

    def ordering(self) -> list[Any]:
        sort_by = self.form.cleaned_data.get("sort_by")
        if not sort_by and self._relevance:
            return [F("rank").desc(), "-id"]
        sort_by = sort_by or "due_date"
        order = self.form.cleaned_data.get("order") or default_order(sort_by)
        # Priorities rank low < medium < high < urgent, and are stored as a rank with
        # urgent first (0): descending priority is ascending rank.
        descending = (order == SortOrder.DESC) != (sort_by == SortField.PRIORITY)
        value = self._sort_value(sort_by)
        if sort_by == "due_date":
            key = value.desc(nulls_last=True) if descending else value.asc(nulls_last=True)
        else:
            key = value.desc() if descending else value.asc()
        # Ties break by id in the same direction so that pages never overlap.
        return [key, "-id" if descending else "id"]

    def _sort_value(self, sort_by: str) -> Any:
        value = Lower("title") if sort_by == "title" else F(sort_by)
        if not self._searched:
            return value
        # With a search (PostgreSQL) the matches come from the GIN index and the page is a
        # sort of those matches; the total, counted over the same query, needs every match
        # anyway. Sorting on the bare column would let the planner walk that column's index
        # instead and test each task against the search until a page is full: 190 ms
        # instead of 15 at 100k tasks. A no-op on the value keeps the index out of it.
        if sort_by == "title":
            return Concat(value, Value(""))
        if sort_by == "priority":
            return value + 0
        return value + Value(timedelta(0))
