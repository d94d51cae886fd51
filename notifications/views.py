"""The notification inbox. Its item partial is also what the live pusher inserts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from todo_project.eventbus.envelope import parse_instant
from todo_project.views import chrome

from . import selectors, services
from .models import Notification

INBOX_TEMPLATE = "notifications/inbox.html"
PAGE_SIZE = 50


@dataclass(frozen=True)
class NotificationItem:
    """One inbox line, from a Notification row or a NotificationCreated payload."""

    id: int
    kind: str
    message: str
    task_id: int | None
    reminder_at: datetime | None
    due_date: datetime | None
    created_at: datetime | None
    is_read: bool

    @classmethod
    def from_notification(cls, notification: Notification) -> NotificationItem:
        return cls(
            id=notification.pk,
            kind=notification.kind,
            message=notification.message,
            task_id=notification.task_id,
            reminder_at=notification.reminder_at,
            due_date=notification.due_date,
            created_at=notification.created_at,
            is_read=notification.read_at is not None,
        )

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> NotificationItem:
        return cls(
            id=int(payload["notification_id"]),
            kind=str(payload.get("kind") or Notification.Kind.REMINDER),
            message=str(payload.get("message") or ""),
            task_id=int(payload["task_id"]) if payload.get("task_id") else None,
            reminder_at=parse_instant(payload.get("reminder_at")),
            due_date=parse_instant(payload.get("due_date")),
            created_at=parse_instant(payload.get("created_at")),
            is_read=False,
        )

    @property
    def dom_id(self) -> str:
        return f"notification-{self.id}"


def _page(request: HttpRequest) -> int:
    try:
        return max(1, int(request.GET.get("page", "1")))
    except ValueError:
        return 1


def _inbox_context(request: HttpRequest) -> dict[str, Any]:
    page = _page(request)
    queryset = selectors.notification_list(user=request.user)  # type: ignore[arg-type]
    total = queryset.count()
    offset = (page - 1) * PAGE_SIZE
    items = [NotificationItem.from_notification(n) for n in queryset[offset : offset + PAGE_SIZE]]
    return {
        "items": items,
        "total": total,
        "page_number": page,
        "has_prev": page > 1,
        "has_next": offset + PAGE_SIZE < total,
        "nav": "inbox",
        **chrome(request),
    }


@login_required
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    return render(request, INBOX_TEMPLATE, _inbox_context(request))


@login_required
@require_POST
def mark_read(request: HttpRequest, notification_id: int) -> HttpResponse:
    try:
        notification = selectors.notification_get(
            user=request.user,  # type: ignore[arg-type]
            notification_id=notification_id,
        )
    except Notification.DoesNotExist:
        raise Http404("No such notification.") from None
    notification = services.notification_mark_read(notification=notification)
    if request.htmx:  # type: ignore[attr-defined]
        context = {"item": NotificationItem.from_notification(notification), **chrome(request)}
        return render(request, f"{INBOX_TEMPLATE}#item-response", context)
    return redirect("notifications:inbox")


@login_required
@require_POST
def mark_all_read(request: HttpRequest) -> HttpResponse:
    marked = services.notification_mark_all_read(user=request.user)  # type: ignore[arg-type]
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, f"{INBOX_TEMPLATE}#inbox-list-response", _inbox_context(request))
    if marked:
        messages.success(request, f"Marked {marked} notification{'s' if marked != 1 else ''} read.")
    return redirect("notifications:inbox")
