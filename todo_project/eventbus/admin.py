from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from .models import DeadLetter, OutboxMessage
from .signals import wake_relay


class OutboxStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("pending", "Pending"), ("failed", "Failing"), ("published", "Published")]

    def queryset(self, request, queryset):
        if self.value() == "pending":
            return queryset.filter(published_at=None)
        if self.value() == "failed":
            return queryset.filter(published_at=None, attempts__gt=0)
        if self.value() == "published":
            return queryset.exclude(published_at=None)
        return queryset


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "event_type",
        "topic",
        "partition_key",
        "created_at",
        "published_at",
        "attempts",
        "short_error",
    )
    list_filter = (OutboxStateFilter, "topic", "event_type")
    search_fields = ("=event_id", "=partition_key", "last_error")
    readonly_fields = [f.name for f in OutboxMessage._meta.fields]
    actions = ["retry_now"]

    @admin.display(description="last error")
    def short_error(self, obj: OutboxMessage) -> str:
        return obj.last_error[:80]

    @admin.action(description="Retry selected pending messages now")
    def retry_now(self, request: HttpRequest, queryset: QuerySet[OutboxMessage]) -> None:
        count = queryset.filter(published_at=None).update(next_attempt_at=timezone.now())
        wake_relay()
        self.message_user(request, f"{count} message(s) queued for another attempt.", messages.INFO)

    def has_add_permission(self, request):
        return False


@admin.register(DeadLetter)
class DeadLetterAdmin(admin.ModelAdmin):
    list_display = (
        "created_at",
        "topic",
        "consumer",
        "event_type",
        "event_id",
        "attempts",
        "resolved_at",
    )
    list_filter = ("topic", "consumer", ("resolved_at", admin.EmptyFieldListFilter))
    search_fields = ("=event_id", "error")
    readonly_fields = [f.name for f in DeadLetter._meta.fields if f.name != "resolved_at"]
    actions = ["mark_resolved"]

    @admin.action(description="Mark selected dead letters resolved")
    def mark_resolved(self, request: HttpRequest, queryset: QuerySet[DeadLetter]) -> None:
        count = queryset.filter(resolved_at=None).update(resolved_at=timezone.now())
        self.message_user(request, f"{count} dead letter(s) marked resolved.", messages.INFO)

    def has_add_permission(self, request):
        return False
