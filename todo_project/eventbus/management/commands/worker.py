from __future__ import annotations

import signal
import threading
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from todo_project.eventbus.envelope import TOPICS


class Command(BaseCommand):
    help = (
        "Run the event worker: the outbox relay, the topic consumers and reminders. With "
        "EVENT_BACKEND=dapr it consumes through Dapr streaming subscriptions and serves the "
        "Dapr app channel (POST /job/<name>) on WORKER_HOST:WORKER_PORT; with 'local' it "
        "runs the embedded loops on their own (for a web started with RUN_EMBEDDED_WORKER=false)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        stop = threading.Event()

        def on_signal(signum: int, frame: Any) -> None:
            self.stdout.write(f"received signal {signum}: shutting down")
            stop.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        components = self._components()
        for component in components:
            component.start()
        self.stdout.write(
            self.style.SUCCESS(
                f"worker running ({settings.EVENT_BACKEND}): "
                + ", ".join(c.name for c in components)
            )
        )
        stop.wait()
        # Consumers first (each finishes and acknowledges the message in hand), then the
        # app channel, then the relay: nothing acknowledged is left undone.
        for component in components:
            component.stop()
        for component in components:
            component.join(timeout=30)
        self.stdout.write("worker stopped")

    def _components(self) -> list[Any]:
        from todo_project.eventbus.dispatch import DaprStateDedup
        from todo_project.eventbus.publishers import DaprPublisher, dapr_gateway
        from todo_project.eventbus.relay import RelayLoop
        from todo_project.eventbus.runtime import embedded_loops, listener_loops
        from todo_project.eventbus.worker import AppChannelServer, TopicConsumer

        if settings.EVENT_BACKEND != "dapr":
            return embedded_loops()
        gateway = dapr_gateway()
        dedup = DaprStateDedup(gateway)
        consumers: list[Any] = [TopicConsumer(gateway, topic, dedup) for topic in TOPICS]
        return [
            *consumers,
            AppChannelServer(settings.WORKER_HOST, settings.WORKER_PORT),
            *listener_loops(),
            RelayLoop(DaprPublisher(gateway)),
        ]
