from __future__ import annotations

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from tasks.services import Snooze
from todo_project.api_errors import AUTH_ERRORS, MAX_OFFSET, OBJECT_ERRORS
from todo_project.api_types import Instant

from . import selectors, services
from .models import Notification

router = Router(tags=["notifications"])


class NotificationOut(Schema):
    id: int
    kind: str
    message: str
    task_id: int | None
    reminder_at: Instant | None
    due_date: Instant | None
    created_at: Instant
    read_at: Instant | None


class NotificationListOut(Schema):
    items: list[NotificationOut]
    count: int
    unread: int
    limit: int
    offset: int


class UnreadOut(Schema):
    unread: int


class MarkedOut(Schema):
    marked: int


@router.get(
    "/notifications",
    response={200: NotificationListOut, **AUTH_ERRORS},
    summary="Your notifications",
)
def list_notifications(
    request: HttpRequest,
    unread: bool = False,
    limit: int = Query(50, ge=1, le=200),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
) -> dict[str, object]:
    """Newest first; `unread=true` keeps only unread ones."""
    queryset = selectors.notification_list(user=request.user, unread_only=unread)  # type: ignore[arg-type]
    return {
        "items": list(queryset[offset : offset + limit]),
        "count": queryset.count(),
        "unread": selectors.unread_count(user=request.user),  # type: ignore[arg-type]
        "limit": limit,
        "offset": offset,
    }


@router.get(
    "/notifications/unread-count", response={200: UnreadOut, **AUTH_ERRORS}, summary="Unread count"
)
def notifications_unread_count(request: HttpRequest) -> dict[str, int]:
    return {"unread": selectors.unread_count(user=request.user)}  # type: ignore[arg-type]


@router.post(
    "/notifications/read-all", response={200: MarkedOut, **AUTH_ERRORS}, summary="Mark all read"
)
def notifications_read_all(request: HttpRequest) -> dict[str, int]:
    return {"marked": services.notification_mark_all_read(user=request.user)}  # type: ignore[arg-type]


@router.post(
    "/notifications/{notification_id}/read",
    response={200: NotificationOut, **OBJECT_ERRORS},
    summary="Mark read",
)
def notification_read(request: HttpRequest, notification_id: int) -> Notification:
    notification = selectors.notification_get(user=request.user, notification_id=notification_id)  # type: ignore[arg-type]
    return services.notification_mark_read(notification=notification)


class NotificationSnoozeIn(Schema):
    snooze: Snooze = Field(
        ..., description="10m, 1h, or tomorrow (your morning hour tomorrow, in your zone)."
    )


@router.post(
    "/notifications/{notification_id}/snooze",
    response={200: NotificationOut, **OBJECT_ERRORS},
    summary="Snooze the reminder and mark it read",
)
def notification_snooze(
    request: HttpRequest, notification_id: int, body: NotificationSnoozeIn
) -> Notification:
    """The reminder's task reminds again at the chosen time (see POST /todos/{id}/snooze)."""
    notification = selectors.notification_get(user=request.user, notification_id=notification_id)  # type: ignore[arg-type]
    notification, _ = services.notification_snooze(notification=notification, choice=body.snooze)
    return notification
