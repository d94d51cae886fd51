from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from todo_project.eventbus.models import OutboxMessage, ProcessedEvent


class Command(BaseCommand):
    help = (
        "Delete published outbox rows (and embedded-mode deduplication rows) older than the "
        "retention period. Pending rows are never deleted."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--days",
            type=int,
            default=settings.OUTBOX_RETENTION_DAYS,
            help="Retention in days (default: OUTBOX_RETENTION_DAYS).",
        )

    def handle(self, *args: Any, days: int, **options: Any) -> None:
        if days < 1:
            self.stderr.write("--days must be at least 1")
            raise SystemExit(2)
        cutoff = timezone.now() - timedelta(days=days)
        outbox, _ = OutboxMessage.objects.filter(published_at__lt=cutoff).delete()
        # Deduplication must outlive any redelivery; published long ago means none is coming.
        processed, _ = ProcessedEvent.objects.filter(processed_at__lt=cutoff).delete()
        self.stdout.write(
            f"deleted {outbox} published outbox rows and {processed} processed-event marks "
            f"older than {days} days"
        )
