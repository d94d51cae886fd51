"""Delivering events to the handlers of their topic, each effect exactly once.

One path for every size: a single event is a batch of one. Both transports use it: the
local bus (embedded mode, the relay hands over the ready rows at once) and the Dapr
subscription loop of `manage.py worker` (one message at a time). Deduplication differs by
mode: database rows written in the same transaction as the effect (embedded), or the Dapr
state store (first-write with a TTL) in front of effects that are themselves guarded by
database constraints (distributed).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Protocol

from django.conf import settings
from django.db import IntegrityError, transaction

from todo_project.observability import EVENTS_CONSUMED

from .envelope import Event
from .models import DeadLetter, ProcessedEvent
from .registry import Handler, handlers_for

logger = logging.getLogger(__name__)


class DedupStore(Protocol):
    def run_once(self, handler: Handler, events: Sequence[Event]) -> list[Event]:
        """Run the handler over the events it has not handled before, all or none of
        them; returns the events it ran on (the rest were duplicates)."""


class DatabaseDedup:
    def run_once(self, handler: Handler, events: Sequence[Event]) -> list[Event]:
        try:
            with transaction.atomic():
                # Inserted first: on PostgreSQL a concurrent delivery of the same event
                # waits on its row and then fails, so only one effect commits.
                ProcessedEvent.objects.bulk_create(
                    [ProcessedEvent(consumer=handler.name, event_id=e.event_id) for e in events]
                )
                handler.func(events)
        except IntegrityError:
            done = set(
                ProcessedEvent.objects.filter(
                    consumer=handler.name, event_id__in=[e.event_id for e in events]
                ).values_list("event_id", flat=True)
            )
            if not done:
                raise  # the effect's own constraint, not a redelivery
            rest = [event for event in events if event.event_id not in done]
            return self.run_once(handler, rest) if rest else []
        return list(events)


class DaprStateDedup:
    """Check the state store, run the effect, then remember it with first-write.

    The mark is written after the effect committed, so a crash in between means a second
    run, which the effect's own database constraint absorbs; never a lost effect.
    """

    def __init__(self, gateway: DaprGatewayLike, ttl_seconds: int | None = None) -> None:
        self.gateway = gateway
        self.ttl_seconds = ttl_seconds or settings.DEDUP_TTL_SECONDS

    def run_once(self, handler: Handler, events: Sequence[Event]) -> list[Event]:
        new = [
            event
            for event in events
            if not self.gateway.state_exists(processed_key(handler.name, event.event_id))
        ]
        if not new:
            return []
        with transaction.atomic():
            handler.func(new)
        for event in new:
            key = processed_key(handler.name, event.event_id)
            self.gateway.save_state_first_write(key, b"1", ttl_seconds=self.ttl_seconds)
        return new


def processed_key(handler_name: str, event_id: object) -> str:
    """The state key that marks an event as handled by one handler. Dapr keeps keys as
    ``<app-id>||<key>`` and refuses ``||`` inside a key, so the parts are joined by ``:``
    (in Redis: ``todo-worker||processed:<handler>:<event id>``)."""
    return f"processed:{handler_name}:{event_id}"


class DaprGatewayLike(Protocol):
    def state_exists(self, key: str) -> bool: ...

    def save_state_first_write(self, key: str, value: bytes, *, ttl_seconds: int) -> bool: ...


class NoDedup:
    def run_once(self, handler: Handler, events: Sequence[Event]) -> list[Event]:
        handler.func(events)
        return list(events)


@dataclass
class Outcome:
    #: Handlers that ran on at least one of the events.
    handled: list[str] = field(default_factory=list)
    #: Handlers that skipped at least one of the events as handled before.
    duplicates: list[str] = field(default_factory=list)
    failed: dict[str, Exception] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failed


def dispatch(topic: str, events: Sequence[Event], dedup: DedupStore) -> Outcome:
    """Run every handler of `topic` over the events it accepts, in order; a failing
    handler keeps none of its effects and stops no other handler."""
    outcome = Outcome()
    counts: Counter[tuple[str, str]] = Counter()
    for handler in handlers_for(topic):
        accepted = [event for event in events if handler.accepts(event)]
        if not accepted:
            continue
        store: DedupStore = dedup if handler.dedupe else NoDedup()
        try:
            ran = store.run_once(handler, accepted)
        except Exception as exc:
            logger.exception(
                "handler %s failed on %s",
                handler.name,
                ", ".join(f"{e.event_type} {e.event_id}" for e in accepted[:5]),
            )
            outcome.failed[handler.name] = exc
            counts[handler.name, "retry"] += len(accepted)
            continue
        if ran:
            outcome.handled.append(handler.name)
            counts[handler.name, "success"] += len(ran)
        if len(ran) < len(accepted):
            outcome.duplicates.append(handler.name)
            counts[handler.name, "duplicate"] += len(accepted) - len(ran)
    # Counted once kept: the relay's transaction may still roll these effects back (and
    # outside a transaction this runs at once).
    transaction.on_commit(partial(_count_consumed, topic, counts))
    return outcome


def _count_consumed(topic: str, counts: Counter[tuple[str, str]]) -> None:
    for (name, outcome), number in counts.items():
        EVENTS_CONSUMED.labels(topic=topic, handler=name, outcome=outcome).inc(number)


def dead_letter_failures(
    topic: str, event: Event, outcome: Outcome, *, raw: str, attempts: int
) -> None:
    """Give up on the handlers that kept failing on one event: record each for operators."""
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
