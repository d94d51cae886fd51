"""The outbox relay: publishes committed events in order per partition key.

On PostgreSQL rows are claimed with FOR UPDATE SKIP LOCKED so relays in several processes
can run side by side; a key whose oldest pending row is held by another relay is left to
that relay, which keeps per-key order. A failed row blocks only its own key, with
exponential backoff, and records the attempt and the error.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Protocol

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.db.models import F, Min
from django.utils import timezone

from todo_project.observability import EVENTS_PUBLISH_FAILED, EVENTS_PUBLISHED

from .models import OutboxMessage
from .publishers import TransportUnavailable
from .signals import relay_wakeup

logger = logging.getLogger(__name__)

#: Rows claimed per pass, handed to the publisher together when they are ready: at this
#: size a pass of the embedded bus (one transaction with the handlers' effects) takes
#: tens of milliseconds (`make bench-events`), so effects show up without cutting it short.
BATCH_SIZE = 200
#: How often a relay whose transport is down looks again.
UNAVAILABLE_RETRY_SECONDS = 0.5
# One relay per process: the in-process loop and a wake-up must not publish concurrently.
_process_lock = threading.Lock()


class Publisher(Protocol):
    """Publishes rows in order, in the relay's transaction; a single row is a batch of
    one. Raises TransportUnavailable when the transport itself is down (the relay then
    leaves every row alone), anything else when the rows could not all be delivered."""

    def available(self) -> bool:
        """False while the transport is down: the relay then claims nothing."""

    def publish(self, messages: Sequence[OutboxMessage]) -> None: ...


@dataclass
class RelayResult:
    published: int = 0
    failed: int = 0
    claimed: int = 0
    #: The transport itself is down (this process's sidecar): nothing was claimed or
    #: charged to a row, so another relay whose transport works takes the rows at once.
    unavailable: bool = False


def backoff(attempts: int) -> timedelta:
    seconds = min(settings.OUTBOX_MAX_ATTEMPTS_BACKOFF_SECONDS, 0.5 * 2 ** (attempts - 1))
    return timedelta(seconds=seconds)


def relay_once(
    publisher: Publisher, *, batch_size: int = BATCH_SIZE, now: datetime | None = None
) -> RelayResult:
    """One pass: claim up to `batch_size` pending rows and publish what may go now.

    The rows that were never tried and wait behind no other row of their key go to the
    publisher together. If that fails nothing of it is kept, and every row goes alone, so
    that a failure stays with its row (attempts, backoff, dead letter) and its key.
    """
    now = now or timezone.now()
    with _process_lock:
        if not publisher.available():
            return RelayResult(unavailable=True)
        return _relay(publisher, batch_size=batch_size, now=now)


def _relay(publisher: Publisher, *, batch_size: int, now: datetime) -> RelayResult:
    result = RelayResult()
    with transaction.atomic():
        pending = OutboxMessage.objects.filter(published_at=None).order_by("id")
        if connection.features.has_select_for_update_skip_locked:
            pending = pending.select_for_update(skip_locked=True)
        rows = list(pending[:batch_size])
        if not rows:
            return result
        result.claimed = len(rows)
        blocked = _keys_held_elsewhere(rows)
        published: list[OutboxMessage] = []
        together = _ready(rows, blocked)
        if len(together) > 1:
            try:
                with transaction.atomic():  # a failed delivery keeps nothing of it
                    publisher.publish(together)
                published = together
            except TransportUnavailable as exc:
                logger.warning("relay paused, transport unavailable: %s", exc)
                result.unavailable = True
                return result
            except Exception:
                logger.info(
                    "publishing %d rows together failed; one at a time",
                    len(together),
                    exc_info=True,
                )
        done = {row.pk for row in published}
        for row in rows:
            if row.pk in done or row.partition_key in blocked:
                continue
            if row.next_attempt_at is not None and row.next_attempt_at > now:
                blocked.add(row.partition_key)
                continue
            try:
                publisher.publish([row])
            except TransportUnavailable as exc:
                # Not this row's fault: leave it (and the rest) for a relay that can publish.
                logger.warning("relay paused, transport unavailable: %s", exc)
                result.unavailable = True
                break
            except Exception as exc:
                blocked.add(row.partition_key)
                row.attempts += 1
                row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
                row.next_attempt_at = now + backoff(row.attempts)
                row.save(update_fields=["attempts", "last_error", "next_attempt_at"])
                result.failed += 1
                EVENTS_PUBLISH_FAILED.labels(topic=row.topic).inc()
                logger.warning(
                    "publishing %s %s to %s failed (attempt %d): %s",
                    row.event_type,
                    row.event_id,
                    row.topic,
                    row.attempts,
                    exc,
                )
                continue
            published.append(row)
        if published:
            OutboxMessage.objects.filter(pk__in=[row.pk for row in published]).update(
                published_at=now, attempts=F("attempts") + 1, last_error="", next_attempt_at=None
            )
            transaction.on_commit(partial(_count_published, [row.topic for row in published]))
        result.published = len(published)
    return result


def _count_published(topics: list[str]) -> None:
    for topic, number in Counter(topics).items():
        EVENTS_PUBLISHED.labels(topic=topic).inc(number)


def _ready(rows: list[OutboxMessage], blocked: set[str]) -> list[OutboxMessage]:
    """The rows to deliver as one batch, in order: never tried before, and not behind a
    row of their key that is held by another relay, failed before or waits out a backoff.
    (A row that failed once goes alone from then on, so that a failing handler runs once
    per attempt.)"""
    held = set(blocked)
    ready = []
    for row in rows:
        if row.partition_key in held:
            continue
        if row.attempts or row.next_attempt_at is not None:
            held.add(row.partition_key)
            continue
        ready.append(row)
    return ready


def _keys_held_elsewhere(rows: list[OutboxMessage]) -> set[str]:
    """Keys whose oldest pending row is not in this batch (locked by another relay)."""
    ours: dict[str, int] = {}
    for row in rows:
        ours.setdefault(row.partition_key, row.pk)
    oldest = dict(
        OutboxMessage.objects.filter(published_at=None, partition_key__in=list(ours))
        .values("partition_key")
        .annotate(first=Min("id"))
        .values_list("partition_key", "first")
    )
    return {key for key, first_id in ours.items() if oldest.get(key, first_id) < first_id}


def next_retry_delay(now: datetime | None = None) -> float | None:
    """Seconds until the earliest backed-off row is due again, None if none waits."""
    due = OutboxMessage.objects.filter(published_at=None, next_attempt_at__isnull=False).aggregate(
        first=Min("next_attempt_at")
    )["first"]
    if due is None:
        return None
    return max(0.0, (due - (now or timezone.now())).total_seconds())


def drain(publisher: Publisher, *, batch_size: int = BATCH_SIZE) -> int:
    """Publish until nothing publishable is left; returns how many were published."""
    return relay_until_idle(publisher, batch_size=batch_size).published


def relay_until_idle(publisher: Publisher, *, batch_size: int = BATCH_SIZE) -> RelayResult:
    """Relay until nothing publishable is left; the passes' results added up."""
    total = RelayResult()
    while True:
        result = relay_once(publisher, batch_size=batch_size)
        total.published += result.published
        total.failed += result.failed
        total.claimed += result.claimed
        total.unavailable = result.unavailable
        if result.unavailable or result.published == 0 or result.claimed < batch_size:
            return total


class RelayLoop(threading.Thread):
    """Runs the relay in a background thread: on every commit that wrote events, and on a
    slow poll as the safety net (other processes' commits, rows in backoff)."""

    def __init__(self, publisher: Publisher, *, poll_seconds: float | None = None) -> None:
        super().__init__(name="outbox-relay", daemon=True)
        self.publisher = publisher
        self.poll_seconds = poll_seconds or settings.OUTBOX_POLL_SECONDS
        self.stopping = threading.Event()

    def stop(self) -> None:
        self.stopping.set()
        relay_wakeup.set()

    def run(self) -> None:
        timeout = 0.0
        retry_in: float | None = 0.0  # look for rows in backoff (e.g. before a restart) once
        while not self.stopping.is_set():
            relay_wakeup.wait(timeout)
            relay_wakeup.clear()
            if self.stopping.is_set():
                break
            try:
                result = relay_until_idle(self.publisher)
                # Only after a failure, or while rows are known to wait: most wake-ups are
                # a commit or two, and this query would be a third of their work.
                if result.failed or retry_in is not None:
                    retry_in = next_retry_delay()
                if result.unavailable:
                    # Rows' backoffs do not matter while nothing can be published: look
                    # again at this pace, and the first pass after the transport returns
                    # drains (never a busy loop on a row that was due already).
                    retry_in = UNAVAILABLE_RETRY_SECONDS
            except Exception:
                logger.exception("outbox relay pass failed")
                retry_in = None
            finally:
                close_old_connections()
            timeout = self.poll_seconds if retry_in is None else min(retry_in, self.poll_seconds)
