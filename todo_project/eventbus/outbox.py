"""Writing events: the one way anything leaves the process."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from todo_project.observability import current_trace_context

from .envelope import Event
from .models import OutboxMessage
from .notify import notify_on_commit
from .signals import wake_relay


def enqueue(event: Event, *, topics: tuple[str, ...], partition_key: str | int) -> None:
    """Store `event` for each topic in the caller's transaction; the relay wakes on commit.

    Must run inside `transaction.atomic()`: an event written outside the transaction of its
    change could describe a change that never committed.
    """
    enqueue_many([(event, topics, partition_key)])


def enqueue_many(items: Iterable[tuple[Event, tuple[str, ...], str | int]]) -> None:
    """enqueue() for several (event, topics, partition key) at once: one INSERT."""
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        raise RuntimeError("enqueue() must be called inside transaction.atomic()")
    trace = current_trace_context()
    traceparent = trace.traceparent if trace is not None else ""
    rows = [
        OutboxMessage(
            event_id=event.event_id,
            topic=topic,
            event_type=event.event_type,
            partition_key=str(partition_key),
            envelope=event.to_envelope(),
            traceparent=traceparent,
        )
        for event, topics, partition_key in items
        for topic in topics
    ]
    if not rows:
        return
    OutboxMessage.objects.bulk_create(rows)
    transaction.on_commit(wake_relay)  # this process
    notify_on_commit()  # other processes (PostgreSQL)
