"""Error reports (Django's DEBUG page, the admin e-mails) without credentials.

Django hides settings whose names look secret (KEY, TOKEN, PASS, ...), but DATABASE_URL
and REDIS_URL carry their passwords inside the value: any setting or request value that
is a URL with a password is shown with the password masked."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django.views.debug import SafeExceptionReporterFilter


def mask_url_password(value: str) -> str:
    try:
        parts = urlsplit(value)
        password = parts.password
    except ValueError:
        return value
    if not password:
        return value
    netloc = parts.netloc.replace(f":{password}@", ":********@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


class CredentialSafeReporterFilter(SafeExceptionReporterFilter):
    def cleanse_setting(self, key: Any, value: Any) -> Any:
        cleansed = super().cleanse_setting(key, value)
        if isinstance(cleansed, str) and "://" in cleansed:
            return mask_url_password(cleansed)
        return cleansed
