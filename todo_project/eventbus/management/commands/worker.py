from __future__ import annotations

import signal
import threading
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections

from todo_project.eventbus.envelope import TOPICS, dead_letter_topic


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
        if settings.EVENT_BACKEND == "dapr" and not settings.APP_API_TOKEN:
            raise CommandError(
                "EVENT_BACKEND=dapr needs APP_API_TOKEN: the worker's job route accepts only "
                "triggers that carry the sidecar's app token (daprd's APP_API_TOKEN)."
            )
        components = self._components()
        for component in components:
            component.start()
        self.stdout.write(
            self.style.SUCCESS(
                f"worker running ({settings.EVENT_BACKEND}): "
                + ", ".join(c.name for c in components)
            )
        )
        if settings.EVENT_BACKEND == "dapr":
            self._after_start(components, stop)
        stop.wait()
        # Consumers first (each finishes and acknowledges the message in hand), then the
        # app channel, then the relay: nothing acknowledged is left undone.
        for component in components:
            component.stop()
        for component in components:
            component.join(timeout=30)
        if settings.EVENT_BACKEND == "dapr":
            from todo_project.eventbus.publishers import dapr_gateway

            dapr_gateway().close()
        self.stdout.write("worker stopped")

    def _after_start(self, components: list[Any], stop: threading.Event) -> None:
        """Dapr mode: say when every subscription is open, then let each job route catch
        up, once, with the jobs that came due while the worker was down (their triggers
        may have been missed; a trigger that still arrives finds them handled)."""
        from todo_project.eventbus.registry import job_routes
        from todo_project.eventbus.worker import TopicConsumer

        consumers = [c for c in components if isinstance(c, TopicConsumer)]
        for consumer in consumers:
            while not stop.is_set() and not consumer.ready.wait(1.0):
                pass
        if stop.is_set():
            return
        self.stdout.write(f"subscriptions open: {', '.join(c.topic for c in consumers)}")
        for route in job_routes():
            if route.catch_up is None:
                continue
            caught_up = route.catch_up()
            close_old_connections()
            self.stdout.write(
                f"caught up: {caught_up} {route.prefix}* job(s) that came due while stopped"
            )

    def _components(self) -> list[Any]:
        from todo_project.eventbus.dispatch import DaprStateDedup
        from todo_project.eventbus.publishers import DaprPublisher, dapr_gateway
        from todo_project.eventbus.registry import worker_loops
        from todo_project.eventbus.relay import RelayLoop
        from todo_project.eventbus.runtime import embedded_loops, listener_loops
        from todo_project.eventbus.worker import (
            AppChannelServer,
            DeadLetterConsumer,
            TopicConsumer,
        )

        if settings.EVENT_BACKEND != "dapr":
            return embedded_loops()
        gateway = dapr_gateway()
        dedup = DaprStateDedup(gateway)
        consumers: list[Any] = [
            TopicConsumer(gateway, topic, dedup, concurrency=settings.WORKER_CONCURRENCY)
            for topic in TOPICS
        ]
        consumers += [DeadLetterConsumer(gateway, dead_letter_topic(t), dedup) for t in TOPICS]
        return [
            *consumers,
            AppChannelServer(settings.WORKER_HOST, settings.WORKER_PORT),
            *worker_loops(),
            *listener_loops(),
            RelayLoop(DaprPublisher(gateway)),
            *worker_loops(),
        ]
