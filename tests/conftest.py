from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest
from django.test import Client

from tests.sidecar_health import HealthEndpoint
from todo_project.accounts.models import User
from todo_project.accounts.tokens import issue_tokens

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def skip_or_fail(reason: str) -> None:
    """Without a service a test skips on a laptop, but fails under CI=true."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: nothing may skip for lack of a service)")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> None:
    """Every test starts with no attempt counted (the limits are process-wide)."""
    from todo_project.accounts import throttle

    throttle.limiter().storage.reset()


@pytest.fixture
def make_user(db: None) -> Callable[..., User]:
    counter = iter(range(1, 10_000))

    def make(username: str | None = None, **fields: object) -> User:
        name = username or f"user{next(counter)}"
        user = User.objects.create_user(username=name, password="pw-" + name, **fields)
        return user

    return make


@pytest.fixture
def user(make_user: Callable[..., User]) -> User:
    return make_user("alice", email="alice@example.com", timezone="Europe/Berlin")


@pytest.fixture
def other_user(make_user: Callable[..., User]) -> User:
    return make_user("bob")


class ApiClient:
    """Django's test client speaking JSON with a bearer token."""

    def __init__(self, user: User | None) -> None:
        self.client = Client()
        self.headers = {}
        if user is not None:
            self.headers["Authorization"] = f"Bearer {issue_tokens(user).access}"

    def _call(self, method: str, path: str, json: object | None = None, **kw: object):
        if json is not None:
            kw["data"] = json
            kw["content_type"] = "application/json"
        return getattr(self.client, method)(path, headers=self.headers, **kw)

    def get(self, path: str, **kw: object):
        return self._call("get", path, **kw)

    def post(self, path: str, json: object | None = None, **kw: object):
        return self._call("post", path, json, **kw)

    def patch(self, path: str, json: object | None = None, **kw: object):
        return self._call("patch", path, json, **kw)

    def put(self, path: str, json: object | None = None, **kw: object):
        return self._call("put", path, json, **kw)

    def delete(self, path: str, **kw: object):
        return self._call("delete", path, **kw)


@pytest.fixture
def api(user: User) -> ApiClient:
    return ApiClient(user)


@pytest.fixture
def other_api(other_user: User) -> ApiClient:
    return ApiClient(other_user)


@pytest.fixture
def anon_api(db: None) -> ApiClient:
    return ApiClient(None)


# ------------------------------------------------------------------ the sidecar's health URL


@pytest.fixture
def dapr_http_port(monkeypatch: pytest.MonkeyPatch) -> Callable[[int], None]:
    """Point the Dapr SDK settings (read from the environment on every access) at
    127.0.0.1:<port> for the test; returns the setter."""
    for name in ("DAPR_HTTP_ENDPOINT", "DAPR_API_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DAPR_RUNTIME_HOST", "127.0.0.1")
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(name, "127.0.0.1,localhost")

    def point_at(port: int) -> None:
        monkeypatch.setenv("DAPR_HTTP_PORT", str(port))

    return point_at


@pytest.fixture
def health_endpoint() -> Iterator[HealthEndpoint]:
    with HealthEndpoint() as endpoint:
        yield endpoint
