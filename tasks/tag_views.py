"""The tags page: rename, merge, delete and colour a user's tags. Plain forms (no
JavaScript needed); a rename to another tag's name asks before it merges."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from todo_project.views import chrome

from . import selectors, tag_services
from .models import Tag, TagColour
from .presenters import tag_sort_key

TAGS_TEMPLATE = "tasks/tags.html"


def _tag_or_404(request: HttpRequest, tag_id: int) -> Tag:
    try:
        return selectors.tag_get(user=request.user, tag_id=tag_id)  # type: ignore[arg-type]
    except Tag.DoesNotExist:
        raise Http404("No such tag.") from None


def _page(
    request: HttpRequest,
    *,
    status: int = 200,
    refused: tuple[int, str, list[str]] | None = None,
    **extra: Any,
) -> HttpResponse:
    """The page; `refused` = (tag id, the name as typed, its errors) for a bad rename."""
    tags = selectors.tag_counts(user=request.user, include_unused=True)  # type: ignore[arg-type]
    for tag in tags:
        tag["value"], tag["errors"] = tag["name"], []
        if refused is not None and refused[0] == tag["id"]:
            tag["value"], tag["errors"] = refused[1], refused[2]
    context = {
        "tags": sorted(tags, key=lambda tag: tag_sort_key(tag["name"])),
        "colour_choices": TagColour.choices,
        "nav": "tags",
        **extra,
        **chrome(request),
    }
    return render(request, TAGS_TEMPLATE, context, status=status)


def _tasks(count: int) -> str:
    return f"{count} task{'s' if count != 1 else ''}"


@login_required
@require_GET
def tag_list(request: HttpRequest) -> HttpResponse:
    return _page(request)


@login_required
@require_POST
def tag_update(request: HttpRequest, tag_id: int) -> HttpResponse:
    tag = _tag_or_404(request, tag_id)
    old_name = tag.name
    name = request.POST.get("name")
    colour = request.POST.get("colour")
    try:
        change = tag_services.tag_update(
            tag=tag, name=name, colour=colour, merge=request.POST.get("merge") == "1"
        )
    except tag_services.TagExists as exc:
        offer = {"source": tag, "target": exc.existing, "name": name, "colour": colour or ""}
        return _page(request, merge_offer=offer)
    except ValidationError as exc:
        errors = [message for messages_ in exc.message_dict.values() for message in messages_]
        return _page(request, status=422, refused=(tag.pk, name or "", errors))
    if change.merged:
        text = f"Merged “{old_name}” into “{change.tag.name}” ({_tasks(change.tasks)} changed)."
    elif change.tag.name != old_name:
        text = f"Renamed “{old_name}” to “{change.tag.name}” ({_tasks(change.tasks)} changed)."
    else:
        text = f"Saved “{change.tag.name}”."
    messages.success(request, text)
    return redirect("tasks:tags")


@login_required
@require_http_methods(["GET", "POST"])
def tag_delete(request: HttpRequest, tag_id: int) -> HttpResponse:
    """GET asks for confirmation; POST takes the tag off its tasks and deletes it."""
    tag = _tag_or_404(request, tag_id)
    if request.method == "GET":
        count = tag.tasks.count()
        context = {"tag": tag, "count": count, "nav": "tags", **chrome(request)}
        return render(request, "tasks/confirm_tag_delete.html", context)
    count = tag_services.tag_delete(tag=tag)
    messages.success(request, f"Deleted the tag “{tag.name}” ({_tasks(count)} changed).")
    return redirect("tasks:tags")
