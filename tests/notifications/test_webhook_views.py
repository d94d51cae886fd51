from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from notifications import webhooks
from notifications.models import WebhookDelivery, WebhookEndpoint

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("allow_private")]
HTMX = {"HX-Request": "true"}
URL = "http://127.0.0.1:9/hook"


@pytest.fixture
def client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def endpoint(user) -> WebhookEndpoint:
    return webhooks.webhook_endpoint_create(user=user, url=URL, events=["task.created"])


def test_the_settings_page_links_to_webhooks(client):
    page = client.get(reverse("account_settings")).content.decode()
    assert reverse("notifications:webhooks") in page


def test_adding_an_endpoint_shows_its_secret_once(client, user):
    response = client.post(
        reverse("notifications:webhooks"),
        {"url": URL, "description": "My receiver", "events": ["task.created", "task.deleted"]},
    )
    endpoint = WebhookEndpoint.objects.get(user=user)
    assert response.status_code == 302
    assert response["Location"] == reverse("notifications:webhook_detail", args=[endpoint.pk])
    assert endpoint.events == ["task.created", "task.deleted"]
    shown = client.get(response["Location"])
    assert endpoint.secret in shown.content.decode()
    again = client.get(reverse("notifications:webhook_detail", args=[endpoint.pk]))
    assert endpoint.secret not in again.content.decode()
    listing = client.get(reverse("notifications:webhooks")).content.decode()
    assert URL in listing and endpoint.secret not in listing


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"url": "https://169.254.169.254/latest", "events": ["task.created"]}, "link-local"),
        ({"url": "https://93.184.215.14/", "events": []}, "Choose at least one event."),
    ],
)
def test_a_refused_endpoint_is_a_form_error(client, settings, data, message):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False
    response = client.post(reverse("notifications:webhooks"), data)
    assert response.status_code == 422
    assert message in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_editing_saves_and_redirects(client, endpoint):
    url = reverse("notifications:webhook_detail", args=[endpoint.pk])
    response = client.post(url, {"url": URL, "events": ["task.completed"], "enabled": "on"})
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.events == ["task.completed"] and endpoint.is_enabled
    client.post(url, {"url": URL, "events": ["task.completed"]})
    endpoint.refresh_from_db()
    assert not endpoint.is_enabled


def test_an_invalid_edit_keeps_the_endpoint(client, endpoint, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False
    url = reverse("notifications:webhook_detail", args=[endpoint.pk])
    response = client.post(url, {"url": "https://10.0.0.1/", "events": ["task.created"]})
    assert response.status_code == 422
    assert "private address" in response.content.decode()
    endpoint.refresh_from_db()
    assert endpoint.url == URL


def test_test_event_without_js_redirects_and_with_htmx_returns_the_log(client, endpoint):
    url = reverse("notifications:webhook_test", args=[endpoint.pk])
    assert client.post(url).status_code == 302
    response = client.post(url, headers=HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="delivery-log"')
    assert html.count("webhook.test") == 2
    assert "every 2s" in html  # pending deliveries: the log refreshes itself
    assert WebhookDelivery.objects.filter(endpoint=endpoint).count() == 2


def test_the_log_shows_status_codes_and_response_times(client, endpoint, receiver):
    endpoint = webhooks.webhook_endpoint_update(endpoint=endpoint, data={"url": receiver.url})
    webhooks.webhook_send_test(endpoint=endpoint)
    webhooks.webhook_deliver_due()
    html = client.get(reverse("notifications:webhook_log", args=[endpoint.pk])).content.decode()
    assert "200 · " in html and " ms" in html and "Succeeded" in html
    assert "every 2s" not in html


def test_rotating_shows_the_new_secret(client, endpoint):
    response = client.post(reverse("notifications:webhook_rotate", args=[endpoint.pk]), follow=True)
    endpoint.refresh_from_db()
    assert endpoint.secret in response.content.decode()
    assert "previous secret still signs" in response.content.decode()


def test_delete_removes_the_endpoint(client, endpoint):
    response = client.post(reverse("notifications:webhook_delete", args=[endpoint.pk]))
    assert response.status_code == 302
    assert not WebhookEndpoint.objects.exists()


def test_another_users_webhook_is_a_404(other_user, endpoint):
    client = Client()
    client.force_login(other_user)
    for name, method in (
        ("webhook_detail", "get"),
        ("webhook_detail", "post"),
        ("webhook_test", "post"),
        ("webhook_log", "get"),
        ("webhook_rotate", "post"),
        ("webhook_delete", "post"),
    ):
        response = getattr(client, method)(reverse(f"notifications:{name}", args=[endpoint.pk]))
        assert response.status_code == 404, name
    assert WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()


def test_signed_out_is_sent_to_log_in(db):
    response = Client().get(reverse("notifications:webhooks"))
    assert response.status_code == 302 and reverse("login") in response["Location"]
