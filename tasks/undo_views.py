"""Undo from the toast: the offer a completion or deletion leaves, and the two endpoints
that take it up. Works without JavaScript: the offer is kept in the session for the page
the form returns to (tasks.context_processors.undo_offer), whose toast holds the form.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_POST

from todo_project.views import chrome

from . import (  # views imports this module: its helpers are read at call time
    live,
    selectors,
    undo,
    views,
)
from .context_processors import UNDO_SESSION_KEY
from .models import DeletedTask, Task
from .presenters import TaskRow

UNDO_TEMPLATE = "tasks/undo.html"


def completion_offer(task: Task) -> dict[str, Any]:
    return {
        "text": f"Completed “{task.title}”.",
        "what": f"completing “{task.title}”",
        "url": reverse("tasks:undo_complete", args=[task.pk]),
        "version": task.version,
    }


def deletion_offer(*, task_id: int, title: str) -> dict[str, Any]:
    return {
        "text": f"Deleted “{title}”.",
        "what": f"deleting “{title}”",
        "url": reverse("tasks:restore", args=[task_id]),
        "version": None,
    }


def offer_undo(request: HttpRequest, offer: dict[str, Any]) -> None:
    """For the page a form without JavaScript redirects to."""
    request.session[UNDO_SESSION_KEY] = offer


def undo_toast(request: HttpRequest, offer: dict[str, Any]) -> str:
    """The toast with the Undo form, out of band, for an htmx response."""
    return render_to_string(f"{UNDO_TEMPLATE}#undo-toast-oob", {"undo": offer}, request=request)


def _refused(request: HttpRequest, message: str, *, status: int = 409) -> HttpResponse:
    if request.htmx:  # type: ignore[attr-defined]
        # app.js shows a plain-text error body as the toast's message.
        return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")
    messages.error(request, message)
    return redirect(views._back(request))


def _live(request: HttpRequest, task: Task, toast: str) -> str:
    """The answer to an htmx undo: the task's row where this tab's view has it (the rule of
    the live pushes, tasks.live: a reopened task comes back to an open list, a restored one
    to its place), the header's count and the toast. Other tabs follow by their pushes."""
    context = {"toast_kind": "info", "toast_text": toast, **chrome(request)}
    html: str = render_to_string("base.html#nav-counts", context, request=request)
    view = live.ListView.from_url(request.htmx.current_url or "")  # type: ignore[attr-defined]
    if view is not None:
        colours = selectors.tag_colours(user=request.user)  # type: ignore[arg-type]
        update = live.view_update(
            user=request.user,  # type: ignore[arg-type]
            view=view,
            row=TaskRow.from_task(task, tag_colours=colours),
            tag_colours=colours,
        )
        html += live.render_view_update(update)
    if toast:
        html += render_to_string(f"{UNDO_TEMPLATE}#toast-oob", context, request=request)
    return html


@login_required
@require_POST
def task_undo_complete(request: HttpRequest, task_id: int) -> HttpResponse:
    task = views._task_or_404(request, task_id)
    try:
        version = int(request.POST.get("version", ""))
    except ValueError:
        return _refused(request, "Undo needs the version the task was completed at.", status=400)
    try:
        result = undo.task_undo_complete(task=task, version=version)
    except undo.UndoUnavailable as exc:
        return _refused(request, str(exc))
    text = f"Reopened “{result.task.title}”."
    if result.kept_successor is not None:
        text += " Its next repeat was changed meanwhile, so it stays."
    if not request.htmx:  # type: ignore[attr-defined]
        messages.success(request, text)
        return redirect(views._back(request))
    # A removed next repeat is not in the view's order any more: the page drops its row.
    return HttpResponse(_live(request, result.task, text))


@login_required
@require_POST
def task_restore(request: HttpRequest, task_id: int) -> HttpResponse:
    try:
        task = undo.task_restore(user=request.user, task_id=task_id)  # type: ignore[arg-type]
    except DeletedTask.DoesNotExist:
        raise Http404("No deleted task to restore.") from None
    except undo.UndoUnavailable as exc:
        return _refused(request, str(exc))
    text = f"Restored “{task.title}”."
    if not request.htmx:  # type: ignore[attr-defined]
        messages.success(request, text)
        return redirect(views._back(request))
    return HttpResponse(_live(request, views._task_or_404(request, task.pk), text))
