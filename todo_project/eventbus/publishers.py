"""Transports behind the relay: the in-process bus (embedded) and Dapr pub/sub."""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cache
from typing import TYPE_CHECKING

import grpc
from django.conf import settings

from todo_project.observability import use_traceparent

from .dispatch import DatabaseDedup, dead_letter_failures, dispatch
from .envelope import Event, PoisonMessage, parse_envelope
from .models import DeadLetter, OutboxMessage

if TYPE_CHECKING:
    from .dapr_gateway import DaprGateway


#: gRPC codes that mean the sidecar (or its connection) is down, not that the row is bad.
TRANSPORT_CODES = frozenset({None, grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED})


class PublishFailed(Exception):
    """The transport took the rows but refused some of them."""


class TransportUnavailable(Exception):
    """The transport failed, not the row (the sidecar is down): the relay charges no
    attempt to the row and stops its pass."""


class HandlersFailed(Exception):
    """Some handlers failed; the row stays pending and is delivered again after a backoff."""


class LocalBus:
    """Embedded mode: 'publishing' is delivering to this process's handlers, in the relay's
    transaction: each handler sees all its events of the rows together.

    Delivery succeeds when every handler has either applied its effect (once) or been
    dead-lettered after HANDLER_MAX_ATTEMPTS tries; otherwise HandlersFailed: the relay
    delivers several rows again one at a time, and a single row stays pending and is
    redelivered, the handlers that already succeeded skipping it as a duplicate.
    """

    def __init__(self) -> None:
        self.dedup = DatabaseDedup()

    def available(self) -> bool:
        return True

    def publish(self, messages: Sequence[OutboxMessage]) -> None:
        by_topic: dict[str, list[tuple[OutboxMessage, Event]]] = {}
        for message in messages:
            try:
                event = parse_envelope(message.envelope)
            except PoisonMessage as exc:
                DeadLetter.objects.create(
                    topic=message.topic, raw=json.dumps(message.envelope), error=str(exc)
                )
                continue
            by_topic.setdefault(message.topic, []).append((message, event))
        for topic, delivered in by_topic.items():
            outcome = dispatch(topic, [event for _, event in delivered], self.dedup)
            if outcome.ok:
                continue
            failed = ", ".join(f"{name}: {exc}" for name, exc in outcome.failed.items())
            if len(messages) > 1:
                raise HandlersFailed(failed)  # which row is at fault shows one at a time
            message, event = delivered[0]
            attempt = message.attempts + 1
            if attempt < settings.HANDLER_MAX_ATTEMPTS:
                raise HandlersFailed(failed)
            dead_letter_failures(
                topic, event, outcome, raw=json.dumps(message.envelope), attempts=attempt
            )


class DaprPublisher:
    """Publishes rows with one bulk call per run of one topic, in order (daprd sends each
    run to Kafka as one batch): one bulk publish costs about the same for 1 or 200 rows
    (30 ms here), so the relay hands over every ready row at once."""

    def __init__(self, gateway: DaprGateway) -> None:
        self.gateway = gateway

    def available(self) -> bool:
        """False while this process's sidecar is down: its relay then claims nothing, so
        the relay of a process whose sidecar works (the worker's, another web replica's)
        publishes the rows instead of finding them backed off by this one."""
        return self.gateway.healthy()

    def publish(self, messages: Sequence[OutboxMessage]) -> None:
        """Entries of a failed call may have gone out: the relay publishes them again,
        which consumers absorb by event id (at least once, never lost)."""
        from .dapr_gateway import DaprUnavailable

        runs: list[list[OutboxMessage]] = []
        for message in messages:
            if runs and runs[-1][0].topic == message.topic:
                runs[-1].append(message)
            else:
                runs.append([message])
        for run in runs:
            # The trace of the request that wrote the rows (the first row's: most runs are
            # one request's rows): daprd continues it in the CloudEvents.
            with use_traceparent(run[0].traceparent or None):
                try:
                    failed = self.gateway.publish_many(
                        topic=run[0].topic,
                        events=[(_data(m), str(m.event_id), m.partition_key) for m in run],
                    )
                except DaprUnavailable as exc:
                    if exc.code in TRANSPORT_CODES:
                        raise TransportUnavailable(str(exc)) from exc
                    raise
            if failed:
                raise PublishFailed(f"{len(failed)} of {len(run)} entries failed on {run[0].topic}")


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
