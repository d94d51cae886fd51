from __future__ import annotations

from typing import TypedDict

from django.db.models import Count, Min
from django.utils import timezone

from .models import DeadLetter, OutboxMessage


class OutboxStats(TypedDict):
    backlog: int
    failing: int
    oldest_age_seconds: float | None
    dead_letters: int


def outbox_stats() -> OutboxStats:
    pending = OutboxMessage.objects.filter(published_at=None).aggregate(
        backlog=Count("id"), oldest=Min("created_at")
    )
    oldest = pending["oldest"]
    return {
        "backlog": pending["backlog"],
        "failing": OutboxMessage.objects.filter(published_at=None, attempts__gt=0).count(),
        "oldest_age_seconds": (timezone.now() - oldest).total_seconds() if oldest else None,
        "dead_letters": DeadLetter.objects.filter(resolved_at=None).count(),
    }
