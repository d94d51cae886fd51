"""Transports behind the relay: the in-process bus (embedded) and Dapr pub/sub."""

from __future__ import annotations

import json
from functools import cache
from typing import TYPE_CHECKING

from django.conf import settings

from .dispatch import DatabaseDedup, dead_letter_failures, dispatch
from .envelope import PoisonMessage, parse_envelope
from .models import DeadLetter, OutboxMessage

if TYPE_CHECKING:
    from .dapr_gateway import DaprGateway


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


class DaprPublisher:
    def __init__(self, gateway: DaprGateway) -> None:
        self.gateway = gateway

    def publish(self, message: OutboxMessage) -> None:
        self.gateway.publish(
            topic=message.topic,
            data=json.dumps(message.envelope, separators=(",", ":")).encode(),
            event_id=str(message.event_id),
            partition_key=message.partition_key,
        )


@cache
def dapr_gateway() -> DaprGateway:
    from .dapr_gateway import DaprGateway

    return DaprGateway(
        pubsub_name=settings.DAPR_PUBSUB_NAME, statestore_name=settings.DAPR_STATESTORE_NAME
    )


def default_publisher() -> LocalBus | DaprPublisher:
    if settings.EVENT_BACKEND == "dapr":
        return DaprPublisher(dapr_gateway())
    return LocalBus()
