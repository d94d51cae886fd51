from __future__ import annotations

from django.db.models import QuerySet

from todo_project.accounts.models import User

from .models import Notification


def notification_list(*, user: User, unread_only: bool = False) -> QuerySet[Notification]:
    queryset = Notification.objects.filter(user=user)
    return queryset.filter(read_at=None) if unread_only else queryset


def notification_get(*, user: User, notification_id: int) -> Notification:
    return Notification.objects.get(user=user, pk=notification_id)


def unread_count(*, user: User) -> int:
    return Notification.objects.filter(user=user, read_at=None).count()


def notification_items(*, user: User, ids: list[int]) -> QuerySet[Notification]:
    """The user's notifications among `ids` (another user's ids find nothing)."""
    return Notification.objects.filter(user=user, pk__in=ids)
