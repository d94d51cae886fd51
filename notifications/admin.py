from django.contrib import admin

from .models import EmailDelivery, Notification


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("message", "user", "kind", "reminder_at", "created_at", "read_at")
    list_filter = ("kind", ("read_at", admin.EmptyFieldListFilter))
    search_fields = ("message", "user__username")
    readonly_fields = ("created_at",)
    raw_id_fields = ("user", "task")
    date_hierarchy = "created_at"


@admin.register(EmailDelivery)
class EmailDeliveryAdmin(admin.ModelAdmin):
    """Operators see which reminders went out, which are retrying and why."""

    list_display = ("recipient", "status", "attempts", "next_attempt_at", "sent_at", "created_at")
    list_filter = ("status",)
    search_fields = ("recipient", "notification__message")
    readonly_fields = ("created_at", "sent_at", "message_id", "last_error")
    raw_id_fields = ("notification",)


from . import webhook_admin, webpush_admin  # noqa: E402, F401  (register their models)
