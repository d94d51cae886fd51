"""Browser pages for tasks. Thin: parse input, call one service or selector, render.

Every fragment is a partial of the page's own template (`tasks/list.html#task-row`, ...);
htmx requests get the partial, and the live-update pusher renders the same partials from
event payloads (realtime.rendering).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import (
    HttpResponseClientRedirect,
    push_url,
    replace_url,
    reswap,
    retarget,
)

from todo_project.eventbus.envelope import parse_instant
from todo_project.views import chrome

from . import recurrence as rrules
from . import selectors, services
from .forms import (
    ORDER_CHOICES,
    PRIORITY_CHOICES,
    SORT_CHOICES,
    STATUS_CHOICES,
    QuickAddForm,
    RecurrenceForm,
    TaskForm,
)
from .models import Priority, Task

PAGE_SIZE = 25
PREVIEW_COUNT = 5
LIST_TEMPLATE = "tasks/list.html"
FORM_TEMPLATE = "tasks/form.html"
#: Query parameters of the list, in the order the canonical URL shows them.
LIST_PARAMS = (
    "search",
    "status",
    "priority",
    "tag",
    "due_after",
    "due_before",
    "overdue",
    "sort_by",
    "order",
)
LIST_DEFAULTS = {"status": "pending", "order": "asc"}


# --- the row every list, htmx response and live push shows ------------------------------


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

    @classmethod
    def from_task(cls, task: Task) -> TaskRow:
        return cls(
            id=task.pk,
            title=task.title,
            priority=Priority(task.priority).slug,
            tags=sorted(task.tag_names, key=str.casefold),
            due_date=task.due_date,
            reminder_at=task.reminder_at if not task.completed else None,
            recurrence=task.recurrence,
            completed=task.completed,
            version=task.version,
        )

    @classmethod
    def from_snapshot(cls, payload: Mapping[str, Any]) -> TaskRow:
        completed = bool(payload.get("completed"))
        return cls(
            id=int(payload["task_id"]),
            title=str(payload.get("title") or ""),
            priority=str(payload.get("priority") or "medium"),
            tags=sorted((str(tag) for tag in payload.get("tags") or []), key=str.casefold),
            due_date=parse_instant(payload.get("due_date")),
            reminder_at=None if completed else parse_instant(payload.get("reminder_at")),
            recurrence=str(payload.get("recurrence") or ""),
            completed=completed,
            version=int(payload.get("version") or 0),
        )

    @property
    def dom_id(self) -> str:
        return f"task-{self.id}"

    @property
    def is_overdue(self) -> bool:
        return not self.completed and self.due_date is not None and self.due_date < self.now

    @property
    def recurrence_summary(self) -> str:
        if not self.recurrence:
            return ""
        try:
            return rrules.describe(self.recurrence)
        except rrules.RecurrenceError:
            return self.recurrence

    @property
    def due_label(self) -> str:
        return when_label(self.due_date, self.now) if self.due_date else ""

    @property
    def reminder_label(self) -> str:
        return when_label(self.reminder_at, self.now) if self.reminder_at else ""


def when_label(moment: datetime, now: datetime) -> str:
    """'Today 14:00', 'Tomorrow 09:00', 'Fri 7 Mar, 09:00', '7 Mar 2027, 09:00' in the
    current (the user's) time zone. Month and day names are English whatever the locale."""
    local = timezone.localtime(moment)
    today = timezone.localtime(now).date()
    clock = f"{local:%H:%M}"
    days = (local.date() - today).days
    if days == 0:
        return f"Today {clock}"
    if days == 1:
        return f"Tomorrow {clock}"
    if days == -1:
        return f"Yesterday {clock}"
    weekday = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")[local.weekday()]
    month = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")[
        local.month - 1
    ]
    if local.year == today.year or abs(days) < 180:
        return f"{weekday} {local.day} {month}, {clock}"
    return f"{local.day} {month} {local.year}, {clock}"


# --- helpers ------------------------------------------------------------------------------


def _task_or_404(request: HttpRequest, task_id: int) -> Task:
    try:
        return selectors.task_get(user=request.user, task_id=task_id)  # type: ignore[arg-type]
    except Task.DoesNotExist:
        raise Http404("No such task.") from None


def _back(request: HttpRequest, fallback: str | None = None) -> str:
    """Where a form without JavaScript returns to: `next`, the referring page, or the list."""
    for candidate in (request.POST.get("next"), request.META.get("HTTP_REFERER")):
        if candidate and url_has_allowed_host_and_scheme(
            candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            return candidate
    return fallback or reverse("tasks:list")


def canonical_query(params: QueryDict, **overrides: Any) -> str:
    """The list's query string without empty values and defaults, in a stable order, so
    the address bar shows exactly the view and nothing else."""
    pairs: list[tuple[str, str]] = []
    for name in LIST_PARAMS:
        values = [overrides[name]] if name in overrides else params.getlist(name)
        for value in values:
            value = (value or "").strip()
            if value and LIST_DEFAULTS.get(name) != value:
                pairs.append((name, value))
    page = overrides.get("page", params.get("page"))
    if page and str(page) != "1":
        pairs.append(("page", str(page)))
    return urlencode(pairs)


def _list_url(query: str) -> str:
    base = reverse("tasks:list")
    return f"{base}?{query}" if query else base


def _page_number(params: QueryDict) -> int:
    try:
        return max(1, min(int(params.get("page", "1")), 10_000))
    except ValueError:
        return 1


@dataclass
class ListState:
    """The list's view as the filter bar shows it."""

    search: str
    status: str
    priorities: list[str]
    tags: list[str]
    due_after: str
    due_before: str
    overdue: bool
    sort_by: str
    order: str

    @classmethod
    def from_params(cls, params: QueryDict) -> ListState:
        return cls(
            search=params.get("search", ""),
            status=params.get("status") or "pending",
            priorities=params.getlist("priority"),
            tags=[tag for tag in params.getlist("tag") if tag.strip()],
            due_after=params.get("due_after", ""),
            due_before=params.get("due_before", ""),
            overdue=params.get("overdue", "").lower() in {"true", "1", "on", "yes"},
            sort_by=params.get("sort_by", ""),
            order=params.get("order") or "asc",
        )

    @property
    def is_filtered(self) -> bool:
        return bool(
            self.search
            or self.status != "pending"
            or self.sort_by
            or self.order != "asc"
            or self.has_more_filters
        )

    @property
    def has_more_filters(self) -> bool:
        return bool(
            self.priorities or self.tags or self.due_after or self.due_before or self.overdue
        )


def _list_context(request: HttpRequest) -> dict[str, Any]:
    params = request.GET
    page_number = _page_number(params)
    state = ListState.from_params(params)
    errors: list[str] = []
    try:
        page = selectors.task_list(
            user=request.user,  # type: ignore[arg-type]
            params=params,
            limit=PAGE_SIZE,
            offset=(page_number - 1) * PAGE_SIZE,
            default_status="pending",
        )
        items, count = page.items, page.total
    except ValidationError as exc:
        items, count = [], selectors.bounded(0)
        for name, messages_ in exc.message_dict.items():
            label = name.replace("_", " ").capitalize()
            errors += [f"{label}: {message}" for message in messages_]
    now = timezone.now()
    rows = [replace(TaskRow.from_task(task), now=now) for task in items]
    last_page = max(1, -(-count.value // PAGE_SIZE))
    if not count.exact and len(rows) == PAGE_SIZE:
        last_page = max(last_page, page_number + 1)  # past the count's cap: one page more
    query = canonical_query(params)
    known_tags = selectors.tag_counts(user=request.user)  # type: ignore[arg-type]
    known_names = {tag["name"].casefold() for tag in known_tags}
    tag_options = [{"name": tag["name"], "count": tag["count"]} for tag in known_tags] + [
        {"name": name, "count": 0} for name in state.tags if name.casefold() not in known_names
    ]
    selected_tags = {tag.casefold() for tag in state.tags}
    for option in tag_options:
        option["selected"] = option["name"].casefold() in selected_tags
    return {
        "rows": rows,
        "count": count,
        "page_number": page_number,
        "last_page": last_page,
        "first_index": (page_number - 1) * PAGE_SIZE + 1 if rows else 0,
        "last_index": (page_number - 1) * PAGE_SIZE + len(rows),
        "prev_url": _list_url(canonical_query(params, page=page_number - 1))
        if page_number > 1
        else None,
        "next_url": _list_url(canonical_query(params, page=page_number + 1))
        if page_number < last_page
        else None,
        "list_url": _list_url(query),
        "filter_errors": errors,
        "state": state,
        "tag_options": tag_options,
        # New tasks pushed live go to the top of the first page of a list that shows
        # pending tasks; a list of completed tasks or a later page leaves them out.
        "live_insert": page_number == 1 and state.status != "completed",
        "priority_choices": list(reversed(PRIORITY_CHOICES)),
        "status_choices": STATUS_CHOICES,
        "sort_choices": SORT_CHOICES,
        "order_choices": ORDER_CHOICES,
    }


def _row_response(request: HttpRequest, task: Task, *, status: int = 200) -> HttpResponse:
    """The row, plus the header's open-task count out of band."""
    context = {"row": TaskRow.from_task(task), **chrome(request)}
    return render(request, f"{LIST_TEMPLATE}#row-response", context, status=status)


# --- pages --------------------------------------------------------------------------------


@login_required
@require_GET
def task_list(request: HttpRequest) -> HttpResponse:
    context = _list_context(request)
    htmx = request.htmx  # type: ignore[attr-defined]
    if htmx and not htmx.history_restore_request:
        # The filter bar sent this: it already shows the view. A chip or a page link
        # did: refresh the bar too, so it shows the filters now applied.
        context["filters_oob"] = htmx.trigger != "filters"
        response = render(request, f"{LIST_TEMPLATE}#task-results", context)
        current = urlsplit(htmx.current_url or "")
        shown = f"{current.path}?{current.query}" if current.query else current.path
        if shown == context["list_url"]:
            # Same view (a refresh after reconnecting, a repeated search): no new entry
            # in the history, or Back would seem to do nothing.
            return replace_url(response, context["list_url"])
        return push_url(response, context["list_url"])
    return render(
        request, LIST_TEMPLATE, {**context, "quick_add": QuickAddForm(), **chrome(request)}
    )


@login_required
@require_POST
def task_quick_add(request: HttpRequest) -> HttpResponse:
    form = QuickAddForm(request.POST)
    task: Task | None = None
    if form.is_valid():
        try:
            task = services.task_create(user=request.user, data=form.service_data())  # type: ignore[arg-type]
        except ValidationError as exc:
            for message in exc.messages:
                form.add_error("title", message)
    htmx = request.htmx  # type: ignore[attr-defined]
    if task is not None:
        if htmx:
            return _row_response(
                request,
                selectors.task_get(user=request.user, task_id=task.pk),  # type: ignore[arg-type]
                status=201,
            )
        messages.success(request, f"Added “{task.title}”.")
        return redirect(_back(request))
    if htmx:
        response = render(request, f"{LIST_TEMPLATE}#quick-add", {"quick_add": form}, status=422)
        return reswap(retarget(response, "#quick-add"), "outerHTML")
    context = {**_list_context(request), "quick_add": form, **chrome(request)}
    return render(request, LIST_TEMPLATE, context, status=422)


@login_required
@require_http_methods(["GET", "POST"])
def task_create(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = TaskForm(request.POST)
        if form.is_valid():
            try:
                task = services.task_create(
                    user=request.user,  # type: ignore[arg-type]
                    data=form.service_data(for_update=False),
                )
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, f"Created “{task.title}”.")
                return redirect("tasks:list")
    else:
        form = TaskForm()
    return _form_page(request, form, task=None)


@login_required
@require_http_methods(["GET", "POST"])
def task_edit(request: HttpRequest, task_id: int) -> HttpResponse:
    task = _task_or_404(request, task_id)
    if request.method == "POST":
        form = TaskForm(request.POST, initial=TaskForm.initial_for(task))
        if form.is_valid():
            try:
                services.task_update(task=task, data=form.service_data(for_update=True))
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, f"Saved “{form.cleaned_data['title']}”.")
                return redirect("tasks:list")
    else:
        form = TaskForm(initial=TaskForm.initial_for(task))
    return _form_page(request, form, task=task)


def _form_page(request: HttpRequest, form: TaskForm, *, task: Task | None) -> HttpResponse:
    status = 422 if form.is_bound and form.errors else 200
    preview = _preview_for(request, form, task=task)
    context = {"form": form, "task": task, "preview": preview, **chrome(request)}
    return render(request, FORM_TEMPLATE, context, status=status)


@login_required
@require_GET
def recurrence_preview(request: HttpRequest) -> HttpResponse:
    """The editor's summary and next dates, for the choices in the query string."""
    form = RecurrenceForm(request.GET)
    task = None
    if request.GET.get("task"):
        try:
            task = selectors.task_get(user=request.user, task_id=int(request.GET["task"]))  # type: ignore[arg-type]
        except (ValueError, Task.DoesNotExist):
            task = None
    return render(
        request,
        f"{FORM_TEMPLATE}#recurrence-preview",
        {"preview": _preview_for(request, form, task=task)},
    )


@dataclass
class Preview:
    summary: str = ""
    dates: list[datetime] = field(default_factory=list)
    error: str = ""
    repeats: bool = False


def _preview_for(request: HttpRequest, form: RecurrenceForm, *, task: Task | None) -> Preview:
    """describe() and the next dates of the rule the editor currently holds."""
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
        due = task.due_date if task else None
    if not rule:
        return Preview()
    zone = task.timezone if task else getattr(request.user, "timezone", "UTC")
    if due is None:
        return Preview(error="A repeating task needs a due date.", repeats=True)
    series_start = due
    if task is not None and task.recurrence_parent_id and task.series_start:
        series_start = task.series_start
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
    return Preview(summary=rrules.describe(normalized), dates=dates, repeats=True)


@login_required
@require_POST
def task_complete(request: HttpRequest, task_id: int) -> HttpResponse:
    task = services.task_complete(task=_task_or_404(request, task_id))
    return _after_toggle(request, task)


@login_required
@require_POST
def task_reopen(request: HttpRequest, task_id: int) -> HttpResponse:
    task = services.task_reopen(task=_task_or_404(request, task_id))
    return _after_toggle(request, task)


def _after_toggle(request: HttpRequest, task: Task) -> HttpResponse:
    if request.htmx:  # type: ignore[attr-defined]
        return _row_response(request, selectors.task_get(user=request.user, task_id=task.pk))  # type: ignore[arg-type]
    verb = "Completed" if task.completed else "Reopened"
    messages.success(request, f"{verb} “{task.title}”.")
    return redirect(_back(request))


@login_required
@require_http_methods(["GET", "POST"])
def task_delete(request: HttpRequest, task_id: int) -> HttpResponse:
    """GET asks for confirmation (works without JavaScript); POST deletes."""
    task = _task_or_404(request, task_id)
    if request.method == "GET":
        next_url = request.GET.get("next", "")
        if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
            next_url = ""
        return render(
            request,
            "tasks/confirm_delete.html",
            {"task": task, "next": next_url, **chrome(request)},
        )
    title, row = task.title, TaskRow.from_task(task)
    services.task_delete(task=task)
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = ""
    if request.htmx:  # type: ignore[attr-defined]
        if next_url:
            messages.success(request, f"Deleted “{title}”.")
            return HttpResponseClientRedirect(next_url)
        deleted = replace(row, version=row.version + 1)
        context = {
            "row": deleted,
            "toast_kind": "info",
            "toast_text": f"Deleted “{title}”.",
            **chrome(request),
        }
        return render(request, f"{LIST_TEMPLATE}#task-deleted", context)
    messages.success(request, f"Deleted “{title}”.")
    return redirect(next_url or "tasks:list")


@login_required
@require_GET
def task_history(request: HttpRequest, task_id: int) -> HttpResponse:
    task = _task_or_404(request, task_id)
    entries = selectors.task_activity(user=request.user, task_id=task.pk)  # type: ignore[arg-type]
    return render(
        request,
        "tasks/history.html",
        {
            "task": task,
            "row": TaskRow.from_task(task),
            "entries": [HistoryLine.from_entry(entry) for entry in entries[:200]],
            **chrome(request),
        },
    )


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
    "reminder_at": "Reminder",
    "reminder_offset_minutes": "Reminder before due (minutes)",
    "recurrence": "Repeat",
    "timezone": "Time zone",
    "completed": "Done",
}


@dataclass
class HistoryLine:
    label: str
    version: int
    occurred_at: datetime
    changes: list[tuple[str, str]]

    @classmethod
    def from_entry(cls, entry: Any) -> HistoryLine:
        changes = [
            (FIELD_LABELS.get(name, name), _change_text(name, value))
            for name, value in (entry.changes or {}).items()
        ]
        if entry.event_type == "TaskUpdated" and not changes:
            label = "Changed"
        else:
            label = EVENT_LABELS.get(entry.event_type, entry.event_type)
        return cls(
            label=label, version=entry.version, occurred_at=entry.occurred_at, changes=changes
        )


def _change_text(name: str, value: Any) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if name in ("due_date", "reminder_at"):
        try:
            moment = parse_instant(value)
        except ValueError:
            return str(value)
        return f"{timezone.localtime(moment):%Y-%m-%d %H:%M}" if moment else "—"
    if name == "tags" and isinstance(value, list):
        return ", ".join(str(tag) for tag in value)
    if name == "completed":
        return "yes" if value else "no"
    if name == "recurrence":
        try:
            return rrules.describe(str(value))
        except rrules.RecurrenceError:
            return str(value)
    return str(value)
