"""What the task pages and the live pushes show, built from tasks, event snapshots and the
parsed list parameters. Pages (tasks.views) and the pusher (realtime.rendering) render the
same partials of the same templates from these objects; nothing here reads a request.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone
from natsort import natsort_keygen, ns

from todo_project.eventbus.envelope import parse_instant

from . import recurrence as rrules
from .days import day_end, local_day
from .filters import (
    UPCOMING_DAYS,
    ListStatus,
    ListView,
    SortField,
    SortOrder,
    TaskFilter,
    default_order,
)
from .forms import PRIORITY_CHOICES, RecurrenceForm, is_all_day
from .models import Priority, Task, is_overdue
from .selectors import BoundedCount
from .services import series_start_for

LIST_TEMPLATE = "tasks/list.html"
#: Tasks on one page of the list.
LIST_PAGE_SIZE = 25
FORM_TEMPLATE = "tasks/form.html"
PREVIEW_COUNT = 5

# --- the row every list, htmx response and live push shows ------------------------------


#: Tags in the order people read them: tag2 before tag10, case ignored.
tag_sort_key = natsort_keygen(alg=ns.IGNORECASE)


def sorted_tags(names: Iterable[str]) -> list[str]:
    return sorted(names, key=tag_sort_key)


@dataclass(frozen=True)
class TaskRow:
    """What a task row shows, built from a Task or from an event's task snapshot so that
    the page and the WebSocket push render the very same partial."""

    id: int
    title: str
    priority: str
    tags: list[str]
    due_date: datetime | None
    reminder_at: datetime | None
    recurrence: str
    completed: bool
    version: int
    now: datetime = field(default_factory=timezone.now)
    #: The row shows a mark (not the text: it may be long) when the task has notes.
    has_description: bool = False
    #: The colour of each of the row's coloured tags, by case-folded name.
    tag_colours: Mapping[str, str] = field(default_factory=dict)
    #: The calendar date of an all-day task (in its zone), None for a timed or undated one.
    due_day: date | None = None

    @classmethod
    def from_task(
        cls,
        task: Task,
        *,
        now: datetime | None = None,
        tag_colours: Mapping[str, str] | None = None,
    ) -> TaskRow:
        """`tag_colours`: the user's (selectors.tag_colours), for the chips."""
        tags = sorted_tags(task.tag_names)
        return cls(
            id=task.pk,
            title=task.title,
            priority=Priority(task.priority).slug,
            tags=tags,
            due_date=task.due_date,
            reminder_at=task.reminder_at if not task.completed else None,
            recurrence=task.recurrence,
            completed=task.completed,
            version=task.version,
            now=now or timezone.now(),
            has_description=bool(task.description.strip()),
            tag_colours=_colours_of(tags, tag_colours),
            due_day=task.due_day,
        )

    @classmethod
    def from_snapshot(
        cls, payload: Mapping[str, Any], *, tag_colours: Mapping[str, str] | None = None
    ) -> TaskRow:
        completed = bool(payload.get("completed"))
        tags = sorted_tags(str(tag) for tag in payload.get("tags") or [])
        due_date = parse_instant(payload.get("due_date"))
        all_day = bool(payload.get("all_day")) and due_date is not None
        return cls(
            id=int(payload["task_id"]),
            title=str(payload.get("title") or ""),
            priority=str(payload.get("priority") or "medium"),
            tags=tags,
            due_date=due_date,
            reminder_at=None if completed else parse_instant(payload.get("reminder_at")),
            recurrence=str(payload.get("recurrence") or ""),
            completed=completed,
            version=int(payload.get("version") or 0),
            has_description=bool(str(payload.get("description") or "").strip()),
            tag_colours=_colours_of(tags, tag_colours),
            due_day=local_day(due_date, str(payload.get("timezone") or "UTC"))
            if all_day and due_date is not None
            else None,
        )

    @property
    def chips(self) -> list[tuple[str, str]]:
        """(name, colour) of each tag, in the row's order; colour '' for the default."""
        return [(tag, self.tag_colours.get(tag.casefold(), "")) for tag in self.tags]

    @property
    def dom_id(self) -> str:
        return f"task-{self.id}"

    @property
    def is_overdue(self) -> bool:
        return is_overdue(completed=self.completed, due_date=self.due_date, now=self.now)

    @property
    def recurrence_summary(self) -> str:
        if not self.recurrence:
            return ""
        try:
            return rrules.describe(self.recurrence)
        except rrules.RecurrenceError:
            return self.recurrence

    @property
    def all_day(self) -> bool:
        return self.due_day is not None

    @property
    def due_label(self) -> str:
        if self.due_day is not None:
            return day_label(self.due_day, timezone.localtime(self.now).date())
        return when_label(self.due_date, self.now) if self.due_date else ""

    @property
    def shown_day(self) -> date | None:
        """The day the row is listed under in Upcoming: its date, or its due time's day
        in the current (the user's) time zone."""
        if self.due_day is not None:
            return self.due_day
        return timezone.localtime(self.due_date).date() if self.due_date else None

    @property
    def reminder_label(self) -> str:
        return when_label(self.reminder_at, self.now) if self.reminder_at else ""


def _colours_of(tags: Iterable[str], colours: Mapping[str, str] | None) -> dict[str, str]:
    if not colours:
        return {}
    keys = (tag.casefold() for tag in tags)
    return {key: colours[key] for key in keys if colours.get(key)}


WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def when_label(moment: datetime, now: datetime) -> str:
    """'Today 14:00', 'Tomorrow 09:00', 'Fri 7 Mar, 09:00', '7 Mar 2027, 09:00' in the
    current (the user's) time zone. Month and day names are English whatever the locale."""
    local = timezone.localtime(moment)
    day = day_label(local.date(), timezone.localtime(now).date())
    separator = " " if day in ("Today", "Tomorrow", "Yesterday") else ", "
    return f"{day}{separator}{local:%H:%M}"


def relative_day(day: date, today: date) -> str | None:
    """'Today', 'Tomorrow' or 'Yesterday'; None for another day."""
    return {0: "Today", 1: "Tomorrow", -1: "Yesterday"}.get((day - today).days)


def day_label(day: date, today: date) -> str:
    """'Today', 'Tomorrow', 'Yesterday', 'Fri 7 Mar', or '7 Mar 2027' far from today."""
    relative = relative_day(day, today)
    if relative:
        return relative
    offset = (day - today).days
    if day.year == today.year or abs(offset) < 180:
        return f"{WEEKDAYS[day.weekday()]} {day.day} {MONTHS[day.month - 1]}"
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


# --- the list page's filter bar and links --------------------------------------------------

#: Query parameters of the list, in the order the canonical URL shows them.
LIST_PARAMS = (
    "search",
    "status",
    "priority",
    "tag",
    "due_after",
    "due_before",
    "overdue",
    "view",
    "sort_by",
    "order",
)
#: What the page shows without a parameter, left out of its URL.
#: (The order's default depends on the sort: filters.default_order.)
LIST_DEFAULTS = {"status": ListStatus.PENDING.value}
#: The choices the filter bar offers: the FilterSet's, with "" for the default order.
STATUS_CHOICES = ListStatus.choices
SORT_CHOICES = [("", SortField.DUE_DATE.label)] + [
    choice for choice in SortField.choices if choice[0] != SortField.DUE_DATE
]
ORDER_CHOICES = [("", "Default"), *SortOrder.choices]
BAR_PRIORITY_CHOICES = list(reversed(PRIORITY_CHOICES))  # most urgent first


@dataclass(frozen=True)
class FilterBar:
    """The list's view as the filter bar shows it, read from the FilterSet that filtered
    the list: typed-in text as typed, choices as the FilterSet understood them."""

    search: str
    status: str
    priorities: list[str]
    tags: list[str]
    due_after: str
    due_before: str
    overdue: bool
    sort_by: str
    order: str
    #: The planning view (today, upcoming) or "" for the list of all tasks.
    view: str = ""

    @classmethod
    def from_filterset(cls, filters: TaskFilter) -> FilterBar:
        filters.is_valid()  # parses once; the form keeps its result
        form = filters.form
        cleaned = form.cleaned_data

        def typed(name: str) -> str:
            return str(form[name].value() or "")

        return cls(
            search=typed("search"),
            status=filters.selected_status(),
            priorities=list(cleaned.get("priority") or []),
            tags=[tag for tag in cleaned.get("tag") or [] if tag.strip()],
            due_after=typed("due_after"),
            due_before=typed("due_before"),
            overdue=cleaned.get("overdue") is True,
            sort_by=cleaned.get("sort_by") or "",
            order=cleaned.get("order") or "",
            view=cleaned.get("view") or "",
        )

    @property
    def is_filtered(self) -> bool:
        return bool(
            self.search.strip()
            or self.status != ListStatus.PENDING
            or self.sort_by
            or (self.order and self.order != default_order(self.sort_by))
            or self.has_more_filters
        )

    @property
    def has_more_filters(self) -> bool:
        return bool(
            self.priorities or self.tags or self.due_after or self.due_before or self.overdue
        )


def canonical_query(params: Mapping[str, Any], **overrides: Any) -> str:
    """The list's query string without empty values and defaults, in a stable order, so
    the address bar shows exactly the view and nothing else. `params` is a QueryDict."""
    pairs: list[tuple[str, str]] = []
    sort_by = str(overrides.get("sort_by", params.get("sort_by")) or "").strip()
    defaults = {**LIST_DEFAULTS, "order": default_order(sort_by).value}
    for name in LIST_PARAMS:
        values = [overrides[name]] if name in overrides else params.getlist(name)  # type: ignore[attr-defined]
        for value in values:
            value = (value or "").strip()
            if value and defaults.get(name) != value:
                pairs.append((name, value))
    page = overrides.get("page", params.get("page"))
    if page and str(page) != "1":
        pairs.append(("page", str(page)))
    return urlencode(pairs)


#: How many tags the filter bar offers as chips (the most used); the rest are searched.
TOP_TAGS = 8


def tag_options(
    known: Sequence[Mapping[str, Any]], selected: Sequence[str], *, limit: int = TOP_TAGS
) -> list[dict[str, Any]]:
    """The tag chips: the user's `limit` most used tags with their counts, plus every
    selected tag (one the user does not have too, so it can be unticked), in natural
    order, each marked selected or not."""
    chosen = {tag.casefold() for tag in selected}
    by_use = sorted(known, key=lambda tag: (-tag["count"], tag_sort_key(tag["name"])))
    shown = by_use[:limit] + [tag for tag in by_use[limit:] if tag["name"].casefold() in chosen]
    known_names = {tag["name"].casefold() for tag in known}
    options = [
        {"name": tag["name"], "count": tag["count"]}
        for tag in sorted(shown, key=lambda tag: tag_sort_key(tag["name"]))
    ] + [{"name": name, "count": 0} for name in selected if name.casefold() not in known_names]
    for option in options:
        option["selected"] = option["name"].casefold() in chosen
    return options


def tag_search_names(known: Sequence[Mapping[str, Any]], shown: Sequence[Mapping[str, Any]]):
    """The tags the chips leave out, for the filter's tag search (its suggestions)."""
    offered = {option["name"].casefold() for option in shown}
    return sorted(
        (tag["name"] for tag in known if tag["name"].casefold() not in offered), key=tag_sort_key
    )


def filter_errors(message_dict: Mapping[str, Sequence[str]]) -> list[str]:
    """'Due after: Enter a valid date/time.' for each bad parameter."""
    return [
        f"{name.replace('_', ' ').capitalize()}: {message}"
        for name, messages in message_dict.items()
        for message in messages
    ]


VIEW_TITLES = {ListView.TODAY: "Today", ListView.UPCOMING: "Upcoming"}
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class DayGroup:
    """One day of Upcoming: its heading and the rows due on it."""

    day: date
    label: str
    rows: list[TaskRow]

    @property
    def key(self) -> str:
        return self.day.isoformat()

    @property
    def date_text(self) -> str:
        return f"{self.day.day} {MONTHS[self.day.month - 1]}"


def day_heading(day: date, today: date) -> str:
    """'Today', 'Tomorrow', then the weekday's name."""
    return relative_day(day, today) or WEEKDAY_NAMES[day.weekday()]


def group_by_day(
    rows: Sequence[TaskRow], *, today: date, days: int, include_empty: bool
) -> list[DayGroup]:
    """Rows under the day each is due (TaskRow.shown_day), from `today` for `days` days in
    calendar order (days, not 24-hour steps: a DST change moves nothing). With
    `include_empty`, every day gets a heading, with or without rows."""
    by_day: dict[date, list[TaskRow]] = {}
    for row in rows:
        if row.shown_day is not None:
            by_day.setdefault(row.shown_day, []).append(row)
    calendar = [today + timedelta(days=n) for n in range(days)]
    extra = sorted(set(by_day) - set(calendar))  # a task in another zone's day, say
    return [
        DayGroup(day=day, label=day_heading(day, today), rows=by_day.get(day, []))
        for day in sorted([*calendar, *extra])
        if include_empty or day in by_day
    ]


def list_url(query: str) -> str:
    base = reverse("tasks:list")
    return f"{base}?{query}" if query else base


def last_page_for(count: BoundedCount, *, page_size: int) -> int:
    """The number of the last page of `count` matches (1 when there are none)."""
    return max(1, -(-count.value // page_size))


def page_number_of(params: Mapping[str, Any]) -> int:
    """The `page` parameter of a list: 1 for nothing or nonsense, at most 10,000."""
    try:
        return max(1, min(int(params.get("page", "1")), 10_000))
    except (TypeError, ValueError):
        return 1


def page_info(
    *,
    params: Mapping[str, Any],
    count: BoundedCount,
    page_number: int,
    page_size: int,
    shown: int,
) -> dict[str, Any]:
    """The heading's and the pagination's numbers for page `page_number` showing `shown`
    of `count` matches (the page and the live pushes that keep it right)."""
    last_page = last_page_for(count, page_size=page_size)
    if not count.exact and shown == page_size:
        last_page = max(last_page, page_number + 1)  # past the count's cap: one page more
    before = (page_number - 1) * page_size
    return {
        "count": count,
        "page_number": page_number,
        "last_page": last_page,
        "first_index": before + 1 if shown else 0,
        "last_index": before + shown,
        "prev_url": list_url(canonical_query(params, page=page_number - 1))
        if page_number > 1
        else None,
        "next_url": list_url(canonical_query(params, page=page_number + 1))
        if page_number < last_page
        else None,
    }


def list_context(
    *,
    params: Mapping[str, Any],
    filters: TaskFilter,
    items: Sequence[Task],
    count: BoundedCount,
    errors: list[str],
    page_number: int,
    page_size: int,
    known_tags: Sequence[Mapping[str, Any]],
) -> dict[str, Any]:
    """The list page's context (and its htmx partials'): one page of `items` out of
    `count` matches, for the parameters `filters` parsed from `params`."""
    bar = FilterBar.from_filterset(filters)
    now = timezone.now()
    colours = {tag["name"].casefold(): tag["colour"] for tag in known_tags if tag.get("colour")}
    rows = [TaskRow.from_task(task, now=now, tag_colours=colours) for task in items]
    chips = tag_options(known_tags, bar.tags)
    view_query = canonical_query(params, page=page_number)
    pages = page_info(
        params=params,
        count=count,
        page_number=page_number,
        page_size=page_size,
        shown=len(rows),
    )
    grouped = bar.view == ListView.UPCOMING and bar.sort_by in ("", SortField.DUE_DATE)
    day_groups = (
        group_by_day(
            rows,
            today=timezone.localtime(now).date(),
            days=UPCOMING_DAYS,
            include_empty=pages["last_page"] == 1 and not bar.has_more_filters and not bar.search,
        )
        if grouped
        else []
    )
    return {
        "view": bar.view,
        "page_title": VIEW_TITLES.get(bar.view, "Tasks"),  # type: ignore[call-overload]
        "nav": bar.view or "tasks",
        "day_groups": day_groups,
        "grouped": grouped,
        "clear_url": list_url(canonical_query(QueryDict(), view=bar.view)),
        "rows": rows,
        **pages,
        "list_url": list_url(view_query),
        # What this page shows, for the live pushes of its socket (tasks.live).
        "view_query": view_query,
        "filter_errors": errors,
        "state": bar,
        "tag_options": chips,
        "tag_search_names": tag_search_names(known_tags, chips),
        "priority_choices": BAR_PRIORITY_CHOICES,
        "status_choices": STATUS_CHOICES,
        "sort_choices": SORT_CHOICES,
        "order_choices": ORDER_CHOICES,
    }


# --- the recurrence editor's preview -------------------------------------------------------


@dataclass
class Preview:
    summary: str = ""
    dates: list[datetime] = field(default_factory=list)
    error: str = ""
    repeats: bool = False
    #: Something about the rule a person may not expect (months it skips).
    note: str = ""
    all_day: bool = False


def recurrence_preview(form: RecurrenceForm, *, task: Task | None, zone: str) -> Preview:
    """describe() and the next dates of the rule the editor currently holds (a bound
    form), or of the task's stored rule (an unbound one). `zone` is the zone of a new
    task; a stored task keeps its own."""
    if form.is_bound:
        form.is_valid()
        cleaned = form.cleaned_data
        rule_errors = [
            str(message)
            for name in ("recurrence_preset", "recurrence_custom")
            for message in form.errors.get(name, [])
        ]
        if rule_errors:
            return Preview(error=" ".join(rule_errors), repeats=True)
        rule = cleaned.get("recurrence", "")
        due = cleaned.get("due_date")
        if "due_date" in form.errors:
            return Preview(error="Enter a valid due date.", repeats=bool(rule))
    else:
        rule = task.recurrence if task else ""
        due = (task.due_day if task.all_day else task.due_date) if task else None
    if not rule:
        return Preview()
    if task is not None:
        zone = task.timezone
    if due is None:
        return Preview(error="A repeating task needs a due date.", repeats=True)
    all_day = is_all_day(due)
    if all_day:
        due = day_end(due, zone)
    series_start = series_start_for(task, due)
    try:
        normalized = rrules.validate_rule(rule, first_due=series_start, tz=zone)
        dates = rrules.occurrences(
            normalized,
            series_start=series_start,
            tz=zone,
            after=due - timedelta(seconds=1),
            limit=PREVIEW_COUNT,
        )
    except rrules.RecurrenceError as exc:
        return Preview(error=str(exc), repeats=True)
    return Preview(
        summary=rrules.describe(normalized),
        dates=dates,
        repeats=True,
        note=skipped_months_note(normalized, due=due, zone=zone),
        all_day=all_day,
    )


def skipped_months_note(rule: str, *, due: datetime, zone: str) -> str:
    """A monthly rule on day 29, 30 or 31 (given, or the due date's) skips the months
    without that day: say so, and name the choice that does not."""
    parsed = rrules.parse_rule(rule)
    if parsed.freq != "MONTHLY" or parsed.byday:
        return ""
    days = parsed.bymonthday or (due.astimezone(zoneinfo.ZoneInfo(zone)).day,)
    late = sorted(day for day in days if day >= 29)
    if not late:
        return ""
    return (
        f"Months without a day {late[0]} ({SHORT_MONTHS[late[0]]}) are skipped. Choose"
        " “Last day of the month” to repeat in every month."
    )


#: The months that lack day 29, 30 or 31.
SHORT_MONTHS = {
    29: "February, except in leap years",
    30: "February",
    31: "February, April, June, September, November",
}


# --- the history page -----------------------------------------------------------------------

EVENT_LABELS = {
    "TaskCreated": "Created",
    "TaskUpdated": "Changed",
    "TaskCompleted": "Completed",
    "TaskDeleted": "Deleted",
}
FIELD_LABELS = {
    "title": "Title",
    "description": "Description",
    "priority": "Priority",
    "tags": "Tags",
    "due_date": "Due",
    "all_day": "All day",
    "reminder_at": "Reminder",
    "reminder_offset_minutes": "Reminder before due",
    "recurrence": "Repeat",
    "timezone": "Time zone",
}
#: How long a changed description may be before the history shortens it.
DESCRIPTION_PREVIEW = 120


@dataclass
class HistoryLine:
    label: str
    version: int
    occurred_at: datetime
    changes: list[tuple[str, str]]

    @classmethod
    def from_entry(cls, entry: Any) -> HistoryLine:
        if entry.event_type == "TaskCreated" and (entry.changes or {}).get("restored"):
            return cls(
                label="Restored", version=entry.version, occurred_at=entry.occurred_at, changes=[]
            )
        recorded: dict[str, Any] = dict(entry.changes or {})
        # Completion is what happened, not a field that changed: an update that completes
        # or reopens the task is labelled so ("Reopened"), not "Changed - Done: no".
        completed = recorded.pop("completed", None)
        recorded.pop("completed_at", None)
        changes = [
            (
                FIELD_LABELS.get(name, name),
                change_text(name, value, all_day=recorded.get("all_day")),
            )
            for name, value in recorded.items()
        ]
        label = EVENT_LABELS.get(entry.event_type, entry.event_type)
        if entry.event_type == "TaskUpdated" and completed is not None:
            label = "Completed" if completed else "Reopened"
        return cls(
            label=label, version=entry.version, occurred_at=entry.occurred_at, changes=changes
        )


def change_text(name: str, value: Any, *, all_day: Any = False) -> str:
    """One changed field's new value as the history shows it (a due date of an all-day
    task as its date)."""
    if value is None or value == "" or value == []:
        return "none"
    if name in ("due_date", "reminder_at"):
        try:
            moment = parse_instant(value)
        except ValueError:
            return str(value)
        if moment is None:
            return "none"
        shown = "%Y-%m-%d" if name == "due_date" and all_day else "%Y-%m-%d %H:%M"
        return timezone.localtime(moment).strftime(shown)
    if name == "tags" and isinstance(value, list):
        return ", ".join(sorted_tags(str(tag) for tag in value))
    if name == "priority":
        return str(value).capitalize()
    if name == "reminder_offset_minutes" and isinstance(value, int):
        return duration_text(value)
    if name == "description":
        text = " ".join(str(value).split())
        return text if len(text) <= DESCRIPTION_PREVIEW else text[: DESCRIPTION_PREVIEW - 1] + "…"
    if name in ("completed", "all_day"):
        return "yes" if value else "no"
    if name == "recurrence":
        try:
            return rrules.describe(str(value))
        except rrules.RecurrenceError:
            return str(value)
    return str(value)


def duration_text(minutes: int) -> str:
    """'30 minutes', '1 hour', '2 days', '90 minutes': the largest whole unit."""
    for unit, size in (("day", 60 * 24), ("hour", 60)):
        if minutes and minutes % size == 0:
            amount = minutes // size
            return f"{amount} {unit}{'s' if amount != 1 else ''}"
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def quick_add_preview(form: Any, *, now: datetime) -> dict[str, Any]:
    """The quick-add highlight: each recognised phrase (offsets into the typed text, in
    UTF-16 code units as JavaScript counts them) and the fields the line would set."""
    parsed = form.parsed
    errors = list(form.errors.get("title", []))
    if parsed is None:
        return {"spans": [], "title": "", "errors": errors}
    # Offsets into the line as typed: the form strips the leading blanks before reading it.
    typed = str(form.data.get("title") or "")
    lead = typed[: len(typed) - len(typed.lstrip())]
    text = lead + typed.strip()
    shift = len(lead)
    return {
        "spans": [
            {
                "start": _utf16_length(text[: shift + span.start]),
                "end": _utf16_length(text[: shift + span.end]),
                "text": span.text,
                "kind": span.kind,
                "confident": span.confident,
                "applied": span.applied,
            }
            for span in parsed.spans
        ],
        "title": parsed.title,
        "tags": list(parsed.tags),
        "priority": parsed.priority,
        "due": parsed.due.isoformat() if parsed.due else None,
        "due_label": _quick_add_due_label(parsed, now),
        "has_time": parsed.has_time,
        "recurrence": parsed.recurrence,
        "recurrence_summary": rrules.describe(parsed.recurrence) if parsed.recurrence else "",
        "errors": errors,
        "fold_choices": [{"value": value, "label": label} for value, label in form.fold_choices],
    }


def _quick_add_due_label(parsed: Any, now: datetime) -> str:
    """When the line's task is due: a day alone for a date without a time (all-day)."""
    if parsed.due is None:
        return ""
    if not parsed.has_time:
        return day_label(timezone.localtime(parsed.due).date(), timezone.localtime(now).date())
    return when_label(parsed.due, now)


def _utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2
