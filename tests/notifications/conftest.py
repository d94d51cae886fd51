from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.notifications import receiver as receivers
from tests.notifications.receiver import Receiver


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
