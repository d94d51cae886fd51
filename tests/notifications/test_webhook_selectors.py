from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from notifications import webhook_selectors, webhooks
from notifications.models import WebhookEndpoint

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("allow_private")]


def endpoint_of(user) -> WebhookEndpoint:
    return webhooks.webhook_endpoint_create(
        user=user, url="http://127.0.0.1:9/hook", events=["task.created"]
    )


def test_another_users_endpoint_does_not_exist(user, other_user):
    endpoint = endpoint_of(other_user)
    with pytest.raises(WebhookEndpoint.DoesNotExist):
        webhook_selectors.webhook_endpoint_get(user=user, endpoint_id=endpoint.pk)
    assert list(webhook_selectors.webhook_endpoint_list(user=user)) == []


def test_the_log_is_newest_first(user):
    endpoint = endpoint_of(user)
    first = webhooks.webhook_send_test(endpoint=endpoint)
    second = webhooks.webhook_send_test(endpoint=endpoint)
    assert list(webhook_selectors.webhook_delivery_log(endpoint=endpoint)) == [second, first]


def test_due_deliveries_skip_future_ones_and_disabled_endpoints(user, other_user):
    mine, theirs = endpoint_of(user), endpoint_of(other_user)
    delivery = webhooks.webhook_send_test(endpoint=mine)
    webhooks.webhook_send_test(endpoint=theirs)
    webhooks.webhook_endpoint_update(endpoint=theirs, data={"enabled": False})
    now = timezone.now()
    assert list(webhook_selectors.due_deliveries(now=now)) == [delivery]
    assert list(webhook_selectors.due_deliveries(now=now - timedelta(minutes=1))) == []
    assert webhook_selectors.next_delivery_at() == delivery.next_attempt_at


def test_enabled_endpoints_of_several_users(user, other_user):
    mine, theirs = endpoint_of(user), endpoint_of(other_user)
    webhooks.webhook_endpoint_update(endpoint=theirs, data={"enabled": False})
    found = webhook_selectors.enabled_endpoints(user_ids={user.pk, other_user.pk})
    assert list(found) == [mine]
