"""Web push of reminders: VAPID (RFC 8292), aes128gcm payloads (RFC 8291) to the push
service of each subscribed browser (RFC 8030).

- A reminder's NotificationCreated (task-updates) makes one PushDelivery per subscription
  of its user, in the dispatch transaction; the unique (subscription, notification) pair
  makes a redelivered event a no-op.
- The HTTP requests happen after that commit, outside any transaction: embedded, in
  `PushDeliveryLoop` beside the local bus (woken on commit, sleeping until the next retry);
  Dapr, in the worker right after the handler's commit, with each retry a Dapr job
  `webpush-delivery-<id>` and a catch-up of due deliveries when the worker starts.
- 201 marks a delivery sent; 404 and 410 remove the subscription (it expired or the user
  revoked it); 429, 5xx and network errors retry with exponential backoff and jitter,
  at most WEBPUSH_MAX_ATTEMPTS times; anything else fails the delivery for good.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import logging
import random
import re
import socket
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.core import checks
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import close_old_connections, transaction
from django.db.models import F, Min
from django.urls import reverse
from django.utils import timezone
from py_vapid import Vapid, b64urlencode
from pywebpush import WebPushException, webpush

from todo_project.accounts.models import User
from todo_project.eventbus.envelope import Event

from .models import Notification
from .webpush_models import PushDelivery, PushSubscription

logger = logging.getLogger(__name__)

JOB_PREFIX = "webpush-delivery-"
_JOB_NAME = re.compile(rf"^{JOB_PREFIX}(\d+)$")
#: How long an attempt in hand keeps others off its delivery (longer than any request).
LEASE = timedelta(minutes=2)
BACKOFF_BASE_SECONDS = 30.0
BACKOFF_CAP_SECONDS = 30 * 60.0
#: How early a Dapr job trigger may come for its retry and still send it.
JOB_EARLY_GRACE = timedelta(seconds=60)
URGENCY = "high"  # RFC 8030 5.3: a reminder is time-sensitive

wakeup = threading.Event()


# --- configuration ---------------------------------------------------------------------


@dataclass(frozen=True)
class VapidKeys:
    vapid: Vapid
    #: The application server key browsers subscribe with (uncompressed P-256, base64url).
    public_key: str
    subject: str


class VapidMisconfigured(ValueError):
    pass


def vapid_keys() -> VapidKeys | None:
    """The server's VAPID identity, or None when push is off (no private key set)."""
    if not settings.WEBPUSH_VAPID_PRIVATE_KEY:
        return None
    return _load_keys(
        settings.WEBPUSH_VAPID_PRIVATE_KEY,
        settings.WEBPUSH_VAPID_PUBLIC_KEY,
        settings.WEBPUSH_VAPID_SUBJECT,
    )


@lru_cache(maxsize=4)
def _load_keys(private_key: str, public_key: str, subject: str) -> VapidKeys:
    try:
        vapid = Vapid.from_string(private_key=private_key)
    except Exception as exc:
        raise VapidMisconfigured(f"WEBPUSH_VAPID_PRIVATE_KEY is not a P-256 key: {exc}") from exc
    derived = public_key_text(vapid.public_key)
    if public_key and public_key.rstrip("=") != derived:
        raise VapidMisconfigured("WEBPUSH_VAPID_PUBLIC_KEY is not the private key's public key")
    if not subject.startswith(("mailto:", "https://")):
        raise VapidMisconfigured("WEBPUSH_VAPID_SUBJECT must be a mailto: or https: URL")
    return VapidKeys(vapid=vapid, public_key=derived, subject=subject)


def public_key_text(key: ec.EllipticCurvePublicKey) -> str:
    raw = key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return str(b64urlencode(raw))


def push_enabled() -> bool:
    return vapid_keys() is not None


def check_vapid_settings(**kwargs: Any) -> list[checks.CheckMessage]:
    """System check: push keys that are set must be usable (`manage.py check`)."""
    try:
        vapid_keys()
    except VapidMisconfigured as exc:
        return [checks.Error(str(exc), id="notifications.E001")]
    return []


# --- outbound target check ---------------------------------------------------------------


class PushTargetRefused(ValueError):
    """A push endpoint this server will not send to (server-side request forgery guard)."""


def check_push_target(url: str) -> None:
    """Refuse anything but https on public addresses, unless the operator allows private
    targets (WEBPUSH_ALLOW_PRIVATE_TARGETS, for a test push service on 127.0.0.1)."""
    allow_private = settings.WEBPUSH_ALLOW_PRIVATE_TARGETS
    parts = urlsplit(url)
    schemes = {"https", "http"} if allow_private else {"https"}
    if parts.scheme not in schemes:
        raise PushTargetRefused("The push endpoint must be an https URL.")
    if not parts.hostname:
        raise PushTargetRefused("The push endpoint has no host.")
    if parts.username or parts.password:
        raise PushTargetRefused("The push endpoint must not carry credentials.")
    if allow_private:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise PushTargetRefused("The push endpoint's host cannot be resolved.") from exc
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if not address.is_global:
            raise PushTargetRefused("The push endpoint is not on a public address.")


class _NoRedirectSession(requests.Session):
    """A redirect could lead past check_push_target: a push service never sends one."""

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs["allow_redirects"] = False
        return super().request(*args, **kwargs)


# --- subscriptions -------------------------------------------------------------------------


def _b64url_bytes(value: str) -> bytes | None:
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        return None


def _validate_subscription(endpoint: str, p256dh: str, auth: str) -> dict[str, str]:
    errors: dict[str, str] = {}
    try:
        URLValidator(schemes=["https", "http"])(endpoint)
        check_push_target(endpoint)
    except ValidationError:
        errors["endpoint"] = "Enter a valid URL."
    except PushTargetRefused as exc:
        errors["endpoint"] = str(exc)
    key = _b64url_bytes(p256dh)
    try:
        if key is None or len(key) != 65:
            raise ValueError
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), key)
    except ValueError:
        errors["p256dh"] = "Must be the subscription's P-256 public key (65 bytes, base64url)."
    secret = _b64url_bytes(auth)
    if secret is None or len(secret) != 16:
        errors["auth"] = "Must be the subscription's 16-byte auth secret (base64url)."
    return errors


def push_subscription_save(
    *, user: User, endpoint: str, p256dh: str, auth: str, user_agent: str = ""
) -> PushSubscription:
    """Store a browser's subscription for `user` (again: the keys may have changed).

    Raises ValidationError naming the field at fault; an endpoint must pass the target
    check now as well as at each send.
    """
    endpoint, p256dh, auth = endpoint.strip(), p256dh.strip(), auth.strip()
    errors = _validate_subscription(endpoint, p256dh, auth)
    if errors:
        raise ValidationError(errors)
    subscription, _ = PushSubscription.objects.update_or_create(
        endpoint=endpoint,
        defaults={
            "user": user,
            "p256dh": p256dh.rstrip("="),
            "auth": auth.rstrip("="),
            "user_agent": user_agent[:300],
        },
    )
    return subscription


def push_subscription_delete(*, user: User, endpoint: str) -> bool:
    deleted, _ = PushSubscription.objects.filter(user=user, endpoint=endpoint.strip()).delete()
    return bool(deleted)


def push_subscription_list(*, user: User) -> list[PushSubscription]:
    return list(PushSubscription.objects.filter(user=user))


def push_subscription_get(*, user: User, subscription_id: int) -> PushSubscription:
    return PushSubscription.objects.get(user=user, pk=subscription_id)


# --- the consumer -------------------------------------------------------------------------


def on_notification_created(events: Sequence[Event]) -> None:
    """One pending delivery per reminder notification and subscription of its user."""
    reminders = {
        int(event.payload["notification_id"]): int(event.payload["user_id"])
        for event in events
        if event.payload.get("kind", Notification.Kind.REMINDER) == Notification.Kind.REMINDER
    }
    if not reminders or not push_enabled():
        return
    subscriptions = PushSubscription.objects.filter(user_id__in=set(reminders.values()))
    by_user: dict[int, list[int]] = {}
    for subscription_id, user_id in subscriptions.values_list("pk", "user_id"):
        by_user.setdefault(user_id, []).append(subscription_id)
    # Only notifications that still exist (a user deleted since has none).
    existing = set(Notification.objects.filter(pk__in=reminders).values_list("pk", flat=True))
    now = timezone.now()
    rows = [
        PushDelivery(subscription_id=subscription_id, notification_id=nid, next_attempt_at=now)
        for nid, user_id in reminders.items()
        if nid in existing
        for subscription_id in by_user.get(user_id, [])
    ]
    if not rows:
        return
    # A redelivered event meets the unique pair: nothing is pushed twice.
    PushDelivery.objects.bulk_create(rows, ignore_conflicts=True)
    notification_ids = sorted({row.notification_id for row in rows})
    transaction.on_commit(lambda: _after_commit(notification_ids), robust=True)


def _after_commit(notification_ids: list[int]) -> None:
    if settings.EVENT_BACKEND != "dapr":
        wakeup.set()  # the loop beside the local bus sends them from its own thread
        return
    pending = PushDelivery.objects.filter(
        notification_id__in=notification_ids, status=PushDelivery.Status.PENDING
    ).values_list("pk", flat=True)
    for delivery_id in list(pending):
        deliver(delivery_id)


# --- delivery -------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryResult:
    outcome: str  # "sent", "retry", "failed", "gone" or "skipped"
    status_code: int | None = None
    detail: str = ""


def push_payload(notification: Notification) -> dict[str, Any]:
    """What the service worker shows: the task title, and where a click goes."""
    url = (
        reverse("tasks:edit", args=[notification.task_id])
        if notification.task_id
        else reverse("notifications:inbox")
    )
    return {
        "title": notification.message,
        "body": "Reminder",
        "url": url,
        "tag": f"reminder-{notification.pk}",
        "notification_id": notification.pk,
        "task_id": notification.task_id,
    }


@dataclass(frozen=True)
class PushResponse:
    status_code: int
    retry_after: str | None = None


def send_push(
    subscription: PushSubscription, payload: dict[str, Any], *, topic: str, now: datetime
) -> PushResponse:
    """POST one encrypted message to the subscription's push service.

    Raises PushTargetRefused for an endpoint that fails the target check and
    requests.RequestException when no answer came.
    """
    keys = vapid_keys()
    if keys is None:
        raise VapidMisconfigured("web push is off: WEBPUSH_VAPID_PRIVATE_KEY is not set")
    check_push_target(subscription.endpoint)
    parts = urlsplit(subscription.endpoint)
    claims: dict[str, str | int] = {
        "sub": keys.subject,
        "aud": f"{parts.scheme}://{parts.netloc}",
        # RFC 8292: at most 24 hours ahead.
        "exp": int(now.timestamp()) + 12 * 3600,
    }
    with _NoRedirectSession() as session:
        try:
            response = webpush(
                subscription_info={
                    "endpoint": subscription.endpoint,
                    "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth},
                },
                data=json.dumps(payload, separators=(",", ":")),
                vapid_private_key=keys.vapid,
                vapid_claims=claims,
                content_encoding="aes128gcm",
                ttl=settings.WEBPUSH_TTL_SECONDS,
                timeout=settings.WEBPUSH_TIMEOUT_SECONDS,
                headers={"Urgency": URGENCY, "Topic": topic},
                requests_session=session,
            )
        except WebPushException as exc:
            if exc.response is None:
                raise
            return PushResponse(exc.status_code or 0, exc.retry_after)
    assert isinstance(response, requests.Response)
    return PushResponse(response.status_code)


def retry_delay(attempt: int, retry_after: str | None, now: datetime) -> float:
    """Seconds before try `attempt + 1`: exponential with jitter, at least what the push
    service asked for in Retry-After, never more than BACKOFF_CAP_SECONDS."""
    delay = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** (attempt - 1))
    delay *= random.uniform(0.5, 1.0)
    asked = _retry_after_seconds(retry_after, now)
    return min(BACKOFF_CAP_SECONDS, max(delay, asked))


def _retry_after_seconds(value: str | None, now: datetime) -> float:
    if not value:
        return 0.0
    if value.strip().isdigit():
        return float(value.strip())
    try:
        return max(0.0, (parsedate_to_datetime(value) - now).total_seconds())
    except (TypeError, ValueError):
        return 0.0


def deliver(
    delivery_id: int, *, now: datetime | None = None, due_by: datetime | None = None
) -> DeliveryResult:
    """Try one delivery if it is pending and due by `due_by` (default `now`): one step
    that tests, the loop, the Dapr worker and job triggers call. Never inside a
    transaction: the request may take up to WEBPUSH_TIMEOUT_SECONDS."""
    now = now or timezone.now()
    claimed = PushDelivery.objects.filter(
        pk=delivery_id,
        status=PushDelivery.Status.PENDING,
        next_attempt_at__lte=due_by or now,
    ).update(next_attempt_at=now + LEASE, attempts=F("attempts") + 1)
    if not claimed:
        return DeliveryResult("skipped", detail="not pending or not due")
    delivery = (
        PushDelivery.objects.select_related("subscription", "notification")
        .filter(pk=delivery_id)
        .first()
    )
    if delivery is None:  # its subscription was removed since
        return DeliveryResult("skipped", detail="removed")
    payload = push_payload(delivery.notification)
    try:
        response = send_push(
            delivery.subscription, payload, topic=f"reminder-{delivery.notification_id}", now=now
        )
    except (PushTargetRefused, VapidMisconfigured, WebPushException) as exc:
        return _fail(delivery, None, str(exc))
    except requests.RequestException as exc:
        return _retry_or_fail(delivery, None, f"{type(exc).__name__}: {exc}", None, now)
    except Exception as exc:  # a subscription whose keys cannot encrypt, say: never retried
        logger.exception("push delivery %s could not be sent", delivery.pk)
        return _fail(delivery, None, f"{type(exc).__name__}: {exc}")
    status = response.status_code
    if 200 <= status < 300:
        PushDelivery.objects.filter(pk=delivery.pk).update(
            status=PushDelivery.Status.SENT, sent_at=now, last_status_code=status, last_error=""
        )
        PushSubscription.objects.filter(pk=delivery.subscription_id).update(last_success_at=now)
        return DeliveryResult("sent", status)
    if status in (404, 410):
        logger.info("push subscription %s is gone (%s): removed", delivery.subscription_id, status)
        delivery.subscription.delete()
        return DeliveryResult("gone", status)
    if status == 429 or status >= 500:
        return _retry_or_fail(delivery, status, f"HTTP {status}", response.retry_after, now)
    return _fail(delivery, status, f"HTTP {status}")


def _fail(delivery: PushDelivery, status: int | None, error: str) -> DeliveryResult:
    logger.warning("push delivery %s failed: %s", delivery.pk, error)
    PushDelivery.objects.filter(pk=delivery.pk).update(
        status=PushDelivery.Status.FAILED, last_status_code=status, last_error=error[:500]
    )
    return DeliveryResult("failed", status, error)


def _retry_or_fail(
    delivery: PushDelivery,
    status: int | None,
    error: str,
    retry_after: str | None,
    now: datetime,
) -> DeliveryResult:
    attempt = delivery.attempts
    if attempt >= settings.WEBPUSH_MAX_ATTEMPTS:
        return _fail(delivery, status, f"{error} (gave up after {attempt} attempts)")
    when = now + timedelta(seconds=retry_delay(attempt, retry_after, now))
    PushDelivery.objects.filter(pk=delivery.pk).update(
        next_attempt_at=when, last_status_code=status, last_error=error[:500]
    )
    _schedule_retry(delivery.pk, when)
    return DeliveryResult("retry", status, error)


def _schedule_retry(delivery_id: int, when: datetime) -> None:
    if settings.EVENT_BACKEND != "dapr":
        return  # the loop sleeps until the next due delivery
    from todo_project.eventbus.publishers import dapr_gateway

    dapr_gateway().schedule_job(
        name=job_name(delivery_id), due_time=when, data={"delivery_id": delivery_id}
    )


def job_name(delivery_id: int) -> str:
    return f"{JOB_PREFIX}{delivery_id}"


def handle_job_trigger(name: str, body: bytes) -> tuple[int, str]:
    """Dapr job `webpush-delivery-<id>` fired: the retry it was scheduled for."""
    match = _JOB_NAME.match(name)
    if match is None:
        return 404, "unknown job"
    now = timezone.now()
    result = deliver(int(match.group(1)), now=now, due_by=now + JOB_EARLY_GRACE)
    return 200, result.outcome


def deliver_due(*, now: datetime | None = None, limit: int = 200) -> int:
    """Try every delivery due at `now` (a step of the loop; the Dapr worker's catch-up);
    returns how many it tried."""
    now = now or timezone.now()
    due = list(
        PushDelivery.objects.filter(status=PushDelivery.Status.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    for delivery_id in due:
        deliver(delivery_id, now=now)
    return len(due)


def next_due_at() -> datetime | None:
    return PushDelivery.objects.filter(status=PushDelivery.Status.PENDING).aggregate(
        first=Min("next_attempt_at")
    )["first"]


class PushDeliveryLoop(threading.Thread):
    """Embedded mode: sends new deliveries when woken, and retries when they come due."""

    def __init__(self, *, max_sleep: float = 60.0) -> None:
        super().__init__(name="webpush-delivery", daemon=True)
        self.max_sleep = max_sleep
        self.stopping = threading.Event()

    def stop(self) -> None:
        self.stopping.set()
        wakeup.set()

    def run(self) -> None:
        while not self.stopping.is_set():
            wakeup.clear()
            upcoming = None
            try:
                if push_enabled():
                    while deliver_due() and not self.stopping.is_set():
                        pass
                    upcoming = next_due_at()
            except Exception:
                logger.exception("push delivery pass failed")
            finally:
                close_old_connections()
            sleep = self.max_sleep
            if upcoming is not None:
                sleep = min(sleep, max(0.0, (upcoming - timezone.now()).total_seconds()))
            wakeup.wait(sleep)


def catch_up() -> int:
    """Dapr worker start: deliveries whose retry job may have fired while it was down."""
    if not push_enabled():
        return 0
    total = 0
    while batch := deliver_due():
        total += batch
    return total
