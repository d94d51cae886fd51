from __future__ import annotations

import zoneinfo
from collections import defaultdict
from functools import cache
from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm, UserCreationForm, UsernameField
from django.core.exceptions import ValidationError

from .models import User
from .throttle import RateLimited


@cache
def timezone_choices() -> list[tuple[str, Any]]:
    """IANA zone names grouped by region for a <select>, UTC first."""
    groups: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for name in sorted(zoneinfo.available_timezones()):
        if "/" not in name or name.startswith(("Etc/", "SystemV/", "US/")):
            continue
        region, _, place = name.partition("/")
        groups[region].append((name, place.replace("_", " ")))
    return [("UTC", "UTC"), *sorted(groups.items())]


class TimezoneField(forms.ChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", "Time zone")
        kwargs.setdefault(
            "help_text", "Due dates are shown and entered in this zone; new tasks repeat in it."
        )
        super().__init__(choices=timezone_choices, **kwargs)

    def valid_value(self, value: Any) -> bool:
        # Any IANA name the model accepts, also ones left out of the menu (Etc/GMT+5).
        return str(value) in zoneinfo.available_timezones()


class SignupForm(UserCreationForm):
    email = forms.EmailField(
        required=False,
        help_text="Optional: for reminders by e-mail (turned on in Settings).",
        label="Email",
    )
    timezone = TimezoneField(initial="UTC")

    class Meta:
        model = User
        fields = ("username", "email", "timezone")
        field_classes = {"username": UsernameField}


class AccountSettingsForm(forms.ModelForm):
    email = forms.EmailField(required=False, help_text="Where reminders by e-mail go.")
    timezone = TimezoneField()
    morning_hour = forms.TypedChoiceField(
        label="Morning",
        choices=[(hour, f"{hour:02d}:00") for hour in range(24)],
        coerce=int,
        required=False,
        help_text="A reminder before an all-day task counts from this hour on its day; "
        "snoozing until tomorrow morning wakes you then.",
    )

    class Meta:
        model = User
        fields = ("email", "email_reminders", "timezone", "date_order", "morning_hour")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("email_reminders") and not data.get("email"):
            self.add_error("email", "Reminders by e-mail need an e-mail address.")
        return data

    def clean_morning_hour(self) -> int:
        """Left out (a client that does not know it), the hour stays as it was."""
        value = self.cleaned_data.get("morning_hour")
        return self.instance.morning_hour if value in (None, "") else int(value)


class LoginForm(AuthenticationForm):
    """Django's login form; a refusal by the throttle is a form error (the view answers
    429 with Retry-After), not a failed password."""

    def __init__(self, request: Any = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(request, *args, **kwargs)
        self.refused: RateLimited | None = None
        self.fields["username"].widget.attrs.setdefault("autocomplete", "username")

    def clean(self) -> dict[str, Any]:
        try:
            return super().clean()
        except RateLimited as refused:
            self.refused = refused
            raise ValidationError(refused.message, code="throttled") from None
