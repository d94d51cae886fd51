"""Sign-in by username and password, throttled (see throttle.py): every path that checks a
password through Django's authenticate() (web login, admin login, API token) goes here."""

from __future__ import annotations

from typing import Any

from asgiref.sync import sync_to_async
from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from . import throttle
from .models import User


class ThrottledModelBackend(ModelBackend):
    """Django's ModelBackend (case-insensitive usernames via User.objects), refusing a
    username over its failure limit before any password work, and checking at most
    PASSWORD_CHECKS_AT_ONCE passwords at once. Raises throttle.RateLimited (a 429)."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        username = username or kwargs.get(User.USERNAME_FIELD)
        if username is None or password is None:
            return None
        throttle.check_username(username)
        with throttle.password_check_slot():
            user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            throttle.record_failure(username)
        else:
            throttle.record_success(username)
        return user

    async def aauthenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        # ModelBackend's own async version would skip the throttle.
        return await sync_to_async(self.authenticate)(
            request, username=username, password=password, **kwargs
        )
