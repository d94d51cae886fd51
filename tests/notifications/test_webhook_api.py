from __future__ import annotations

import pytest

from notifications import webhooks
from notifications.models import WebhookEndpoint

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("allow_private")]
URL = "http://127.0.0.1:9/hook"
PUBLIC = "https://93.184.215.14/hook"


def create(api, **extra):
    return api.post("/api/webhooks", json={"url": URL, "events": ["task.created"], **extra})


def test_create_answers_the_secret_once(api):
    response = create(api, description="Zapier")
    assert response.status_code == 201
    body = response.json()
    assert body["secret"].startswith("whsec_")
    assert body["events"] == ["task.created"] and body["enabled"] is True
    read = api.get(f"/api/webhooks/{body['id']}").json()
    assert "secret" not in read
    assert [item["id"] for item in api.get("/api/webhooks").json()] == [body["id"]]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"url": "https://127.0.0.1/", "events": ["task.created"]}, "url"),
        ({"url": PUBLIC, "events": ["task.nope"]}, "events"),
        ({"url": PUBLIC, "events": []}, "events"),
        ({"url": PUBLIC}, "events"),
    ],
)
def test_bad_input_is_a_422_naming_the_field(api, settings, payload, field):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False
    response = api.post("/api/webhooks", json=payload)
    assert response.status_code == 422
    # The field, and for a list the item at fault (["body", "events", 0]).
    assert [error["loc"][:2] for error in response.json()["detail"]] == [["body", field]]


def test_another_users_webhook_is_a_404(api, other_api):
    endpoint_id = create(api).json()["id"]
    for call in (
        lambda: other_api.get(f"/api/webhooks/{endpoint_id}"),
        lambda: other_api.patch(f"/api/webhooks/{endpoint_id}", json={"description": "x"}),
        lambda: other_api.delete(f"/api/webhooks/{endpoint_id}"),
        lambda: other_api.post(f"/api/webhooks/{endpoint_id}/test"),
        lambda: other_api.post(f"/api/webhooks/{endpoint_id}/rotate-secret"),
        lambda: other_api.get(f"/api/webhooks/{endpoint_id}/deliveries"),
    ):
        assert call().status_code == 404
    assert WebhookEndpoint.objects.filter(pk=endpoint_id).exists()


def test_patch_changes_only_what_it_names(api):
    endpoint_id = create(api, description="before").json()["id"]
    response = api.patch(
        f"/api/webhooks/{endpoint_id}", json={"events": ["task.deleted", "task.completed"]}
    )
    assert response.status_code == 200
    assert response.json()["events"] == ["task.completed", "task.deleted"]
    assert response.json()["description"] == "before"
    assert (
        api.patch(f"/api/webhooks/{endpoint_id}", json={"enabled": False}).json()["enabled"]
        is False
    )


def test_rotate_answers_the_new_secret_and_the_grace(api):
    created = create(api).json()
    rotated = api.post(f"/api/webhooks/{created['id']}/rotate-secret").json()
    assert rotated["secret"] != created["secret"]
    assert rotated["previous_secret_expires_at"] is not None


def test_test_event_then_the_log_shows_status_and_time(api, receiver):
    endpoint_id = api.post(
        "/api/webhooks", json={"url": receiver.url, "events": ["task.created"]}
    ).json()["id"]
    queued = api.post(f"/api/webhooks/{endpoint_id}/test")
    assert queued.status_code == 202
    assert queued.json()["type"] == "webhook.test" and queued.json()["status"] == "pending"
    webhooks.webhook_deliver_due()
    log = api.get(f"/api/webhooks/{endpoint_id}/deliveries").json()
    assert log["count"] == 1
    (item,) = log["items"]
    assert item["status"] == "succeeded"
    (attempt,) = item["attempts"]
    assert attempt["status_code"] == 200 and attempt["duration_ms"] >= 0


def test_delete_is_204(api):
    endpoint_id = create(api).json()["id"]
    assert api.delete(f"/api/webhooks/{endpoint_id}").status_code == 204
    assert api.get(f"/api/webhooks/{endpoint_id}").status_code == 404


def test_anonymous_is_401(anon_api):
    assert anon_api.get("/api/webhooks").status_code == 401


def test_more_endpoints_than_the_limit_is_a_409_and_creates_nothing(api):
    for _ in range(webhooks.MAX_ENDPOINTS_PER_USER):
        assert create(api).status_code == 201
    response = create(api)
    assert response.status_code == 409
    assert "endpoints already" in response.json()["detail"]
    assert WebhookEndpoint.objects.count() == webhooks.MAX_ENDPOINTS_PER_USER
