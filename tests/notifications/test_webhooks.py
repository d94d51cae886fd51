"""Webhook services: registering, rotating, testing, and the delivery step's retries,
backoff, auto-disable and SSRF check at delivery time."""

from __future__ import annotations

import json
import socket
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from notifications import webhooks
from notifications.models import Notification, WebhookAttempt, WebhookDelivery
from tasks import services
from tests.notifications.receiver import Receiver
from todo_project.eventbus.envelope import TASK_UPDATES
from todo_project.eventbus.models import OutboxMessage
from todo_project.eventbus.publishers import LocalBus
from todo_project.eventbus.relay import drain

pytestmark = pytest.mark.django_db(transaction=True)


def create(user, url, events=("task.created",)):
    return webhooks.webhook_endpoint_create(user=user, url=url, events=list(events))


def one_action(user) -> WebhookDelivery:
    services.task_create(user=user, data={"title": "Buy milk"})
    drain(LocalBus())
    return WebhookDelivery.objects.get()


class TestRegistration:
    def test_create_keeps_the_events_in_their_order_and_makes_a_secret(self, user, allow_private):
        endpoint = create(user, "http://127.0.0.1:9/hook", ["reminder.fired", "task.created"])
        assert endpoint.events == ["task.created", "reminder.fired"]
        assert endpoint.secret.startswith("whsec_") and len(endpoint.secret) > 40
        assert endpoint.is_enabled

    @pytest.mark.parametrize(
        ("data", "field"),
        [
            ({"url": "https://10.0.0.1/hook", "events": ["task.created"]}, "url"),
            ({"url": "http://example.com/hook", "events": ["task.created"]}, "url"),
            ({"url": "", "events": ["task.created"]}, "url"),
            ({"url": "https://[::1]/", "events": ["task.created"]}, "url"),
            ({"url": "https://93.184.215.14/", "events": []}, "events"),
            ({"url": "https://93.184.215.14/", "events": ["task.exploded"]}, "events"),
            ({"url": "https://93.184.215.14/", "events": "task.created"}, "events"),
            (
                {
                    "url": "https://93.184.215.14/",
                    "events": ["task.created"],
                    "description": "a\x00",
                },
                "description",
            ),
            (
                {
                    "url": "https://93.184.215.14/",
                    "events": ["task.created"],
                    "description": "x" * 201,
                },
                "description",
            ),
        ],
    )
    def test_bad_input_names_the_field(self, user, data, field):
        with pytest.raises(ValidationError) as caught:
            webhooks.webhook_endpoint_create(user=user, **data)
        assert field in caught.value.message_dict

    def test_both_fields_at_fault_are_reported_together(self, user):
        with pytest.raises(ValidationError) as caught:
            webhooks.webhook_endpoint_create(user=user, url="https://127.0.0.1/", events=[])
        assert set(caught.value.message_dict) == {"url", "events"}

    def test_update_checks_the_new_url_again(self, user, allow_private, settings):
        endpoint = create(user, "http://127.0.0.1:9/hook")
        settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False
        with pytest.raises(ValidationError) as caught:
            webhooks.webhook_endpoint_update(endpoint=endpoint, data={"url": "https://10.0.0.1/"})
        assert "url" in caught.value.message_dict

    def test_rotation_signs_with_both_secrets_during_the_grace(self, user, allow_private):
        endpoint = create(user, "http://127.0.0.1:9/hook")
        old = endpoint.secret
        rotated = webhooks.webhook_secret_rotate(endpoint=endpoint)
        assert rotated.secret != old and rotated.previous_secret == old
        now = timezone.now()
        assert webhooks.endpoint_secrets(rotated, now=now) == [rotated.secret, old]
        later = rotated.previous_secret_expires_at + timedelta(seconds=1)
        assert webhooks.endpoint_secrets(rotated, now=later) == [rotated.secret]

    def test_rotation_without_grace_drops_the_old_secret(self, user, allow_private, settings):
        settings.WEBHOOK_SECRET_GRACE_HOURS = 0
        endpoint = webhooks.webhook_secret_rotate(endpoint=create(user, "http://127.0.0.1:9/"))
        assert webhooks.endpoint_secrets(endpoint, now=timezone.now()) == [endpoint.secret]

    def test_re_enabling_clears_the_failures(self, user, allow_private):
        endpoint = create(user, "http://127.0.0.1:9/hook")
        endpoint = webhooks.webhook_endpoint_update(endpoint=endpoint, data={"enabled": False})
        assert not endpoint.is_enabled
        endpoint.consecutive_failures = 7
        endpoint.save()
        endpoint = webhooks.webhook_endpoint_update(endpoint=endpoint, data={"enabled": True})
        assert endpoint.is_enabled and endpoint.consecutive_failures == 0


class TestDelivery:
    def test_retries_survive_a_receiver_outage(self, user, allow_private, readme_verify):
        with Receiver([500, 200]) as receiver:
            endpoint = create(user, receiver.url)
            delivery = one_action(user)
            now = timezone.now()
            assert webhooks.webhook_deliver_due(now=now) == 1
            delivery.refresh_from_db()
            assert delivery.status == "pending"
            first_retry = delivery.next_attempt_at
            assert now + timedelta(seconds=5) <= first_retry <= now + timedelta(seconds=10)
            assert webhooks.webhook_deliver_due(now=now) == 0  # not due yet
            assert webhooks.webhook_deliver_due(now=first_retry) == 1
        delivery.refresh_from_db()
        assert delivery.status == "succeeded"
        attempts = list(delivery.attempts.values_list("status_code", flat=True))
        assert attempts == [500, 200]
        assert [r.body for r in receiver.requests] == [delivery.body.encode()] * 2
        for request in receiver.requests:
            assert readme_verify(endpoint.secret, request.body, request.headers["x-todo-signature"])
        endpoint.refresh_from_db()
        assert endpoint.consecutive_failures == 0

    def test_backoff_doubles_with_jitter_up_to_the_cap(self, settings):
        settings.WEBHOOK_BACKOFF_SECONDS = 10
        settings.WEBHOOK_MAX_BACKOFF_SECONDS = 60
        delays = {
            n: {webhooks.retry_delay(n).total_seconds() for _ in range(50)} for n in (1, 2, 3, 9)
        }
        assert all(5 <= d <= 10 for d in delays[1])
        assert all(10 <= d <= 20 for d in delays[2])
        assert all(20 <= d <= 40 for d in delays[3])
        assert all(30 <= d <= 60 for d in delays[9])
        assert len(delays[3]) > 1  # jittered

    def test_a_delivery_gives_up_after_the_last_attempt(self, user, allow_private, settings):
        settings.WEBHOOK_MAX_ATTEMPTS = 2
        with Receiver([503]) as receiver:
            create(user, receiver.url)
            delivery = one_action(user)
            webhooks.webhook_deliver_due()
            webhooks.webhook_deliver_due(now=timezone.now() + timedelta(hours=2))
        delivery.refresh_from_db()
        assert delivery.status == "failed" and delivery.finished_at is not None
        assert delivery.attempts.count() == 2

    def test_repeated_failures_disable_the_endpoint_and_notify_the_owner(
        self, user, allow_private, settings
    ):
        settings.WEBHOOK_DISABLE_AFTER_FAILURES = 3
        with Receiver([500]) as receiver:
            endpoint = create(user, receiver.url)
            delivery = one_action(user)
            now = timezone.now()
            for _ in range(5):
                webhooks.webhook_deliver_due(now=now)
                now += timedelta(hours=2)
        assert len(receiver.requests) == 3
        endpoint.refresh_from_db()
        assert not endpoint.is_enabled
        assert "3 failed attempts in a row" in endpoint.disabled_reason
        delivery.refresh_from_db()
        assert delivery.status == "failed"
        notification = Notification.objects.get(user=user)
        assert notification.kind == Notification.Kind.WEBHOOK_DISABLED
        assert receiver.url in notification.message
        assert OutboxMessage.objects.filter(
            topic=TASK_UPDATES, event_type="NotificationCreated"
        ).exists()

    def test_a_redirect_is_a_failure_and_is_not_followed(self, user, allow_private):
        with Receiver([301]) as receiver:
            create(user, receiver.url)
            delivery = one_action(user)
            webhooks.webhook_deliver_due()
        attempt = WebhookAttempt.objects.get(delivery=delivery)
        assert attempt.status_code == 301
        assert "not followed" in attempt.error
        assert len(receiver.requests) == 1

    def test_the_target_is_checked_again_at_delivery_time(self, user, monkeypatch):
        """DNS may change between registration and delivery (rebinding to loopback)."""
        answers = {"hooks.example.com": "93.184.215.14"}

        def resolver(host, port, *args, **kwargs):
            address = answers.get(host, host)
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

        monkeypatch.setattr(socket, "getaddrinfo", resolver)
        create(user, "https://hooks.example.com/hook")
        delivery = one_action(user)
        answers["hooks.example.com"] = "127.0.0.1"
        webhooks.webhook_deliver_due()
        attempt = WebhookAttempt.objects.get(delivery=delivery)
        assert attempt.status_code is None
        assert (
            attempt.error == "hooks.example.com resolves to 127.0.0.1, a loopback address: refused."
        )

    def test_an_unreachable_receiver_is_a_recorded_failure(self, user, allow_private):
        with Receiver() as receiver:
            url = receiver.url
        create(user, url)
        delivery = one_action(user)
        webhooks.webhook_deliver_due()
        attempt = WebhookAttempt.objects.get(delivery=delivery)
        assert attempt.status_code is None and attempt.error

    def test_the_test_event_reaches_the_endpoint_whatever_its_events(
        self, user, allow_private, receiver, readme_verify
    ):
        endpoint = create(user, receiver.url, ["reminder.fired"])
        webhooks.webhook_send_test(endpoint=endpoint)
        webhooks.webhook_deliver_due()
        (request,) = receiver.requests
        body = json.loads(request.body)
        assert body["type"] == "webhook.test"
        assert body["payload"]["endpoint_id"] == endpoint.pk
        assert readme_verify(endpoint.secret, request.body, request.headers["x-todo-signature"])

    def test_no_test_event_for_a_disabled_endpoint(self, user, allow_private):
        endpoint = create(user, "http://127.0.0.1:9/")
        endpoint = webhooks.webhook_endpoint_update(endpoint=endpoint, data={"enabled": False})
        with pytest.raises(ValidationError):
            webhooks.webhook_send_test(endpoint=endpoint)

    def test_several_deliveries_go_out_in_parallel(self, user, allow_private, receiver):
        create(user, receiver.url)
        for n in range(6):
            services.task_create(user=user, data={"title": f"Task {n}"})
        drain(LocalBus())
        assert webhooks.webhook_deliver_due(workers=3) == 6
        assert len(receiver.requests) == 6
        assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"succeeded"}


class TestLogRetention:
    def test_prune_deletes_only_what_finished_before_the_retention(
        self, user, allow_private, receiver, settings
    ):
        settings.WEBHOOK_LOG_RETENTION_DAYS = 30
        endpoint = create(user, receiver.url)
        old = webhooks.webhook_send_test(endpoint=endpoint)
        webhooks.webhook_deliver_due()
        pending = webhooks.webhook_send_test(endpoint=endpoint)
        later = timezone.now() + timedelta(days=31)
        assert webhooks.webhook_log_prune(now=timezone.now()) == 0
        assert webhooks.webhook_log_prune(now=later) == 1
        assert list(WebhookDelivery.objects.all()) == [pending]
        assert not WebhookAttempt.objects.filter(delivery_id=old.pk).exists()
