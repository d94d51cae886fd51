"""Transports behind the relay: the in-process bus (embedded) and Dapr pub/sub."""

from __future__ import annotations

import json
from functools import cache, partial
from typing import TYPE_CHECKING

import grpc
from django.conf import settings
from django.db import transaction

from todo_project.observability import EVENTS_CONSUMED, use_traceparent

from .dispatch import DatabaseDedup, dead_letter_failures, dispatch, dispatch_batch
from .envelope import Event, PoisonMessage, parse_envelope
from .models import DeadLetter, OutboxMessage

if TYPE_CHECKING:
    from .dapr_gateway import DaprGateway


#: gRPC codes that mean the sidecar (or its connection) is down, not that the row is bad.
TRANSPORT_CODES = frozenset({None, grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED})


class BatchFailed(Exception):
    """A batch could not be delivered as a whole; nothing of it may be kept."""


class TransportUnavailable(Exception):
    """The transport failed, not the row (the sidecar is down): the relay charges no
    attempt to the row and stops its pass."""


class HandlersFailed(Exception):
    """Some handlers failed; the row stays pending and is delivered again after a backoff."""


class LocalBus:
    """Embedded mode: 'publishing' is delivering to this process's handlers.

    Delivery succeeds when every handler has either applied its effect (once) or been
    dead-lettered after HANDLER_MAX_ATTEMPTS tries; otherwise the outbox row stays pending
    and is redelivered, and the handlers that already succeeded skip it as a duplicate.
    """

    def __init__(self) -> None:
        self.dedup = DatabaseDedup()

    def publish(self, message: OutboxMessage) -> None:
        try:
            event = parse_envelope(message.envelope)
        except PoisonMessage as exc:
            DeadLetter.objects.create(
                topic=message.topic, raw=json.dumps(message.envelope), error=str(exc)
            )
            return
        outcome = dispatch(message.topic, event, self.dedup)
        if outcome.ok:
            return
        attempt = message.attempts + 1
        if attempt < settings.HANDLER_MAX_ATTEMPTS:
            failed = ", ".join(f"{name}: {exc}" for name, exc in outcome.failed.items())
            raise HandlersFailed(failed)
        dead_letter_failures(
            message.topic, event, outcome, raw=json.dumps(message.envelope), attempts=attempt
        )

    def publish_batch(self, messages: list[OutboxMessage]) -> None:
        """Deliver several rows at once, in the relay's transaction: each handler sees all
        its events together, with one bulk insert of deduplication rows instead of a
        savepoint and an insert per event. Raises BatchFailed when a message is poison or
        anything fails; the relay then rolls back and publishes the rows one by one."""
        try:
            by_topic: dict[str, list[Event]] = {}
            for message in messages:
                by_topic.setdefault(message.topic, []).append(parse_envelope(message.envelope))
            handled = [
                (topic, name, number)
                for topic, events in by_topic.items()
                for name, number in dispatch_batch(topic, events, self.dedup)
            ]
        except Exception as exc:
            raise BatchFailed(f"a batch of {len(messages)} messages failed: {exc!r}") from exc
        # Counted once kept: the relay's transaction may still roll this batch back.
        transaction.on_commit(partial(_count_consumed, handled))


def _count_consumed(handled: list[tuple[str, str, int]]) -> None:
    for topic, name, number in handled:
        EVENTS_CONSUMED.labels(topic=topic, handler=name, outcome="success").inc(number)


class DaprPublisher:
    #: One bulk publish costs about the same for 1 or 200 rows (30 ms here): the relay
    #: hands over every ready row at once instead of sizing chunks by time.
    whole_batches = True

    def __init__(self, gateway: DaprGateway) -> None:
        self.gateway = gateway

    def available(self) -> bool:
        """False while this process's sidecar is down: its relay then claims nothing, so
        the relay of a process whose sidecar works (the worker's, another web replica's)
        publishes the rows instead of finding them backed off by this one."""
        return self.gateway.healthy()

    def publish(self, message: OutboxMessage) -> None:
        from .dapr_gateway import DaprUnavailable

        # The trace of the request that wrote the row: daprd continues it in the CloudEvent.
        with use_traceparent(message.traceparent or None):
            try:
                self.gateway.publish(
                    topic=message.topic,
                    data=_data(message),
                    event_id=str(message.event_id),
                    partition_key=message.partition_key,
                )
            except DaprUnavailable as exc:
                if exc.code in TRANSPORT_CODES:
                    raise TransportUnavailable(str(exc)) from exc
                raise

    def publish_batch(self, messages: list[OutboxMessage]) -> None:
        """Publish rows with one bulk call per run of one topic, in order (daprd sends each
        run to Kafka as one batch). Any failure raises BatchFailed: the relay then rolls
        back and publishes row by row, so an entry that did go out goes out again, which
        consumers absorb by event id (at least once, never lost)."""
        from .dapr_gateway import DaprUnavailable

        runs: list[list[OutboxMessage]] = []
        for message in messages:
            if runs and runs[-1][0].topic == message.topic:
                runs[-1].append(message)
            else:
                runs.append([message])
        try:
            for run in runs:
                # One trace per run: the first row's (most runs are one request's rows).
                with use_traceparent(run[0].traceparent or None):
                    failed = self.gateway.publish_many(
                        topic=run[0].topic,
                        events=[(_data(m), str(m.event_id), m.partition_key) for m in run],
                    )
                if failed:
                    raise BatchFailed(
                        f"{len(failed)} of {len(run)} entries failed on {run[0].topic}"
                    )
        except DaprUnavailable as exc:
            raise BatchFailed(str(exc)) from exc


def _data(message: OutboxMessage) -> bytes:
    """The row's envelope as the compact JSON that goes on the wire."""
    return json.dumps(message.envelope, separators=(",", ":")).encode()


@cache
def dapr_gateway() -> DaprGateway:
    from .dapr_gateway import DaprGateway

    return DaprGateway(
        pubsub_name=settings.DAPR_PUBSUB_NAME,
        statestore_name=settings.DAPR_STATESTORE_NAME,
        job_retry_seconds=settings.REMINDER_JOB_RETRY_SECONDS,
        job_max_retries=settings.REMINDER_JOB_MAX_RETRIES,
    )


def default_publisher() -> LocalBus | DaprPublisher:
    if settings.EVENT_BACKEND == "dapr":
        return DaprPublisher(dapr_gateway())
    return LocalBus()
