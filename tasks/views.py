"""Browser pages for tasks. Thin: parse input, call one service or selector, render.

Every fragment is a partial of the page's own template (`tasks/list.html#task-row`, ...);
htmx requests get the partial, and the live-update pusher renders the same partials from
event payloads (realtime.rendering).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
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

from todo_project.views import chrome

from . import live, presenters, selectors, services, undo_views
from .filters import ListStatus
from .forms import QuickAddForm, RecurrenceForm, TaskForm
from .models import Task
from .presenters import FORM_TEMPLATE, LIST_TEMPLATE, HistoryLine, TaskRow

PAGE_SIZE = presenters.LIST_PAGE_SIZE


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


def _list_context(request: HttpRequest) -> dict[str, Any]:
    params = request.GET
    page_number = presenters.page_number_of(params)
    filters = selectors.task_filterset(
        user=request.user,  # type: ignore[arg-type]
        params=params,
        default_status=ListStatus.PENDING,
    )
    errors: list[str] = []
    try:
        page = selectors.task_list(
            user=request.user,  # type: ignore[arg-type]
            filters=filters,
            limit=PAGE_SIZE,
            offset=(page_number - 1) * PAGE_SIZE,
        )
        if not page.items and page_number > 1:
            # Past the end (?page=999, or the last page emptied since): the last page.
            page_number = presenters.last_page_for(page.total, page_size=PAGE_SIZE)
            if page_number > 1 or page.total:
                page = selectors.task_list(
                    user=request.user,  # type: ignore[arg-type]
                    filters=filters,
                    limit=PAGE_SIZE,
                    offset=(page_number - 1) * PAGE_SIZE,
                )
        items, count = page.items, page.total
    except ValidationError as exc:
        items, count = [], selectors.bounded(0)
        errors = presenters.filter_errors(exc.message_dict)
    return presenters.list_context(
        params=params,
        filters=filters,
        items=items,
        count=count,
        errors=errors,
        page_number=page_number,
        page_size=PAGE_SIZE,
        known_tags=selectors.tag_counts(user=request.user),  # type: ignore[arg-type]
    )


def _row_response(request: HttpRequest, task: Task, *, status: int = 200) -> HttpResponse:
    """The row, plus the header's open-task count out of band."""
    colours = selectors.tag_colours(user=request.user)  # type: ignore[arg-type]
    context = {"row": TaskRow.from_task(task, tag_colours=colours), **chrome(request)}
    return render(request, f"{LIST_TEMPLATE}#row-response", context, status=status)


def _added_response(request: HttpRequest, task: Task) -> HttpResponse:
    """Quick add's answer to the tab that added: the row where the tab's view has it (the
    rule of the live pushes, tasks.live), else a toast with a link to the task."""
    view = live.ListView.from_url(request.htmx.current_url or "")  # type: ignore[attr-defined]
    if view is None:
        return _row_response(request, task, status=201)
    colours = selectors.tag_colours(user=request.user)  # type: ignore[arg-type]
    row = TaskRow.from_task(task, tag_colours=colours)
    update = live.view_update(
        user=request.user,  # type: ignore[arg-type]
        view=view,
        row=row,
        tag_colours=colours,
    )
    if update.shows(task.pk):
        context = {**live.view_context(update), **chrome(request)}
        response = render(request, f"{LIST_TEMPLATE}#added-here", context, status=201)
    else:
        context = {
            "toast_kind": "success",
            "toast_text": f"Added: {task.title}",
            "toast_url": reverse("tasks:edit", args=[task.pk]),
            "toast_link": "Open task",
            **chrome(request),
        }
        response = render(request, f"{LIST_TEMPLATE}#added-elsewhere", context, status=201)
    return reswap(response, "none")


# --- pages --------------------------------------------------------------------------------


@login_required
@require_GET
def task_list(request: HttpRequest) -> HttpResponse:
    context = _list_context(request)
    htmx = request.htmx  # type: ignore[attr-defined]
    if not htmx and context["page_number"] != presenters.page_number_of(request.GET):
        return redirect(context["list_url"])  # a page past the end: the address says which
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
    form = QuickAddForm(request.POST, user=request.user)
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
            return _added_response(
                request,
                selectors.task_get(user=request.user, task_id=task.pk),  # type: ignore[arg-type]
            )
        messages.success(request, f"Added “{task.title}”.")
        return redirect(_back(request))
    if htmx:
        response = render(request, f"{LIST_TEMPLATE}#quick-add", {"quick_add": form}, status=422)
        return reswap(retarget(response, "#quick-add"), "outerHTML")
    context = {**_list_context(request), "quick_add": form, **chrome(request)}
    return render(request, LIST_TEMPLATE, context, status=422)


@login_required
@require_GET
def quick_add_parse(request: HttpRequest) -> JsonResponse:
    """What quick add would read from `title` (with `keep`, `accept`, `literal`): the
    recognised phrases and the fields they set, for the highlight as you type."""
    form = QuickAddForm(request.GET, user=request.user)
    form.is_valid()
    return JsonResponse(presenters.quick_add_preview(form, now=timezone.now()))


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


def _preview_for(
    request: HttpRequest, form: RecurrenceForm, *, task: Task | None
) -> presenters.Preview:
    zone = getattr(request.user, "timezone", "UTC")
    return presenters.recurrence_preview(form, task=task, zone=zone)


@login_required
@require_POST
def task_complete(request: HttpRequest, task_id: int) -> HttpResponse:
    before = _task_or_404(request, task_id)
    task = services.task_complete(task=before)
    # Undo is offered for this request's own completion, not for one it found done.
    offer = undo_views.completion_offer(task) if task.version != before.version else None
    return _after_toggle(request, task, offer=offer)


@login_required
@require_POST
def task_reopen(request: HttpRequest, task_id: int) -> HttpResponse:
    task = services.task_reopen(task=_task_or_404(request, task_id))
    return _after_toggle(request, task)


def _after_toggle(
    request: HttpRequest, task: Task, *, offer: dict[str, Any] | None = None
) -> HttpResponse:
    if request.htmx:  # type: ignore[attr-defined]
        response = _row_response(request, selectors.task_get(user=request.user, task_id=task.pk))  # type: ignore[arg-type]
        if offer is not None:
            response.content += undo_views.undo_toast(request, offer).encode()
        return response
    if offer is not None:
        undo_views.offer_undo(request, offer)  # its toast says "Completed …"
    else:
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
    offer = undo_views.deletion_offer(task_id=row.id, title=title)
    if request.htmx:  # type: ignore[attr-defined]
        if next_url:
            undo_views.offer_undo(request, offer)
            return HttpResponseClientRedirect(next_url)
        deleted = replace(row, version=row.version + 1)
        context = {"row": deleted, **chrome(request)}
        response = render(request, f"{LIST_TEMPLATE}#task-deleted", context)
        response.content += undo_views.undo_toast(request, offer).encode()
        return response
    undo_views.offer_undo(request, offer)  # its toast says "Deleted …"
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
