"""The form of the webhook settings page; the rules live in notifications.webhooks."""

from __future__ import annotations

from django import forms

from .webhook_models import WebhookEvent


class WebhookEndpointForm(forms.Form):
    url = forms.CharField(
        label="URL",
        max_length=2000,
        widget=forms.URLInput(attrs={"placeholder": "https://example.com/hooks/todo"}),
        help_text="An HTTPS address of your receiver.",
    )
    description = forms.CharField(label="Description", max_length=200, required=False)
    # "At least one" is the service's rule (clean_events), one message for API and page.
    events = forms.MultipleChoiceField(
        label="Events",
        choices=WebhookEvent.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )


class WebhookEndpointEditForm(WebhookEndpointForm):
    enabled = forms.BooleanField(
        label="Enabled",
        required=False,
        help_text="Turned off after repeated failures; turn it on again once your receiver works.",
    )
