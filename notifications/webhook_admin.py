"""Webhooks in the admin, through the services like the page and the API. Secrets are
never shown here: the owner sees one when it is made (create, rotate)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from . import webhooks
from .webhook_models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent


class WebhookEndpointAdminForm(forms.ModelForm):
    url = forms.CharField(label="URL", max_length=2000)  # checked by the service
    events = forms.MultipleChoiceField(
        choices=WebhookEvent.choices, widget=forms.CheckboxSelectMultiple, required=False
    )
    enabled = forms.BooleanField(required=False, initial=True)

    class Meta:
        model = WebhookEndpoint
        fields = ("user", "url", "description", "events")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["enabled"] = self.instance.is_enabled

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaners = {
            "url": webhooks.clean_url,
            "events": webhooks.clean_events,
            "description": webhooks.clean_description,
        }
        for field, clean in cleaners.items():
            if field in self.cleaned_data:
                try:
                    self.cleaned_data[field] = clean(self.cleaned_data[field])
                except ValidationError as exc:
                    self.add_error(None, exc)
        return self.cleaned_data

    def _post_clean(self) -> None:
        # The services validate and write; the instance is not saved from this form.
        pass


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = WebhookEndpointAdminForm
    list_display = ("url", "user", "enabled", "consecutive_failures", "created_at")
    list_filter = (("disabled_at", admin.EmptyFieldListFilter),)
    search_fields = ("url", "description", "user__username")
    raw_id_fields = ("user",)
    readonly_fields = ("consecutive_failures", "disabled_at", "disabled_reason", "created_at")
    actions = ("send_test_event",)

    @admin.display(boolean=True, description="Enabled")
    def enabled(self, obj: WebhookEndpoint) -> bool:
        return obj.is_enabled

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        data = form.cleaned_data
        if change:
            saved = webhooks.webhook_endpoint_update(
                endpoint=obj,
                data={k: data[k] for k in ("url", "events", "description", "enabled")},
            )
        else:
            saved = webhooks.webhook_endpoint_create(
                user=data["user"],
                url=data["url"],
                events=data["events"],
                description=data["description"],
            )
            if not data["enabled"]:
                saved = webhooks.webhook_endpoint_update(endpoint=saved, data={"enabled": False})
        obj.pk = saved.pk

    @admin.action(description="Send a test event")
    def send_test_event(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        sent = 0
        for endpoint in queryset:
            try:
                webhooks.webhook_send_test(endpoint=endpoint)
                sent += 1
            except ValidationError:
                self.message_user(
                    request, f"{endpoint} is disabled: no test event.", messages.WARNING
                )
        if sent:
            self.message_user(request, f"Queued {sent} test event(s).", messages.SUCCESS)


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    extra = 0
    can_delete = False
    readonly_fields = ("attempted_at", "status_code", "duration_ms", "error")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ("event_type", "endpoint", "status", "created_at", "finished_at")
    list_filter = ("status", "event_type")
    search_fields = ("endpoint__url", "event_id")
    readonly_fields = (
        "endpoint",
        "event_id",
        "event_type",
        "body",
        "status",
        "next_attempt_at",
        "created_at",
        "finished_at",
    )
    inlines = (WebhookAttemptInline,)
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
