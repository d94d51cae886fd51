"""What the inbox and the live pushes show of a notification, from a row or an event."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from todo_project.eventbus.envelope import parse_instant

from .models import Notification

INBOX_TEMPLATE = "notifications/inbox.html"


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

    @property
    def can_snooze(self) -> bool:
        return self.kind == Notification.Kind.REMINDER and self.task_id is not None

    @property
    def snooze_choices(self) -> list[tuple[str, str]]:
        from tasks.services import Snooze

        return list(Snooze.choices)
