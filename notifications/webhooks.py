"""Webhooks: registering endpoints (writes), turning events into deliveries (the
handler's effect) and sending them (one step of the delivery loop).

A handler only writes delivery rows, in the dispatch transaction; the HTTP requests go
out later from the delivery loop (notifications.webhook_worker), outside any transaction
and with timeouts, so a slow receiver holds up neither the bus nor the reminders.
"""

from __future__ import annotations

import json
import logging
import random
import secrets
import threading
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, connections, transaction
from django.utils import timezone

from tasks.events import TASK_COMPLETED, TASK_CREATED, TASK_DELETED, TASK_UPDATED
from tasks.reminders import REMINDER_DUE
from todo_project.accounts.models import User
from todo_project.eventbus.envelope import TASK_UPDATES, Event, PayloadEncoder, build_event
from todo_project.eventbus.outbox import enqueue

from . import webhook_http, webhook_selectors
from .models import Notification
from .services import NOTIFICATION_CREATED, notification_payload
from .webhook_models import (
    TEST_EVENT,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)

logger = logging.getLogger(__name__)

#: Our event types, and the webhook event each one is delivered as.
WEBHOOK_EVENT_OF: dict[str, str] = {
    TASK_CREATED: WebhookEvent.TASK_CREATED,
    TASK_UPDATED: WebhookEvent.TASK_UPDATED,
    TASK_COMPLETED: WebhookEvent.TASK_COMPLETED,
    TASK_DELETED: WebhookEvent.TASK_DELETED,
    REMINDER_DUE: WebhookEvent.REMINDER_FIRED,
}
MAX_ENDPOINTS_PER_USER = 20
#: Set on commit of every new delivery: the delivery loop of this process looks at once.
delivery_wakeup = threading.Event()


# --------------------------------------------------------------------------- validation


def clean_url(value: Any) -> str:
    url = str(value or "").strip()
    if not url:
        raise ValidationError({"url": "Enter the URL of your receiver."})
    if len(url) > 2000:
        raise ValidationError({"url": "The URL is too long (2000 characters at most)."})
    try:
        webhook_http.resolve_target(url, allow_private=settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS)
    except webhook_http.TargetRefused as exc:
        raise ValidationError({"url": str(exc)}) from None
    return url


def clean_events(values: Any) -> list[str]:
    if isinstance(values, str) or not isinstance(values, Iterable):
        raise ValidationError({"events": "Give a list of events."})
    chosen = {str(value).strip() for value in values}
    unknown = sorted(chosen - set(WebhookEvent.values))
    if unknown:
        known = ", ".join(WebhookEvent.values)
        raise ValidationError({"events": f"Unknown event {unknown[0]!r}; choose from {known}."})
    if not chosen:
        raise ValidationError({"events": "Choose at least one event."})
    return [event for event in WebhookEvent.values if event in chosen]


def clean_description(value: Any) -> str:
    description = " ".join(str(value or "").split())
    if "\x00" in description:
        raise ValidationError({"description": "The description may not contain NUL characters."})
    if len(description) > 200:
        raise ValidationError({"description": "At most 200 characters."})
    return description


def new_secret() -> str:
    return f"whsec_{secrets.token_urlsafe(32)}"


# ------------------------------------------------------------------------------- writes


class EndpointLimitReached(ValidationError):
    """The user has MAX_ENDPOINTS_PER_USER endpoints: a conflict with what is stored (the
    API answers 409), not a fault of the request."""


def webhook_endpoint_create(
    *, user: User, url: Any, events: Any, description: Any = ""
) -> WebhookEndpoint:
    """A new endpoint with a new secret (read it from the returned object: it is shown
    to the user this once)."""
    data = {"url": url, "events": events, "description": description}
    errors: dict[str, Any] = {}
    cleaned = _clean(data, errors)
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=user.pk).first()  # one count at a time
        if errors:
            raise ValidationError(errors)
        if WebhookEndpoint.objects.filter(user=user).count() >= MAX_ENDPOINTS_PER_USER:
            raise EndpointLimitReached(
                f"You have {MAX_ENDPOINTS_PER_USER} endpoints already; delete one first."
            )
        return WebhookEndpoint.objects.create(user=user, secret=new_secret(), **cleaned)


def _clean(data: Mapping[str, Any], errors: dict[str, Any]) -> dict[str, Any]:
    cleaners = {"url": clean_url, "events": clean_events, "description": clean_description}
    cleaned = {}
    for field, value in data.items():
        try:
            cleaned[field] = cleaners[field](value)
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                errors.setdefault(name, []).extend(messages)
    return cleaned


def webhook_endpoint_update(
    *, endpoint: WebhookEndpoint, data: Mapping[str, Any]
) -> WebhookEndpoint:
    """Change url, events, description and `enabled` (re-enabling clears the failures)."""
    errors: dict[str, Any] = {}
    cleaned = _clean(
        {k: v for k, v in data.items() if k in {"url", "events", "description"}}, errors
    )
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        locked = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        for field, value in cleaned.items():
            setattr(locked, field, value)
        if "enabled" in data and data["enabled"] is not None:
            if data["enabled"] and locked.disabled_at is not None:
                locked.disabled_at = None
                locked.disabled_reason = ""
                locked.consecutive_failures = 0
            elif not data["enabled"] and locked.disabled_at is None:
                _disable(locked, reason="Disabled by you.", now=timezone.now())
        locked.save()
    return locked


def webhook_endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    endpoint.delete()


def webhook_secret_rotate(*, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """A new secret; the old one keeps signing (a second v1 signature) for
    WEBHOOK_SECRET_GRACE_HOURS, so the receiver can switch without losing a delivery."""
    grace = timedelta(hours=settings.WEBHOOK_SECRET_GRACE_HOURS)
    with transaction.atomic():
        locked = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        if grace:
            locked.previous_secret = locked.secret
            locked.previous_secret_expires_at = timezone.now() + grace
        else:
            locked.previous_secret = ""
            locked.previous_secret_expires_at = None
        locked.secret = new_secret()
        locked.save()
    return locked


def webhook_send_test(*, endpoint: WebhookEndpoint) -> WebhookDelivery:
    """Queue a `webhook.test` delivery to this endpoint, whatever events it has chosen."""
    if not endpoint.is_enabled:
        raise ValidationError({"enabled": "The endpoint is disabled: enable it first."})
    event = build_event(
        "WebhookTest",
        {"user_id": endpoint.user_id, "endpoint_id": endpoint.pk, "message": "A test event."},
    )
    with transaction.atomic():
        delivery = WebhookDelivery.objects.create(
            endpoint=endpoint,
            event_id=event.event_id,
            event_type=TEST_EVENT,
            body=_body(TEST_EVENT, event.to_envelope()),
            next_attempt_at=event.timestamp,
        )
        transaction.on_commit(delivery_wakeup.set)
    return delivery


def _body(webhook_event: str, envelope: Mapping[str, Any]) -> str:
    return json.dumps(
        {"type": webhook_event, **envelope}, cls=PayloadEncoder, separators=(",", ":")
    )


# ------------------------------------------------------------------ the handler's effect


def webhook_deliveries_create(events: Sequence[Event]) -> None:
    """One delivery per event and subscribed, enabled endpoint of the event's user (the
    handler's effect, in the dispatch transaction).

    A redelivered event meets the unique (endpoint, event id) and adds nothing.
    """
    wanted = [e for e in events if e.event_type in WEBHOOK_EVENT_OF and e.user_id is not None]
    by_user: dict[int | None, list[WebhookEndpoint]] = {}
    if wanted:
        user_ids = {event.user_id for event in wanted}
        for endpoint in webhook_selectors.enabled_endpoints(user_ids=user_ids):
            by_user.setdefault(endpoint.user_id, []).append(endpoint)
    now = timezone.now()
    rows = [
        WebhookDelivery(
            endpoint=endpoint,
            event_id=event.event_id,
            event_type=WEBHOOK_EVENT_OF[event.event_type],
            body=_body(WEBHOOK_EVENT_OF[event.event_type], event.to_envelope()),
            next_attempt_at=now,
        )
        for event in wanted
        for endpoint in by_user.get(event.user_id, [])
        if WEBHOOK_EVENT_OF[event.event_type] in endpoint.events
    ]
    if rows:
        WebhookDelivery.objects.bulk_create(rows, ignore_conflicts=True)
        transaction.on_commit(delivery_wakeup.set)


# ----------------------------------------------------------------------------- sending


@dataclass(frozen=True)
class AttemptResult:
    status_code: int | None
    duration_ms: int
    error: str

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff with full jitter after the `attempts`-th failure."""
    ceiling = min(
        settings.WEBHOOK_MAX_BACKOFF_SECONDS,
        settings.WEBHOOK_BACKOFF_SECONDS * 2 ** (attempts - 1),
    )
    return timedelta(seconds=random.uniform(ceiling / 2, ceiling))


def webhook_deliver_due(*, now: datetime | None = None, limit: int = 50, workers: int = 1) -> int:
    """One step of the delivery loop: claim the due deliveries, send each (up to
    `workers` at once), record the outcomes; returns how many were attempted."""
    now = now or timezone.now()
    claimed = _claim_due(now=now, limit=limit)
    if workers <= 1 or len(claimed) <= 1:
        for delivery in claimed:
            _attempt(delivery, now=now)
    else:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="webhook") as pool:
            list(pool.map(lambda d: _attempt_in_thread(d, now=now), claimed))
    return len(claimed)


def _claim_due(*, now: datetime, limit: int) -> list[WebhookDelivery]:
    """Take the due deliveries for one lease: a crashed sender's claims come due again
    when it ends, a live one's are skipped by other processes (SKIP LOCKED, then the
    lease)."""
    lease = timedelta(seconds=settings.WEBHOOK_TIMEOUT_SECONDS * 2 + 30)
    with transaction.atomic():
        due = webhook_selectors.due_deliveries(now=now)
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True, of=("self",))
        claimed = list(due[:limit])
        if claimed:
            WebhookDelivery.objects.filter(pk__in=[d.pk for d in claimed]).update(
                next_attempt_at=now + lease
            )
    return claimed


def _attempt_in_thread(delivery: WebhookDelivery, *, now: datetime) -> None:
    try:
        _attempt(delivery, now=now)
    finally:
        connections.close_all()  # this thread's own connections


def _attempt(delivery: WebhookDelivery, *, now: datetime) -> None:
    endpoint = delivery.endpoint
    try:
        result = _send(delivery, endpoint, now=now)
    except Exception as exc:  # never lose the record of an attempt to a surprise
        logger.exception("webhook delivery %s failed unexpectedly", delivery.pk)
        result = AttemptResult(None, 0, f"{type(exc).__name__}: {exc}"[:500])
    _record(delivery, result, now=now)


def endpoint_secrets(endpoint: WebhookEndpoint, *, now: datetime) -> list[str]:
    """The secrets that sign now: the current one, and the previous one in its grace."""
    keep_old = (
        endpoint.previous_secret
        and endpoint.previous_secret_expires_at is not None
        and endpoint.previous_secret_expires_at > now
    )
    return [endpoint.secret, endpoint.previous_secret] if keep_old else [endpoint.secret]


def _send(delivery: WebhookDelivery, endpoint: WebhookEndpoint, *, now: datetime) -> AttemptResult:
    body = delivery.body.encode()
    try:
        # Checked again at every attempt: what the name resolves to may have changed.
        target = webhook_http.resolve_target(
            endpoint.url, allow_private=settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS
        )
    except webhook_http.TargetRefused as exc:
        return AttemptResult(None, 0, str(exc)[:500])
    headers = {
        webhook_http.SIGNATURE_HEADER: webhook_http.signature_header(
            body, endpoint_secrets(endpoint, now=now), int(timezone.now().timestamp())
        ),
        "X-Todo-Event": delivery.event_type,
        "X-Todo-Delivery": str(delivery.pk),
    }
    try:
        answer = webhook_http.post(target, body, headers, timeout=settings.WEBHOOK_TIMEOUT_SECONDS)
    except httpx.HTTPError as exc:
        return AttemptResult(None, 0, f"{type(exc).__name__}: {exc}"[:500])
    error = "" if 200 <= answer.status_code < 300 else f"HTTP {answer.status_code}"
    if 300 <= answer.status_code < 400:
        error += " (redirects are not followed)"
    return AttemptResult(answer.status_code, answer.duration_ms, error)


def _record(claimed: WebhookDelivery, result: AttemptResult, *, now: datetime) -> None:
    with transaction.atomic():
        # The endpoint first, then the delivery: the order in which updates and disabling
        # lock them too.
        endpoint = (
            WebhookEndpoint.objects.select_for_update().filter(pk=claimed.endpoint_id).first()
        )
        delivery = WebhookDelivery.objects.select_for_update().filter(pk=claimed.pk).first()
        if endpoint is None or delivery is None:
            return  # the endpoint was deleted meanwhile
        WebhookAttempt.objects.create(
            delivery=delivery,
            attempted_at=now,
            status_code=result.status_code,
            duration_ms=result.duration_ms,
            error=result.error,
        )
        if result.succeeded:
            delivery.status = WebhookDelivery.Status.SUCCEEDED
            delivery.finished_at = now
            delivery.next_attempt_at = None
            endpoint.consecutive_failures = 0
        else:
            endpoint.consecutive_failures += 1
        # A delivery given up meanwhile (its endpoint was disabled) is not retried.
        if not result.succeeded and delivery.status == WebhookDelivery.Status.PENDING:
            attempts = delivery.attempts.count()
            if attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
                delivery.status = WebhookDelivery.Status.FAILED
                delivery.finished_at = now
                delivery.next_attempt_at = None
            else:
                delivery.next_attempt_at = now + retry_delay(attempts)
        delivery.save(update_fields=["status", "finished_at", "next_attempt_at"])
        if (
            endpoint.is_enabled
            and endpoint.consecutive_failures >= settings.WEBHOOK_DISABLE_AFTER_FAILURES
        ):
            reason = (
                f"Disabled after {endpoint.consecutive_failures} failed attempts in a row "
                f"(last: {result.error or 'no answer'})."
            )
            _disable(endpoint, reason=reason, now=now)
            _notify_disabled(endpoint)
        endpoint.save(update_fields=["consecutive_failures", "disabled_at", "disabled_reason"])
    log = logger.info if result.succeeded else logger.warning
    log(
        "webhook delivery %s to endpoint %s: %s in %d ms",
        claimed.pk,
        claimed.endpoint_id,
        result.status_code or result.error,
        result.duration_ms,
    )


def webhook_log_prune(*, now: datetime | None = None) -> int:
    """Delete the deliveries (and their attempts) that finished more than
    WEBHOOK_LOG_RETENTION_DAYS ago; returns how many deliveries went."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.WEBHOOK_LOG_RETENTION_DAYS)
    finished = WebhookDelivery.objects.filter(finished_at__lt=cutoff).exclude(
        status=WebhookDelivery.Status.PENDING
    )
    deleted = finished.delete()[1]
    return deleted.get(WebhookDelivery._meta.label, 0)


def _disable(endpoint: WebhookEndpoint, *, reason: str, now: datetime) -> None:
    """Mark disabled (the caller saves) and give up its pending deliveries: a disabled
    endpoint receives nothing, and nothing piles up for it."""
    endpoint.disabled_at = now
    endpoint.disabled_reason = reason[:300]
    endpoint.deliveries.filter(status=WebhookDelivery.Status.PENDING).update(
        status=WebhookDelivery.Status.FAILED, finished_at=now, next_attempt_at=None
    )


def _notify_disabled(endpoint: WebhookEndpoint) -> None:
    """An inbox notification for the owner, announced for live badges and toasts."""
    notification = Notification.objects.create(
        user_id=endpoint.user_id,
        kind=Notification.Kind.WEBHOOK_DISABLED,
        message=f"Webhook {endpoint.url} was disabled: {endpoint.disabled_reason}"[:500],
    )
    event = build_event(NOTIFICATION_CREATED, notification_payload(notification))
    enqueue(event, topics=(TASK_UPDATES,), partition_key=endpoint.user_id)
