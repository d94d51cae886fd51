"""Web push of reminders against a push service on 127.0.0.1 that verifies the VAPID JWT
and decrypts each message with the subscription's own keys (tests/notifications/push_service.py)."""

from __future__ import annotations

import socket
import threading
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from notifications import webpush
from notifications.models import Notification
from notifications.services import (
    NOTIFICATION_CREATED,
    DueReminder,
    notification_payload,
    notifications_create_for_reminders,
)
from notifications.webpush_models import PushDelivery, PushSubscription
from tasks import services
from todo_project.eventbus.dispatch import DatabaseDedup, dispatch
from todo_project.eventbus.envelope import TASK_UPDATES, Event, build_event

from .push_service import PUBLIC_KEY, SUBJECT, BrowserKeys, PushService

pytestmark = pytest.mark.django_db


def reminder(user, title: str = "Pay rent") -> Notification:
    task = services.task_create(user=user, data={"title": title})
    at = timezone.now().replace(microsecond=0) - timedelta(minutes=1)
    due = DueReminder(
        user_id=user.pk, task_id=task.pk, message=title, reminder_at=at, due_date=None
    )
    [notification] = notifications_create_for_reminders([due])
    return notification


def created(notification: Notification) -> Event:
    return build_event(NOTIFICATION_CREATED, notification_payload(notification))


def subscribe(service: PushService, user, name: str) -> PushSubscription:
    endpoint, keys = service.subscribe(name)
    return webpush.push_subscription_save(
        user=user, endpoint=endpoint, p256dh=keys.p256dh, auth=keys.auth
    )


def pending(user) -> PushDelivery:
    webpush.on_notification_created([created(reminder(user))])
    return PushDelivery.objects.get()


# --- delivery ---------------------------------------------------------------------------


def test_a_reminder_reaches_each_subscription_once_encrypted_and_signed(
    push_service, user, other_user
):
    subscribe(push_service, user, "laptop")
    subscribe(push_service, user, "phone")
    subscribe(push_service, other_user, "someone-else")
    notification = reminder(user, "Pay rent, ünïcode & <b>")
    event = created(notification)
    dispatch(TASK_UPDATES, [event], DatabaseDedup())
    dispatch(TASK_UPDATES, [event], DatabaseDedup())  # redelivered
    dispatch(TASK_UPDATES, [created(notification)], DatabaseDedup())  # announced again

    assert webpush.deliver_due() == 2
    assert webpush.deliver_due() == 0

    assert push_service.rejected == []
    expected = {
        "title": "Pay rent, ünïcode & <b>",
        "body": "Reminder",
        "url": f"/tasks/{notification.task_id}/edit/",
        "tag": f"reminder-{notification.pk}",
        "notification_id": notification.pk,
        "task_id": notification.task_id,
    }
    assert push_service.messages_for("laptop") == [expected]
    assert push_service.messages_for("phone") == [expected]
    assert push_service.messages_for("someone-else") == []
    first = push_service.received[0]
    assert first.headers["ttl"] == "43200"
    assert first.headers["urgency"] == "high"
    assert first.headers["topic"] == f"reminder-{notification.pk}"
    assert first.claims["sub"] == SUBJECT
    assert first.claims["aud"] == push_service.origin
    assert set(PushDelivery.objects.values_list("status", "last_status_code")) == {("sent", 201)}
    assert PushSubscription.objects.filter(last_success_at__isnull=False).count() == 2


def test_a_notification_that_is_no_reminder_is_not_pushed(push_service, user):
    subscribe(push_service, user, "laptop")
    event = created(reminder(user))
    event.payload["kind"] = "digest"
    webpush.on_notification_created([event])
    assert not PushDelivery.objects.exists()


def test_nothing_is_queued_while_push_is_off(push_service, user, settings):
    subscribe(push_service, user, "laptop")
    settings.WEBPUSH_VAPID_PRIVATE_KEY = ""
    webpush.on_notification_created([created(reminder(user))])
    assert not PushDelivery.objects.exists()


@pytest.mark.parametrize("status", [404, 410])
def test_an_expired_subscription_is_removed(push_service, user, status):
    subscribe(push_service, user, "laptop")
    push_service.plan("laptop", status)
    delivery = pending(user)
    assert webpush.deliver(delivery.pk).outcome == "gone"
    assert not PushSubscription.objects.exists()
    assert not PushDelivery.objects.exists()


def test_an_unknown_endpoint_is_removed(push_service, user):
    subscribe(push_service, user, "laptop")
    PushSubscription.objects.update(endpoint=f"{push_service.origin}/push/unsubscribed")
    delivery = pending(user)
    assert webpush.deliver(delivery.pk) == webpush.DeliveryResult("gone", 404)
    assert not PushSubscription.objects.exists()


def test_a_server_error_is_retried_with_backoff_until_it_is_accepted(push_service, user):
    subscribe(push_service, user, "laptop")
    push_service.plan("laptop", 500, 201)
    delivery = pending(user)
    now = timezone.now()

    assert webpush.deliver_due(now=now) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("pending", 1, 500)
    delay = (delivery.next_attempt_at - now).total_seconds()
    assert webpush.BACKOFF_BASE_SECONDS / 2 <= delay <= webpush.BACKOFF_BASE_SECONDS
    assert webpush.deliver_due(now=now + timedelta(seconds=delay - 1)) == 0

    assert webpush.deliver_due(now=delivery.next_attempt_at) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("sent", 2, 201)
    # Both tries carried the same, decryptable message.
    assert len(push_service.messages_for("laptop")) == 2
    assert push_service.messages_for("laptop")[0] == push_service.messages_for("laptop")[1]


def test_too_many_requests_waits_as_long_as_the_service_asks(push_service, user):
    subscribe(push_service, user, "laptop")
    push_service.plan("laptop", (429, {"Retry-After": "600"}))
    delivery = pending(user)
    now = timezone.now()
    assert webpush.deliver(delivery.pk, now=now).outcome == "retry"
    delivery.refresh_from_db()
    assert delivery.next_attempt_at == now + timedelta(seconds=600)


def test_retries_are_bounded(push_service, user, settings):
    subscribe(push_service, user, "laptop")
    push_service.plan("laptop", *[503] * 10)
    delivery = pending(user)
    when = timezone.now()
    outcomes = []
    for _ in range(6):
        outcomes.append(webpush.deliver(delivery.pk, now=when).outcome)
        when += timedelta(seconds=webpush.BACKOFF_CAP_SECONDS)
    assert outcomes == ["retry", "retry", "retry", "failed", "skipped", "skipped"]
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("failed", settings.WEBPUSH_MAX_ATTEMPTS)
    assert "gave up after 4 attempts" in delivery.last_error
    assert len(push_service.received) == 4


def test_backoff_doubles_up_to_its_cap():
    now = timezone.now()
    for attempt in range(1, 12):
        delay = webpush.retry_delay(attempt, None, now)
        doubled = webpush.BACKOFF_BASE_SECONDS * 2 ** (attempt - 1)
        ceiling = min(webpush.BACKOFF_CAP_SECONDS, doubled)
        assert ceiling / 2 <= delay <= ceiling
    assert webpush.retry_delay(1, "100000", now) == webpush.BACKOFF_CAP_SECONDS


def test_a_refused_message_is_not_retried(push_service, user):
    subscribe(push_service, user, "laptop")
    push_service.plan("laptop", 413)
    delivery = pending(user)
    assert webpush.deliver(delivery.pk) == webpush.DeliveryResult("failed", 413, "HTTP 413")
    assert webpush.deliver_due(now=timezone.now() + timedelta(days=1)) == 0
    assert PushSubscription.objects.exists()


def test_a_redirect_is_not_followed(push_service, user):
    subscribe(push_service, user, "laptop")
    target = f"{push_service.origin}/push/elsewhere"
    push_service.subscribe("elsewhere")
    push_service.plan("laptop", (307, {"Location": target}))
    delivery = pending(user)
    assert webpush.deliver(delivery.pk).outcome == "failed"
    assert push_service.messages_for("elsewhere") == []


def test_an_unreachable_service_is_retried(push_settings, user):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    keys = BrowserKeys()
    webpush.push_subscription_save(
        user=user, endpoint=f"http://127.0.0.1:{port}/push/x", p256dh=keys.p256dh, auth=keys.auth
    )
    delivery = pending(user)
    result = webpush.deliver(delivery.pk)
    assert result.outcome == "retry"
    assert "ConnectionError" in result.detail


def test_a_slow_service_times_out_and_is_retried(push_service, user, settings):
    settings.WEBPUSH_TIMEOUT_SECONDS = 0.3
    push_service.delay = 1.0
    subscribe(push_service, user, "laptop")
    delivery = pending(user)
    result = webpush.deliver(delivery.pk)
    assert result.outcome == "retry"
    assert "Timeout" in result.detail


def test_an_attempt_in_hand_keeps_others_off(push_service, user):
    subscribe(push_service, user, "laptop")
    delivery = pending(user)
    now = timezone.now()
    PushDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=now + webpush.LEASE)
    assert webpush.deliver(delivery.pk, now=now).outcome == "skipped"
    assert push_service.received == []


def test_a_private_target_is_refused_at_send_time_when_no_longer_allowed(
    push_service, user, settings
):
    subscribe(push_service, user, "laptop")
    delivery = pending(user)
    settings.WEBPUSH_ALLOW_PRIVATE_TARGETS = False
    result = webpush.deliver(delivery.pk)
    assert result.outcome == "failed"
    assert "https" in result.detail
    assert push_service.received == []


# --- the loop and the Dapr paths ---------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_loop_sends_when_woken(push_service, user):
    subscribe(push_service, user, "laptop")
    loop = webpush.PushDeliveryLoop(max_sleep=30)
    loop.start()
    try:
        webpush.on_notification_created([created(reminder(user))])  # autocommit: wakes it
        arrived = threading.Event()
        for _ in range(100):
            if push_service.received:
                arrived.set()
                break
            arrived.wait(0.05)
        assert arrived.is_set()
    finally:
        loop.stop()
        loop.join(5)
    assert PushDelivery.objects.get().status == "sent"


def test_in_dapr_mode_the_worker_sends_right_after_the_commit(
    push_service, user, settings, django_capture_on_commit_callbacks
):
    settings.EVENT_BACKEND = "dapr"
    subscribe(push_service, user, "laptop")
    with django_capture_on_commit_callbacks(execute=True):
        webpush.on_notification_created([created(reminder(user))])
    assert len(push_service.messages_for("laptop")) == 1
    assert PushDelivery.objects.get().status == "sent"


def test_in_dapr_mode_a_retry_is_a_job(push_service, user, settings, monkeypatch):
    scheduled: list[dict[str, object]] = []

    class Gateway:
        def schedule_job(self, **job: object) -> None:
            scheduled.append(job)

    monkeypatch.setattr("todo_project.eventbus.publishers.dapr_gateway", Gateway)
    settings.EVENT_BACKEND = "dapr"
    subscribe(push_service, user, "laptop")
    push_service.plan("laptop", 502, 201)
    delivery = pending(user)
    assert webpush.deliver(delivery.pk).outcome == "retry"
    delivery.refresh_from_db()
    assert scheduled == [
        {
            "name": f"webpush-delivery-{delivery.pk}",
            "due_time": delivery.next_attempt_at,
            "data": {"delivery_id": delivery.pk},
        }
    ]
    # The job may fire a little early; it still sends.
    status, outcome = webpush.handle_job_trigger(f"webpush-delivery-{delivery.pk}", b"{}")
    assert (status, outcome) == (200, "sent")
    assert webpush.handle_job_trigger(f"webpush-delivery-{delivery.pk}", b"{}") == (200, "skipped")
    assert webpush.handle_job_trigger("webpush-delivery-x", b"") == (404, "unknown job")


def test_catch_up_sends_what_came_due(push_service, user):
    subscribe(push_service, user, "laptop")
    subscribe(push_service, user, "phone")
    webpush.on_notification_created([created(reminder(user))])
    assert webpush.catch_up() == 2
    assert len(push_service.received) == 2


# --- subscriptions -------------------------------------------------------------------------


def test_a_subscription_with_bad_keys_names_the_fields(push_settings, user):
    keys = BrowserKeys()
    with pytest.raises(ValidationError) as caught:
        webpush.push_subscription_save(
            user=user, endpoint="not a url", p256dh=keys.auth, auth=keys.p256dh
        )
    assert set(caught.value.message_dict) == {"endpoint", "p256dh", "auth"}
    not_on_curve = "B" + "A" * 86
    with pytest.raises(ValidationError) as caught:
        webpush.push_subscription_save(
            user=user, endpoint="http://127.0.0.1/p", p256dh=not_on_curve, auth=keys.auth
        )
    assert set(caught.value.message_dict) == {"p256dh"}


def test_the_same_browser_moves_to_whoever_subscribes_it(push_service, user, other_user):
    endpoint, keys = push_service.subscribe("shared")
    webpush.push_subscription_save(user=user, endpoint=endpoint, p256dh=keys.p256dh, auth=keys.auth)
    again = webpush.push_subscription_save(
        user=other_user, endpoint=endpoint, p256dh=keys.p256dh, auth=keys.auth
    )
    assert PushSubscription.objects.get() == again
    assert again.user == other_user
    assert not webpush.push_subscription_delete(user=user, endpoint=endpoint)
    assert webpush.push_subscription_delete(user=other_user, endpoint=endpoint)


@pytest.mark.parametrize(
    "url",
    [
        "http://push.example.com/x",
        "https://127.0.0.1/x",
        "https://localhost/x",
        "https://10.1.2.3/x",
        "https://192.168.0.1/x",
        "https://169.254.169.254/latest",
        "https://[::1]/x",
        "https://[fd00::1]/x",
        "https://user:pw@203.0.113.9/x",
        "https://no-such-host.invalid/x",
        "ftp://1.1.1.1/x",
    ],
)
def test_push_targets_must_be_https_on_public_addresses(settings, url):
    settings.WEBPUSH_ALLOW_PRIVATE_TARGETS = False
    with pytest.raises(webpush.PushTargetRefused):
        webpush.check_push_target(url)


def test_a_public_https_target_passes(settings):
    settings.WEBPUSH_ALLOW_PRIVATE_TARGETS = False
    webpush.check_push_target("https://1.1.1.1/push/abc")
    webpush.check_push_target("https://[2606:4700:4700::1111]:8443/push/abc")


def test_the_operator_setting_lets_local_targets_through(settings):
    settings.WEBPUSH_ALLOW_PRIVATE_TARGETS = True
    webpush.check_push_target("http://127.0.0.1:9/push")
    with pytest.raises(webpush.PushTargetRefused):
        webpush.check_push_target("file:///etc/passwd")


# --- keys ------------------------------------------------------------------------------------


def test_the_public_key_follows_from_the_private_one(push_settings):
    keys = webpush.vapid_keys()
    assert keys is not None
    assert keys.public_key == PUBLIC_KEY
    push_settings.WEBPUSH_VAPID_PUBLIC_KEY = PUBLIC_KEY
    assert webpush.vapid_keys().public_key == PUBLIC_KEY  # type: ignore[union-attr]
    assert webpush.check_vapid_settings() == []


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("WEBPUSH_VAPID_PUBLIC_KEY", BrowserKeys().p256dh, "not the private key's public key"),
        ("WEBPUSH_VAPID_PRIVATE_KEY", "bm90IGEga2V5", "not a P-256 key"),
        ("WEBPUSH_VAPID_SUBJECT", "ops@example.com", "mailto: or https:"),
    ],
)
def test_unusable_keys_fail_the_system_check(push_settings, setting, value, message):
    setattr(push_settings, setting, value)
    [error] = webpush.check_vapid_settings()
    assert message in error.msg
    assert error.id == "notifications.E001"


def test_push_is_off_without_a_private_key(settings):
    settings.WEBPUSH_VAPID_PRIVATE_KEY = ""
    assert webpush.vapid_keys() is None
    assert not webpush.push_enabled()
