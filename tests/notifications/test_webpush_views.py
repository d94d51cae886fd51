"""The browser's side: the service worker script, the settings card and its calls."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse

from notifications.webpush_models import PushSubscription

from .push_service import PUBLIC_KEY, BrowserKeys

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(user) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def csrf_token(client: Client) -> str:
    response = client.get(reverse("account_settings"))
    return str(response.context["csrf_token"])


def post_json(client: Client, name: str, body: object, token: str | None = None):
    return client.post(
        reverse(f"notifications:{name}"),
        data=json.dumps(body),
        content_type="application/json",
        headers={"X-CSRFToken": token if token is not None else csrf_token(client)},
    )


def subscription_json(endpoint: str = "http://127.0.0.1:9/push/a") -> dict[str, object]:
    keys = BrowserKeys()
    return {
        "endpoint": endpoint,
        "expirationTime": None,
        "keys": {"p256dh": keys.p256dh, "auth": keys.auth},
    }


def test_the_service_worker_may_control_the_whole_app():
    response = Client().get(reverse("notifications:push_sw"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Service-Worker-Allowed"] == "/"
    assert response["Cache-Control"] == "no-cache"
    assert "script-src 'self'" in response["Content-Security-Policy"]


def test_the_settings_page_offers_push_with_the_server_key(client, push_settings):
    page = client.get(reverse("account_settings")).content.decode()
    assert f'data-push-key="{PUBLIC_KEY}"' in page
    assert "Enable push reminders" in page
    assert reverse("notifications:push_sw") in page


def test_the_settings_page_hides_push_while_it_is_off(client, settings):
    settings.WEBPUSH_VAPID_PRIVATE_KEY = ""
    page = client.get(reverse("account_settings")).content.decode()
    assert "Enable push reminders" not in page
    assert "push.js" not in page


def test_subscribe_then_unsubscribe(client, push_settings, user):
    body = subscription_json()
    response = post_json(client, "push_subscribe", body)
    assert response.status_code == 201
    subscription = PushSubscription.objects.get()
    assert (subscription.user, subscription.endpoint) == (user, body["endpoint"])
    response = post_json(client, "push_unsubscribe", {"endpoint": body["endpoint"]})
    assert response.json() == {"removed": True}
    assert not PushSubscription.objects.exists()


def test_subscribe_needs_the_csrf_token(client, push_settings):
    response = post_json(client, "push_subscribe", subscription_json(), token="")
    assert response.status_code == 403
    assert not PushSubscription.objects.exists()


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ("not json", 400, None),
        ({"endpoint": "http://127.0.0.1:9/p", "keys": "none"}, 422, "p256dh"),
        ({"endpoint": 5, "keys": {}}, 422, "endpoint"),
    ],
)
def test_a_bad_subscription_is_a_client_error(client, push_settings, body, status, field):
    response = client.post(
        reverse("notifications:push_subscribe"),
        data=body if isinstance(body, str) else json.dumps(body),
        content_type="application/json",
        headers={"X-CSRFToken": csrf_token(client)},
    )
    assert response.status_code == status
    if field:
        assert field in response.json()["errors"]


def test_subscribe_while_push_is_off_is_a_conflict(client, settings):
    settings.WEBPUSH_VAPID_PRIVATE_KEY = ""
    assert post_json(client, "push_subscribe", subscription_json()).status_code == 409


def test_unsubscribe_needs_an_endpoint(client, push_settings):
    response = post_json(client, "push_unsubscribe", {})
    assert response.status_code == 422
    assert "endpoint" in response.json()["errors"]


def test_signed_out_calls_go_to_the_login_page(push_settings):
    response = Client().post(
        reverse("notifications:push_subscribe"), data="{}", content_type="application/json"
    )
    assert response.status_code == 302
