"""Reads of webhooks: a user's endpoints and their delivery log, and what the delivery
loop has to send."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from django.db.models import Min, Prefetch, QuerySet

from todo_project.accounts.models import User

from .webhook_models import WebhookAttempt, WebhookDelivery, WebhookEndpoint


def webhook_endpoint_list(*, user: User) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.filter(user=user)


def webhook_endpoint_get(*, user: User, endpoint_id: int) -> WebhookEndpoint:
    """Another user's endpoint does not exist (WebhookEndpoint.DoesNotExist)."""
    return WebhookEndpoint.objects.get(user=user, pk=endpoint_id)


def webhook_delivery_log(*, endpoint: WebhookEndpoint) -> QuerySet[WebhookDelivery]:
    """Newest first, each with its attempts (status code, response time) in order."""
    return endpoint.deliveries.prefetch_related(
        Prefetch("attempts", queryset=WebhookAttempt.objects.order_by("attempted_at", "id"))
    )


def enabled_endpoints(*, user_ids: Collection[int | None]) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.filter(user_id__in=user_ids, disabled_at=None)


def due_deliveries(*, now: datetime) -> QuerySet[WebhookDelivery]:
    return (
        WebhookDelivery.objects.filter(
            status=WebhookDelivery.Status.PENDING,
            next_attempt_at__lte=now,
            endpoint__disabled_at=None,
        )
        .select_related("endpoint")
        .order_by("next_attempt_at", "id")
    )


def next_delivery_at() -> datetime | None:
    """When the earliest pending delivery is due (None: nothing waits)."""
    return WebhookDelivery.objects.filter(status=WebhookDelivery.Status.PENDING).aggregate(
        first=Min("next_attempt_at")
    )["first"]
