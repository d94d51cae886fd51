"""The outbox relay: publishes committed events in order per partition key.

On PostgreSQL rows are claimed with FOR UPDATE SKIP LOCKED so relays in several processes
can run side by side; a key whose oldest pending row is held by another relay is left to
that relay, which keeps per-key order. A failed row blocks only its own key, with
exponential backoff, and records the attempt and the error.
"""

from __future__ import annotations

import logging
import threading
import time
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
from .publishers import BatchFailed, TransportUnavailable
from .signals import relay_wakeup

logger = logging.getLogger(__name__)

BATCH_SIZE = 200
#: Most rows handed to publish_batch at once. Chunks are sized from how long rows took
#: lately so that a pass ends near its deadline (OUTBOX_BATCH_SECONDS) even when the
#: handlers are slow, and their effects are not held back for long.
CHUNK_SIZE = BATCH_SIZE
#: How often a relay whose transport is down looks again.
UNAVAILABLE_RETRY_SECONDS = 0.5
# One relay per process: the in-process loop and a wake-up must not publish concurrently.
_process_lock = threading.Lock()


class Publisher(Protocol):
    """Publishes one row. May also offer publish_batch(rows), which delivers rows in the
    relay's transaction, all or nothing, and raises BatchFailed otherwise; and available(),
    False while its transport is down (the relay then leaves every row alone)."""

    def publish(self, message: OutboxMessage) -> None: ...


@dataclass
class RelayResult:
    published: int = 0
    failed: int = 0
    claimed: int = 0
    #: Stopped before the end of the claimed rows because the batch ran out of time.
    cut_short: bool = False
    #: The transport itself is down (this process's sidecar): nothing was claimed or
    #: charged to a row, so another relay whose transport works takes the rows at once.
    unavailable: bool = False


def backoff(attempts: int) -> timedelta:
    seconds = min(settings.OUTBOX_MAX_ATTEMPTS_BACKOFF_SECONDS, 0.5 * 2 ** (attempts - 1))
    return timedelta(seconds=seconds)


def relay_once(
    publisher: Publisher, *, batch_size: int = BATCH_SIZE, now: datetime | None = None
) -> RelayResult:
    now = now or timezone.now()
    with _process_lock:
        if hasattr(publisher, "available") and not publisher.available():
            return RelayResult(unavailable=True)
        if hasattr(publisher, "publish_batch"):
            try:
                return _relay_batch(publisher, batch_size=batch_size, now=now, batched=True)
            except BatchFailed:
                # Rolled back: nothing of the batch was kept. Row by row, a failure stays
                # with its event and handler (attempts, backoff, dead letter).
                logger.info("delivering the batch failed; publishing row by row", exc_info=True)
        return _relay_batch(publisher, batch_size=batch_size, now=now, batched=False)


def _relay_batch(
    publisher: Publisher, *, batch_size: int, now: datetime, batched: bool
) -> RelayResult:
    result = RelayResult()
    # The handlers' effects (embedded mode) commit with this transaction: keep it short so
    # they become visible within OUTBOX_BATCH_SECONDS, whatever the backlog.
    deadline = time.monotonic() + settings.OUTBOX_BATCH_SECONDS
    with transaction.atomic():
        pending = OutboxMessage.objects.filter(published_at=None).order_by("id")
        if connection.features.has_select_for_update_skip_locked:
            pending = pending.select_for_update(skip_locked=True)
        rows = list(pending[:batch_size])
        if not rows:
            return result
        result.claimed = len(rows)
        blocked = _keys_held_elsewhere(rows)
        published: list[int] = []
        batch = _ready(rows, blocked) if batched else []
        start = 0
        while start < len(batch):
            if published and time.monotonic() > deadline:
                result.cut_short = True  # the rest stays pending, in order, for the next pass
                rows = []
                break
            # A publisher whose cost hardly grows with the batch (one bulk call) takes all
            # the ready rows; otherwise chunks are sized from how long rows took.
            whole = getattr(publisher, "whole_batches", False)
            size = len(batch) if whole else _chunk_size(deadline)
            chunk = batch[start : start + size]
            started = time.monotonic()
            publisher.publish_batch(chunk)  # type: ignore[attr-defined]
            _row_seconds.add((time.monotonic() - started) / len(chunk))
            start += len(chunk)
            published.extend(row.pk for row in chunk)
            # Counted once kept: a later chunk's failure rolls this one back too.
            transaction.on_commit(partial(_count_published, [row.topic for row in chunk]))
        else:
            # Left: rows of keys the batch stopped at, each still behind its key's first
            # row, which goes alone below (or keeps waiting).
            delivered = set(published)
            rows = [row for row in rows if row.pk not in delivered]
        for row in rows:
            if published and time.monotonic() > deadline:
                result.cut_short = True  # the rest stays pending, in order, for the next pass
                break
            if row.partition_key in blocked:
                continue
            if row.next_attempt_at is not None and row.next_attempt_at > now:
                blocked.add(row.partition_key)
                continue
            try:
                publisher.publish(row)
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
            published.append(row.pk)
            EVENTS_PUBLISHED.labels(topic=row.topic).inc()
        if published:
            OutboxMessage.objects.filter(pk__in=published).update(
                published_at=now, attempts=F("attempts") + 1, last_error="", next_attempt_at=None
            )
        result.published = len(published)
    return result


def _count_published(topics: list[str]) -> None:
    for topic in topics:
        EVENTS_PUBLISHED.labels(topic=topic).inc()


class MovingAverage:
    """Exponentially weighted; 0.0 until the first sample."""

    def __init__(self, weight: float = 0.3) -> None:
        self.weight = weight
        self.value = 0.0

    def add(self, sample: float) -> None:
        self.value = sample if not self.value else self.value + self.weight * (sample - self.value)


_row_seconds = MovingAverage()  # guarded by _process_lock, like the relay itself


def _chunk_size(deadline: float) -> int:
    if not _row_seconds.value:
        return CHUNK_SIZE
    fits = int(max(0.0, deadline - time.monotonic()) / _row_seconds.value)
    return max(1, min(CHUNK_SIZE, fits))


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
        if (
            result.unavailable
            or result.published == 0
            or (result.claimed < batch_size and not result.cut_short)
        ):
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
