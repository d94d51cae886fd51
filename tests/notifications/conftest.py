from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.notifications import receiver as receivers
from tests.notifications.receiver import Receiver

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


@pytest.fixture
def allow_private(settings) -> None:
    """The operator setting that lets webhooks reach the receiver on 127.0.0.1."""
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


@pytest.fixture
def readme_verify() -> Callable[[str, bytes, str], bool]:
    return receivers.readme_verify()
