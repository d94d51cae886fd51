"""Pytest plugin: a fake Dapr sidecar for the whole session, reset and wired per test.

Enable with ``pytest_plugins = ["tests.fakes.dapr_fixtures"]`` in the root conftest.

* ``fake_dapr_server`` (session): one started :class:`FakeDaprSidecar`; not wired to the SDK.
* ``fake_dapr`` (function): the same sidecar, reset, with the Dapr SDK pointed at it for the
  test: ``DAPR_*`` env vars set through ``monkeypatch`` (the SDK 1.19 ``dapr.conf.settings``
  reads the environment on every access, when a ``DaprClient`` is built), endpoint/token
  variables removed, and any value pinned as an attribute on ``dapr.conf.settings`` (those beat
  the environment) removed for the test. Needs no database.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import grpc
import pytest

from tests.fakes.dapr_sidecar import (
    SDK_ENV_TO_CLEAR,
    FakeDaprSidecar,
    no_proxy_value,
    sdk_settings_pins,
)


def point_sdk_at(sidecar: FakeDaprSidecar, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every ``DaprClient()`` created during the test talk to ``sidecar``."""
    from dapr.conf import settings

    for name, value in sidecar.env().items():
        monkeypatch.setenv(name, value)
    for name in SDK_ENV_TO_CLEAR:
        monkeypatch.delenv(name, raising=False)
    for name in sdk_settings_pins():
        monkeypatch.delitem(vars(settings), name)
    # urllib (the SDK's health probe) and gRPC both honour *_proxy variables.
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(name, no_proxy_value(os.environ.get(name)))


@pytest.fixture(scope="session")
def fake_dapr_server() -> Iterator[FakeDaprSidecar]:
    sidecar = FakeDaprSidecar().start()
    try:
        yield sidecar
    finally:
        sidecar.stop()


@pytest.fixture
def fake_dapr(
    fake_dapr_server: FakeDaprSidecar, monkeypatch: pytest.MonkeyPatch
) -> Iterator[FakeDaprSidecar]:
    fake_dapr_server.reset()
    point_sdk_at(fake_dapr_server, monkeypatch)
    yield fake_dapr_server
    # End streams the test left open (CANCELLED: the SDK stops instead of reconnecting to
    # whatever the environment points at once monkeypatch is undone).
    fake_dapr_server.close_streams(grpc.StatusCode.CANCELLED)
    fake_dapr_server.up()
