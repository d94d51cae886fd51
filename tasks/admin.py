"""The admin edits tasks through the services, as the API and the pages do: every change
bumps the version and writes its events (activity, reminder job, live push)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from . import services, tag_services
from .models import ActivityEntry, Priority, Tag, Task

#: Shown, never edited: the services derive them.
SET_BY_THE_SERVICES = (
    "completed_at",
    "series_id",
    "series_start",
    "recurrence_parent",
    "version",
    "created_at",
    "updated_at",
)


class TaskAdminForm(forms.ModelForm):
    tags = forms.CharField(
        required=False, help_text="Comma-separated, e.g. “home, errands”.", max_length=2000
    )

    class Meta:
        model = Task
        fields = ("user", *services.EDITABLE_FIELDS, "completed")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.initial["tags"] = ", ".join(self.instance.tag_names) if self.instance.pk else ""
        if self.instance.pk is None and "timezone" in self.fields:
            # Left empty, a new task gets its owner's time zone, as from the API.
            self.initial["timezone"] = ""
            self.fields["timezone"].required = False
            self.fields["timezone"].help_text = "Empty: the owner's time zone."

    def clean_tags(self) -> list[str]:
        return [name.strip() for name in self.cleaned_data["tags"].split(",") if name.strip()]

    def service_data(self) -> dict[str, Any]:
        """The editable fields the operator changed, as the services take them."""
        data: dict[str, Any] = {
            name: self.cleaned_data[name]
            for name in services.EDITABLE_FIELDS
            if name in self.changed_data and name in self.cleaned_data
        }
        if "priority" in data:
            data["priority"] = Priority(data["priority"])
        return data

    def clean(self) -> dict[str, Any]:
        super().clean()
        if self.errors:
            return self.cleaned_data
        task = self.instance
        if task.pk is None:
            user = self.cleaned_data["user"]
            task = Task(user=user, timezone=user.timezone)
        try:
            services.task_validate(task=task, data=self.service_data())
        except ValidationError as exc:
            self.add_error(None, exc)
        return self.cleaned_data

    def _post_clean(self) -> None:
        # The services validate and write; the instance is not saved from this form.
        pass


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    form = TaskAdminForm
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
    fields = ("user", *services.EDITABLE_FIELDS, "completed", *SET_BY_THE_SERVICES)
    readonly_fields = SET_BY_THE_SERVICES
    raw_id_fields = ("user",)
    date_hierarchy = "due_date"
    list_select_related = ("user",)
    actions = ["complete_tasks", "reopen_tasks"]

    def get_readonly_fields(self, request: HttpRequest, obj: Task | None = None) -> Any:
        # A task stays with the user it was created for.
        return ("user", *self.readonly_fields) if obj is not None else self.readonly_fields

    def save_model(self, request: HttpRequest, obj: Task, form: Any, change: bool) -> None:
        data = form.service_data()
        if change:
            task = services.task_update(task=obj, data=data) if data else obj
        else:
            task = services.task_create(user=form.cleaned_data["user"], data=data)
        completed = form.cleaned_data.get("completed", task.completed)
        if completed and not task.completed:
            task = services.task_complete(task=task)
        elif not completed and task.completed:
            task = services.task_reopen(task=task)
        # The admin goes on with `obj` (its log entry, message and redirect).
        obj.pk = task.pk
        obj.refresh_from_db()
        obj._state.adding = False

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        pass  # tags were saved by the service

    def delete_model(self, request: HttpRequest, obj: Task) -> None:
        services.task_delete(task=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Task]) -> None:
        for task in queryset:
            services.task_delete(task=task)

    @admin.action(description="Mark selected tasks complete")
    def complete_tasks(self, request: HttpRequest, queryset: QuerySet[Task]) -> None:
        changed = [task for task in queryset if not task.completed]
        for task in changed:
            services.task_complete(task=task)
        self.message_user(request, f"{len(changed)} task(s) marked complete.", messages.SUCCESS)

    @admin.action(description="Reopen selected tasks")
    def reopen_tasks(self, request: HttpRequest, queryset: QuerySet[Task]) -> None:
        changed = [task for task in queryset if task.completed]
        for task in changed:
            services.task_reopen(task=task)
        self.message_user(request, f"{len(changed)} task(s) reopened.", messages.SUCCESS)


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    """Renames, colours and deletes go through tasks.tag_services, so the tasks that
    carry a tag get their version bump and TaskUpdated events as from the tags page."""

    list_display = ("name", "user", "colour", "task_count")
    list_filter = ("colour",)
    search_fields = ("name", "user__username")
    raw_id_fields = ("user",)
    actions = ["merge_tags"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Tag]:
        return super().get_queryset(request).annotate(task_total=Count("tasks"))

    @admin.display(description="tasks", ordering="task_total")
    def task_count(self, obj: Tag) -> int:
        return int(getattr(obj, "task_total", 0))

    def get_readonly_fields(self, request: HttpRequest, obj: Tag | None = None) -> Any:
        return ("user",) if obj is not None else ()

    def save_model(self, request: HttpRequest, obj: Tag, form: Any, change: bool) -> None:
        if not change:
            super().save_model(request, obj, form, change)  # a new tag carries no task yet
            return
        current = Tag.objects.get(pk=obj.pk)
        tag_services.tag_update(tag=current, name=obj.name, colour=obj.colour)
        obj.refresh_from_db()

    def delete_model(self, request: HttpRequest, obj: Tag) -> None:
        tag_services.tag_delete(tag=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Tag]) -> None:
        for tag in queryset:
            tag_services.tag_delete(tag=tag)

    @admin.action(description="Merge selected tags into the most used one")
    def merge_tags(self, request: HttpRequest, queryset: QuerySet[Tag]) -> None:
        tags = sorted(queryset, key=lambda tag: (-self.task_count(tag), tag.pk))
        if len({tag.user_id for tag in tags}) != 1 or len(tags) < 2:
            self.message_user(
                request, "Select two or more tags of one user to merge.", messages.ERROR
            )
            return
        target, sources = tags[0], tags[1:]
        for source in sources:
            tag_services.tag_merge(source=source, target=target)
        self.message_user(
            request, f"Merged {len(sources)} tag(s) into “{target.name}”.", messages.SUCCESS
        )


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
