from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.notifications.receiver import Receiver

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture
def allow_private(settings) -> None:
    """The operator setting that lets webhooks reach the receiver on 127.0.0.1."""
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


@pytest.fixture(scope="session")
def readme_verify() -> Callable[[str, bytes, str], bool]:
    """The signature check of the README's receiver example, run as a receiver would."""
    text = README.read_text()
    match = re.search(r"<!-- webhook-verify -->\n```python\n(.*?)```", text, re.DOTALL)
    assert match, "the README lost its webhook verification example"
    namespace: dict[str, object] = {}
    exec(compile(match.group(1), "README.md", "exec"), namespace)
    return namespace["verify"]  # type: ignore[return-value]
