from __future__ import annotations

import pytest
from django.urls import reverse

from notifications import webhooks
from notifications.models import WebhookDelivery, WebhookEndpoint

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("allow_private")]
URL = "http://127.0.0.1:9/hook"


def test_adding_an_endpoint_goes_through_the_service(admin_client, user):
    response = admin_client.post(
        reverse("admin:notifications_webhookendpoint_add"),
        {
            "user": user.pk,
            "url": URL,
            "description": "",
            "events": ["task.deleted"],
            "enabled": "on",
        },
    )
    assert response.status_code == 302
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.secret.startswith("whsec_") and endpoint.events == ["task.deleted"]


def test_a_refused_url_is_a_form_error(admin_client, user, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False
    response = admin_client.post(
        reverse("admin:notifications_webhookendpoint_add"),
        {"user": user.pk, "url": "https://10.0.0.1/", "events": ["task.deleted"]},
    )
    assert response.status_code == 200
    assert "private address" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_the_change_page_hides_the_secret_and_the_action_sends_a_test(admin_client, user):
    endpoint = webhooks.webhook_endpoint_create(user=user, url=URL, events=["task.created"])
    page = admin_client.get(
        reverse("admin:notifications_webhookendpoint_change", args=[endpoint.pk])
    )
    assert page.status_code == 200 and endpoint.secret not in page.content.decode()
    admin_client.post(
        reverse("admin:notifications_webhookendpoint_changelist"),
        {"action": "send_test_event", "_selected_action": [endpoint.pk]},
    )
    delivery = WebhookDelivery.objects.get()
    assert delivery.event_type == "webhook.test"
    log = admin_client.get(
        reverse("admin:notifications_webhookdelivery_change", args=[delivery.pk])
    )
    assert log.status_code == 200
