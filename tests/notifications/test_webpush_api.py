"""Push subscriptions over the API (bearer tokens)."""

from __future__ import annotations

import pytest

from notifications.webpush_models import PushSubscription

from .push_service import PUBLIC_KEY, BrowserKeys

pytestmark = pytest.mark.django_db


def subscription_json(endpoint: str = "http://127.0.0.1:9/push/a") -> dict[str, object]:
    keys = BrowserKeys()
    return {"endpoint": endpoint, "keys": {"p256dh": keys.p256dh, "auth": keys.auth}}


def test_the_key_endpoint_says_whether_push_is_on(api, settings, push_settings):
    assert api.get("/api/push/key").json() == {"enabled": True, "public_key": PUBLIC_KEY}
    settings.WEBPUSH_VAPID_PRIVATE_KEY = ""
    assert api.get("/api/push/key").json() == {"enabled": False, "public_key": None}


def test_subscribe_list_and_remove(api, other_api, push_settings, user):
    response = api.post("/api/push/subscriptions", json=subscription_json())
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["endpoint"] == "http://127.0.0.1:9/push/a"
    assert PushSubscription.objects.get().user == user
    assert [s["id"] for s in api.get("/api/push/subscriptions").json()] == [body["id"]]
    assert other_api.get("/api/push/subscriptions").json() == []
    assert other_api.delete(f"/api/push/subscriptions/{body['id']}").status_code == 404
    assert api.delete(f"/api/push/subscriptions/{body['id']}").status_code == 204
    assert not PushSubscription.objects.exists()


def test_a_bad_subscription_names_the_field(api, push_settings):
    bad = subscription_json()
    bad["keys"]["auth"] = "c2hvcnQ"  # type: ignore[index]
    response = api.post("/api/push/subscriptions", json=bad)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "auth"]


def test_a_private_endpoint_is_refused(api, push_settings):
    push_settings.WEBPUSH_ALLOW_PRIVATE_TARGETS = False
    response = api.post("/api/push/subscriptions", json=subscription_json())
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "endpoint"]
    assert "https" in error["msg"]


def test_subscribing_while_push_is_off_is_a_conflict(api, settings):
    settings.WEBPUSH_VAPID_PRIVATE_KEY = ""
    response = api.post("/api/push/subscriptions", json=subscription_json())
    assert response.status_code == 409
    assert not PushSubscription.objects.exists()


def test_the_endpoints_need_a_token(anon_api, push_settings):
    assert anon_api.get("/api/push/subscriptions").status_code == 401
    assert anon_api.post("/api/push/subscriptions", json=subscription_json()).status_code == 401
