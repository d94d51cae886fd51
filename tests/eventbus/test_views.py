"""The worker's app-channel routes: job triggers go to the app that registered them."""

from __future__ import annotations

import pytest

from todo_project.eventbus import registry

APP_TOKEN = "app-token-for-tests"
pytestmark = [pytest.mark.urls("todo_project.eventbus.app_channel_urls"), pytest.mark.django_db]


@pytest.fixture(autouse=True)
def app_token(settings):
    settings.APP_API_TOKEN = APP_TOKEN


@pytest.fixture
def triggered(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, bytes]]:
    calls: list[tuple[str, bytes]] = []

    def trigger(name: str, body: bytes) -> tuple[int, str]:
        calls.append((name, body))
        return 202, "accepted by the test app"

    monkeypatch.setattr(registry, "_job_routes", {})
    registry.register_job_route(registry.JobRoute(prefix="test-job-", trigger=trigger))
    return calls


def post(client, name: str, token: str | None = APP_TOKEN):
    headers = {"dapr-api-token": token} if token is not None else {}
    return client.post(
        f"/job/{name}", data=b'{"n": 1}', content_type="application/json", headers=headers
    )


def test_a_trigger_is_answered_by_the_registered_route(client, triggered) -> None:
    response = post(client, "test-job-1")
    assert response.status_code == 202
    assert response.json() == {"job": "test-job-1", "result": "accepted by the test app"}
    assert triggered == [("test-job-1", b'{"n": 1}')]


def test_a_job_nobody_registered_is_404_so_dapr_does_not_retry(client, triggered) -> None:
    assert post(client, "other-job-1").status_code == 404
    assert triggered == []


@pytest.mark.parametrize("token", [None, "", "wrong"])
def test_a_trigger_without_the_app_token_reaches_no_route(client, triggered, token) -> None:
    assert post(client, "test-job-1", token=token).status_code == 401
    assert triggered == []


def test_daprd_finds_no_programmatic_subscriptions_and_no_app_config(client) -> None:
    assert client.get("/dapr/subscribe").json() == []
    assert client.get("/dapr/config").json() == {}
