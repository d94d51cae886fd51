from __future__ import annotations

from collections.abc import Iterator

import pytest

from .push_service import PRIVATE_KEY, PUBLIC_KEY, SUBJECT, PushService


@pytest.fixture
def push_settings(settings):
    """Web push on, with the test VAPID key, allowed to reach 127.0.0.1."""
    settings.WEBPUSH_VAPID_PRIVATE_KEY = PRIVATE_KEY
    settings.WEBPUSH_VAPID_PUBLIC_KEY = ""
    settings.WEBPUSH_VAPID_SUBJECT = SUBJECT
    settings.WEBPUSH_ALLOW_PRIVATE_TARGETS = True
    settings.WEBPUSH_MAX_ATTEMPTS = 4
    settings.EVENT_BACKEND = "local"
    return settings


@pytest.fixture
def push_service(push_settings) -> Iterator[PushService]:
    with PushService(vapid_public_key=PUBLIC_KEY, subject=SUBJECT) as service:
        yield service
