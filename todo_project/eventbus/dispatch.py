"""Delivering one event to the handlers of its topic, each effect exactly once.

Both transports use this: the local bus (embedded mode) and the Dapr subscription loop of
`manage.py worker`. Deduplication differs by mode: a database row written in the same
transaction as the effect (embedded), or the Dapr state store (first-write with a TTL)
in front of effects that are themselves guarded by database constraints (distributed).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Protocol

from django.conf import settings
from django.db import IntegrityError, transaction

from todo_project.observability import EVENTS_CONSUMED

from .envelope import Event
from .models import DeadLetter, ProcessedEvent
from .registry import Handler, handlers_for

logger = logging.getLogger(__name__)


class DedupStore(Protocol):
    def run_once(self, handler: Handler, event: Event) -> bool:
        """Run the handler unless this event was already handled by it; True if it ran."""


class DatabaseDedup:
    def run_once(self, handler: Handler, event: Event) -> bool:
        try:
            with transaction.atomic():
                # Inserted first: on PostgreSQL a concurrent delivery of the same event
                # waits on this row and then fails, so only one effect commits.
                ProcessedEvent.objects.create(consumer=handler.name, event_id=event.event_id)
                handler.func(event)
        except IntegrityError:
            if ProcessedEvent.objects.filter(
                consumer=handler.name, event_id=event.event_id
            ).exists():
                return False
            raise
        return True

    def run_batch(self, handler: Handler, events: list[Event]) -> None:
        """Record the events as handled by the handler and run it over them, in the caller's
        transaction: one bulk insert, no savepoint. An event handled before (a redelivery)
        raises IntegrityError, and the caller redelivers one by one with run_once()."""
        ProcessedEvent.objects.bulk_create(
            [ProcessedEvent(consumer=handler.name, event_id=event.event_id) for event in events]
        )
        handler.run_batch(events)


class DaprStateDedup:
    """Check the state store, run the effect, then remember it with first-write.

    The mark is written after the effect committed, so a crash in between means a second
    run, which the effect's own database constraint absorbs; never a lost effect.
    """

    def __init__(self, gateway: DaprGatewayLike, ttl_seconds: int | None = None) -> None:
        self.gateway = gateway
        self.ttl_seconds = ttl_seconds or settings.DEDUP_TTL_SECONDS

    def run_once(self, handler: Handler, event: Event) -> bool:
        key = processed_key(handler.name, event.event_id)
        if self.gateway.state_exists(key):
            return False
        with transaction.atomic():
            handler.func(event)
        self.gateway.save_state_first_write(key, b"1", ttl_seconds=self.ttl_seconds)
        return True


def processed_key(handler_name: str, event_id: object) -> str:
    """The state key that marks an event as handled by one handler. Dapr keeps keys as
    ``<app-id>||<key>`` and refuses ``||`` inside a key, so the parts are joined by ``:``
    (in Redis: ``todo-worker||processed:<handler>:<event id>``)."""
    return f"processed:{handler_name}:{event_id}"


class DaprGatewayLike(Protocol):
    def state_exists(self, key: str) -> bool: ...

    def save_state_first_write(self, key: str, value: bytes, *, ttl_seconds: int) -> bool: ...


class NoDedup:
    def run_once(self, handler: Handler, event: Event) -> bool:
        handler.func(event)
        return True


@dataclass
class Outcome:
    handled: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    failed: dict[str, Exception] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failed


def dispatch(
    topic: str, event: Event, dedup: DedupStore, *, skip: frozenset[str] = frozenset()
) -> Outcome:
    """Run every handler of `topic` that accepts the event; a failure does not stop the others."""
    outcome = Outcome()
    for handler in handlers_for(topic):
        if not handler.accepts(event) or handler.name in skip:
            continue
        store: DedupStore = dedup if handler.dedupe else NoDedup()
        try:
            ran = store.run_once(handler, event)
        except Exception as exc:
            logger.exception(
                "handler %s failed on %s %s", handler.name, event.event_type, event.event_id
            )
            outcome.failed[handler.name] = exc
            EVENTS_CONSUMED.labels(topic=topic, handler=handler.name, outcome="retry").inc()
            continue
        if ran:
            outcome.handled.append(handler.name)
        else:
            outcome.duplicates.append(handler.name)
        EVENTS_CONSUMED.labels(
            topic=topic, handler=handler.name, outcome="success" if ran else "duplicate"
        ).inc()
    return outcome


def dispatch_batch(topic: str, events: list[Event], dedup: DatabaseDedup) -> list[tuple[str, int]]:
    """Run every handler of `topic` over the events, in order, in the caller's transaction;
    returns (handler name, events handled) pairs. Any failure propagates: the caller rolls
    the whole batch back and delivers the events one at a time with dispatch(), which
    isolates a failure to its event and handler and absorbs duplicates."""
    handled = []
    for handler in handlers_for(topic):
        accepted = [event for event in events if handler.accepts(event)]
        if not accepted:
            continue
        if handler.dedupe:
            dedup.run_batch(handler, accepted)
        else:
            handler.run_batch(accepted)
        handled.append((handler.name, len(accepted)))
    return handled


def dead_letter_failures(
    topic: str, event: Event, outcome: Outcome, *, raw: str, attempts: int
) -> None:
    """Give up on the handlers that kept failing: record each for operators."""
    for name, error in outcome.failed.items():
        logger.error(
            "giving up on %s %s for %s after %d attempts: %s",
            event.event_type,
            event.event_id,
            name,
            attempts,
            error,
        )
        DeadLetter.objects.create(
            topic=topic,
            consumer=name,
            event_id=str(event.event_id),
            event_type=event.event_type,
            raw=raw,
            error=f"{type(error).__name__}: {error}",
            attempts=attempts,
        )
        EVENTS_CONSUMED.labels(topic=topic, handler=name, outcome="dead_letter").inc()
