from django.contrib import admin

from .models import Notification


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("message", "user", "kind", "reminder_at", "created_at", "read_at")
    list_filter = ("kind", ("read_at", admin.EmptyFieldListFilter))
    search_fields = ("message", "user__username")
    readonly_fields = ("created_at",)
    raw_id_fields = ("user", "task")
    date_hierarchy = "created_at"


from . import webhook_admin, webpush_admin  # noqa: E402, F401  (register their models)
