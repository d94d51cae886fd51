from django.contrib import admin

from .models import ActivityEntry, Tag, Task


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = (
        "title",
        "user",
        "priority",
        "due_date",
        "completed",
        "recurrence",
        "version",
        "updated_at",
    )
    list_filter = ("priority", "completed", ("tags", admin.RelatedOnlyFieldListFilter))
    search_fields = ("title", "description", "user__username")
    readonly_fields = ("version", "created_at", "updated_at", "series_id", "series_start")
    raw_id_fields = ("user", "recurrence_parent")
    filter_horizontal = ("tags",)
    date_hierarchy = "due_date"
    list_select_related = ("user",)


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ("name", "user")
    search_fields = ("name", "user__username")
    raw_id_fields = ("user",)


@admin.register(ActivityEntry)
class ActivityEntryAdmin(admin.ModelAdmin):
    list_display = ("task_id", "event_type", "title", "user", "version", "occurred_at")
    list_filter = ("event_type",)
    search_fields = ("title", "user__username", "=task_id", "=event_id")
    readonly_fields = [f.name for f in ActivityEntry._meta.fields]
    date_hierarchy = "occurred_at"

    def has_add_permission(self, request):  # history is written by the consumer only
        return False

    def has_change_permission(self, request, obj=None):
        return False
