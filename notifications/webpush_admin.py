from __future__ import annotations

from django.contrib import admin

from .webpush_models import PushDelivery, PushSubscription


@admin.register(PushSubscription)
class PushSubscriptionAdmin(admin.ModelAdmin):
    list_display = ("user", "endpoint_host", "user_agent", "created_at", "last_success_at")
    search_fields = ("user__username", "endpoint", "user_agent")
    readonly_fields = ("created_at", "last_success_at")
    raw_id_fields = ("user",)

    @admin.display(description="push service")
    def endpoint_host(self, obj: PushSubscription) -> str:
        return obj.endpoint.split("/")[2] if obj.endpoint.count("/") >= 2 else obj.endpoint


@admin.register(PushDelivery)
class PushDeliveryAdmin(admin.ModelAdmin):
    list_display = (
        "notification",
        "subscription",
        "status",
        "attempts",
        "last_status_code",
        "next_attempt_at",
        "sent_at",
    )
    list_filter = ("status", "last_status_code")
    search_fields = ("notification__message", "subscription__user__username")
    readonly_fields = ("created_at", "sent_at", "attempts", "last_status_code", "last_error")
    raw_id_fields = ("subscription", "notification")
    date_hierarchy = "created_at"
