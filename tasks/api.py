from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Status
from ninja.errors import HttpError

from todo_project.api_errors import AUTH_ERRORS, MAX_OFFSET, OBJECT_ERRORS, ErrorOut
from todo_project.api_types import NO_NUL

from . import selectors, services, tag_services, undo
from .models import ActivityEntry, Task
from .schemas import (
    ActivityOut,
    OccurrencesOut,
    OrderName,
    PriorityName,
    SnoozeIn,
    SortField,
    StatusName,
    TagFilter,
    TagOut,
    TagPatch,
    TaskListOut,
    TaskOut,
    TaskPatch,
    TaskWrite,
    UndoCompleteIn,
    ViewName,
    write_data,
)

router = Router(tags=["todos"])


def _task(request: HttpRequest, task_id: int, response: HttpResponse | None = None) -> Task:
    task = selectors.task_get(user=request.user, task_id=task_id)  # type: ignore[arg-type]
    if response is not None:
        response["ETag"] = etag(task)
    return task


def etag(task: Task) -> str:
    """A task's entity tag: its version (strong: every change bumps it)."""
    return f'"{task.version}"'


def expected_version(request: HttpRequest) -> frozenset[int] | None:
    """The versions `If-Match` accepts, None without one (or with `*`); a tag that names no
    version of ours can never match (412)."""
    header = request.headers.get("If-Match")
    if header is None or header.strip() == "*":
        return None
    tags = (t.strip() for t in header.split(","))
    return frozenset(int(t[1:-1]) for t in tags if _is_version_tag(t))


def _is_version_tag(tag: str) -> bool:
    return len(tag) > 2 and tag[0] == tag[-1] == '"' and tag[1:-1].isdigit()


#: Changing endpoints answer 412 when If-Match names another version.
PRECONDITION = {412: ErrorOut}


@router.get("/todos", response={200: TaskListOut, **AUTH_ERRORS}, summary="List tasks")
def list_todos(
    request: HttpRequest,
    priority: list[PriorityName] = Query(None, description="Any of these (repeatable)."),
    tag: list[TagFilter] = Query(None, description="All of these tags (repeatable)."),
    search: str | None = Query(
        None, max_length=200, pattern=NO_NUL, description="Words in title/description."
    ),
    status: StatusName = StatusName.ALL,
    due_before: datetime | None = None,
    due_after: datetime | None = None,
    overdue: bool | None = None,
    view: ViewName | None = Query(
        None,
        description="today: open tasks overdue or due today; upcoming: open tasks due in "
        "the next 7 days from today. Days are in your time zone; `status` still applies.",
    ),
    sort_by: SortField | None = Query(None, description="Default: due_date, or relevance."),
    order: OrderName | None = Query(
        None, description="Default: desc (most urgent first) for sort_by=priority, else asc."
    ),
    limit: int = Query(50, ge=1, le=200),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
) -> selectors.TaskPage:
    """Tasks without a due date sort last in both orders; ties break by id."""
    return selectors.task_list(
        user=request.user,  # type: ignore[arg-type]
        params=request.GET,
        limit=limit,
        offset=offset,
    )


@router.post("/todos", response={201: TaskOut, **AUTH_ERRORS}, summary="Create a task")
def create_todo(request: HttpRequest, body: TaskWrite) -> Status[Task]:
    task = services.task_create(user=request.user, data=write_data(body, partial=False))  # type: ignore[arg-type]
    return Status(201, selectors.task_get(user=request.user, task_id=task.pk))  # type: ignore[arg-type]


@router.get("/todos/{task_id}", response={200: TaskOut, **OBJECT_ERRORS}, summary="Read a task")
def read_todo(request: HttpRequest, task_id: int, response: HttpResponse) -> Task:
    """With an `ETag` (the version): send it back in `If-Match` to change or delete the
    task only if nobody else changed it meanwhile."""
    return _task(request, task_id, response)


@router.patch(
    "/todos/{task_id}",
    response={200: TaskOut, **OBJECT_ERRORS, **PRECONDITION},
    summary="Change some fields",
)
def patch_todo(request: HttpRequest, task_id: int, body: TaskPatch, response: HttpResponse) -> Task:
    services.task_update(
        task=_task(request, task_id),
        data=write_data(body, partial=True),
        expected_version=expected_version(request),
    )
    return _task(request, task_id, response)


@router.put(
    "/todos/{task_id}",
    response={200: TaskOut, **OBJECT_ERRORS, **PRECONDITION},
    summary="Replace a task's fields",
)
def put_todo(request: HttpRequest, task_id: int, body: TaskWrite, response: HttpResponse) -> Task:
    task = _task(request, task_id)
    data = write_data(body, partial=False)
    data.setdefault("timezone", task.timezone)
    services.task_update(task=task, data=data, expected_version=expected_version(request))
    return _task(request, task_id, response)


@router.delete(
    "/todos/{task_id}",
    response={204: None, **OBJECT_ERRORS, **PRECONDITION},
    summary="Delete a task",
)
def delete_todo(request: HttpRequest, task_id: int) -> Status[None]:
    services.task_delete(task=_task(request, task_id), expected_version=expected_version(request))
    return Status(204, None)


@router.post(
    "/todos/{task_id}/complete", response={200: TaskOut, **OBJECT_ERRORS}, summary="Complete a task"
)
def complete_todo(request: HttpRequest, task_id: int, response: HttpResponse) -> Task:
    services.task_complete(task=_task(request, task_id))
    return _task(request, task_id, response)


@router.post(
    "/todos/{task_id}/reopen", response={200: TaskOut, **OBJECT_ERRORS}, summary="Reopen a task"
)
def reopen_todo(request: HttpRequest, task_id: int, response: HttpResponse) -> Task:
    services.task_reopen(task=_task(request, task_id))
    return _task(request, task_id, response)


#: An undo that is no longer possible: the task changed since, or it is too late.
UNDO_REFUSED = {409: ErrorOut}


@router.post(
    "/todos/{task_id}/undo-complete",
    response={200: TaskOut, **OBJECT_ERRORS, **UNDO_REFUSED},
    summary="Undo a completion",
)
def undo_complete_todo(
    request: HttpRequest, task_id: int, body: UndoCompleteIn, response: HttpResponse
) -> Task:
    """Reopen a task completed less than 10 minutes ago, if it is still at the `version`
    the completion returned (409 otherwise). If completing a repeating task created its
    next instance and nobody has changed that instance, it is deleted again; a changed one
    is kept."""
    try:
        undo.task_undo_complete(task=_task(request, task_id), version=body.version)
    except undo.UndoUnavailable as exc:
        raise HttpError(409, str(exc)) from None
    return _task(request, task_id, response)


@router.post(
    "/todos/{task_id}/restore",
    response={201: TaskOut, **OBJECT_ERRORS, **UNDO_REFUSED},
    summary="Undo a deletion",
)
def restore_todo(request: HttpRequest, task_id: int) -> Status[Task]:
    """Bring back a task deleted less than 10 minutes ago, under its old id, with its
    tags, reminder, repeat, completion and history. 404 for a task that was not deleted
    (or not yours), 409 when it is too late."""
    try:
        task = undo.task_restore(user=request.user, task_id=task_id)  # type: ignore[arg-type]
    except undo.UndoUnavailable as exc:
        raise HttpError(409, str(exc)) from None
    return Status(201, selectors.task_get(user=request.user, task_id=task.pk))  # type: ignore[arg-type]


@router.post(
    "/todos/{task_id}/snooze",
    response={200: TaskOut, **OBJECT_ERRORS},
    summary="Snooze the reminder",
)
def snooze_todo(request: HttpRequest, task_id: int, body: SnoozeIn, response: HttpResponse) -> Task:
    """Move the task's next reminder: it fires once at the new time, not at the old one.
    A reminder before the due date keeps its offset for the series' next instances."""
    task = _task(request, task_id)
    if (body.snooze is None) == (body.until is None):
        raise ValidationError({"snooze": "Give either snooze or until."})
    until = body.until or services.snooze_until(str(body.snooze), user=request.user)  # type: ignore[arg-type]
    services.task_snooze_reminder(task=task, until=until)
    return _task(request, task_id, response)


@router.get(
    "/todos/{task_id}/activity",
    response={200: list[ActivityOut], **OBJECT_ERRORS},
    summary="Task history",
)
def todo_activity(request: HttpRequest, task_id: int) -> list[ActivityEntry]:
    """Newest first: who changed what, and when, as recorded by the task-events consumer."""
    entries = selectors.task_activity(user=request.user, task_id=task_id)  # type: ignore[arg-type]
    return list(entries.select_related("user")[:500])


@router.get(
    "/todos/{task_id}/occurrences",
    response={200: OccurrencesOut, **OBJECT_ERRORS},
    summary="Upcoming occurrences",
)
def todo_occurrences(
    request: HttpRequest, task_id: int, limit: int = Query(5, ge=1, le=100)
) -> dict[str, object]:
    """The next due dates of a recurring task's series, after this instance and now."""
    task = _task(request, task_id)
    return {
        "summary": task.recurrence_summary,
        "occurrences": selectors.task_upcoming_occurrences(task=task, limit=limit),
    }


@router.get(
    "/tags", response={200: list[TagOut], **AUTH_ERRORS}, summary="Your tags with task counts"
)
def list_tags(
    request: HttpRequest,
    include_unused: bool = Query(False, description="Also the tags no task carries now."),
) -> list[dict[str, object]]:
    return selectors.tag_counts(user=request.user, include_unused=include_unused)  # type: ignore[arg-type]


def _tag_out(request: HttpRequest, tag_id: int) -> dict[str, object]:
    rows = selectors.tag_counts(user=request.user, include_unused=True)  # type: ignore[arg-type]
    return next(row for row in rows if row["id"] == tag_id)


@router.patch(
    "/tags/{tag_id}",
    response={200: TagOut, **OBJECT_ERRORS, 409: ErrorOut},
    summary="Rename, merge or colour a tag",
)
def patch_tag(request: HttpRequest, tag_id: int, body: TagPatch) -> dict[str, object]:
    """Every task that carries the tag gets a new version and a TaskUpdated event (tags
    changed). After a merge the answer is the tag merged into (another id)."""
    tag = selectors.tag_get(user=request.user, tag_id=tag_id)  # type: ignore[arg-type]
    sent = body.model_dump(exclude_unset=True)
    try:
        change = tag_services.tag_update(
            tag=tag, name=sent.get("name"), colour=sent.get("colour"), merge=body.merge
        )
    except tag_services.TagExists as exc:
        raise HttpError(
            409,
            f"A tag named “{exc.existing.name}” exists: send merge: true to merge "
            f"“{tag.name}” into it.",
        ) from None
    return _tag_out(request, change.tag.pk)


@router.delete("/tags/{tag_id}", response={204: None, **OBJECT_ERRORS}, summary="Delete a tag")
def delete_tag(request: HttpRequest, tag_id: int) -> Status[None]:
    """Takes the tag off its tasks (each gets a TaskUpdated event); the tasks stay."""
    tag_services.tag_delete(tag=selectors.tag_get(user=request.user, tag_id=tag_id))  # type: ignore[arg-type]
    return Status(204, None)
