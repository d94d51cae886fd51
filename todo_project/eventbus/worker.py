"""The distributed worker: Dapr streaming subscriptions, the relay and the job app channel.

Why streaming subscriptions: they need no inbound port for pub/sub, the worker pulls at
its own pace, and acknowledgement is explicit per message (success, retry or drop to the
dead-letter topic), which maps one-to-one onto "ack only after the effect committed".
Dapr Jobs, however, can only reach an app through its app channel, so the worker also
serves a small HTTP app channel for `POST /job/<name>` (plus health and metrics).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import OrderedDict
from socketserver import ThreadingMixIn
from typing import Any, Literal
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from django.conf import settings
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections

from todo_project.observability import EVENTS_CONSUMED

from .dispatch import DedupStore, dead_letter_failures, dispatch
from .envelope import PoisonMessage, dead_letter_topic, parse_envelope
from .models import DeadLetter

logger = logging.getLogger(__name__)
Verdict = Literal["success", "retry", "drop"]


class AttemptCounter:
    """Failed deliveries per event, to give up after HANDLER_MAX_ATTEMPTS (bounded memory)."""

    def __init__(self, capacity: int = 10_000) -> None:
        self.capacity = capacity
        self._counts: OrderedDict[str, int] = OrderedDict()
        self._lock = threading.Lock()

    def increment(self, key: str) -> int:
        with self._lock:
            count = self._counts.pop(key, 0) + 1
            self._counts[key] = count
            while len(self._counts) > self.capacity:
                self._counts.popitem(last=False)
            return count

    def forget(self, key: str) -> None:
        with self._lock:
            self._counts.pop(key, None)


def consume_message(
    topic: str, data: bytes | str | dict[str, Any], dedup: DedupStore, attempts: AttemptCounter
) -> Verdict:
    """Handle one delivered message; the verdict is the acknowledgement to send.

    "success" only after every handler's effect committed (or was a duplicate); "retry"
    for a failure that may pass; "drop" (to `<topic>-dlq`) for a poison message or one
    that failed HANDLER_MAX_ATTEMPTS times, recorded as a DeadLetter for operators.
    """
    raw = data if isinstance(data, (bytes, str)) else json.dumps(data)
    try:
        event = parse_envelope(data)
    except PoisonMessage as exc:
        logger.error("poison message on %s: %s", topic, exc)
        DeadLetter.objects.create(topic=topic, raw=_text(raw), error=str(exc))
        EVENTS_CONSUMED.labels(topic=topic, handler="-", outcome="dead_letter").inc()
        return "drop"
    outcome = dispatch(topic, event, dedup)
    key = f"{topic}:{event.event_id}"
    if outcome.ok:
        attempts.forget(key)
        return "success"
    attempt = attempts.increment(key)
    if attempt < settings.HANDLER_MAX_ATTEMPTS:
        return "retry"
    attempts.forget(key)
    dead_letter_failures(topic, event, outcome, raw=_text(raw), attempts=attempt)
    return "drop"


def _text(raw: bytes | str) -> str:
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw


class TopicConsumer(threading.Thread):
    """Pulls one topic through a Dapr streaming subscription and acknowledges each message."""

    def __init__(self, gateway: Any, topic: str, dedup: DedupStore) -> None:
        super().__init__(name=f"consumer-{topic}", daemon=True)
        self.gateway = gateway
        self.topic = topic
        self.dedup = dedup
        self.attempts = AttemptCounter()
        self.stopping = threading.Event()
        # Held while a message is being handled, so shutdown waits for its acknowledgement.
        self.busy = threading.Lock()
        self.subscription: Any = None
        self.ready = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                self.subscription = self.gateway.subscribe(
                    topic=self.topic, dead_letter_topic=dead_letter_topic(self.topic)
                )
                self.ready.set()
                self._pump()
            except Exception as exc:
                if self.stopping.is_set():
                    break
                logger.warning("subscription to %s failed: %s; resubscribing", self.topic, exc)
                self.stopping.wait(2.0)

    def _pump(self) -> None:
        subscription = self.subscription
        while not self.stopping.is_set():
            message = subscription.next_message()
            if message is None:
                continue
            with self.busy:
                try:
                    verdict = consume_message(
                        self.topic, message.raw_data() or message.data(), self.dedup, self.attempts
                    )
                except Exception:
                    logger.exception("unexpected failure consuming %s", message.id())
                    verdict = "retry"
                finally:
                    close_old_connections()
                self._acknowledge(subscription, message, verdict)

    @staticmethod
    def _acknowledge(subscription: Any, message: Any, verdict: Verdict) -> None:
        if verdict == "success":
            subscription.respond_success(message)
        elif verdict == "retry":
            subscription.respond_retry(message)
        else:
            subscription.respond_drop(message)

    def stop(self, *, flush_seconds: float = 2.0) -> None:
        self.stopping.set()
        with self.busy:  # let the message in hand finish and be acknowledged
            if self.subscription is None:
                return
            # Closing cancels the stream at once; give the acknowledgement just queued a
            # moment to leave. Were it lost anyway, the runtime redelivers the message and
            # deduplication absorbs it: an effect is never lost, at worst retried.
            pending = getattr(self.subscription, "_send_queue", None)
            deadline = time.monotonic() + flush_seconds
            while pending is not None and not pending.empty() and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(0.05)
            self.subscription.close()


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("app channel: " + format, *args)


APP_CHANNEL_PREFIXES = ("/job/", "/healthz", "/readyz", "/metrics")


def app_channel_application() -> Any:
    """Django, restricted to the routes the Dapr sidecar and probes call."""
    django_app = get_wsgi_application()

    def application(environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        if not path.startswith(APP_CHANNEL_PREFIXES):
            start_response("404 Not Found", [("Content-Type", "application/json")])
            return [b'{"detail": "Not found."}']
        return django_app(environ, start_response)

    return application


class AppChannelServer(threading.Thread):
    def __init__(self, host: str, port: int) -> None:
        super().__init__(name="app-channel", daemon=True)
        self.server = make_server(
            host,
            port,
            app_channel_application(),
            server_class=_ThreadingWSGIServer,
            handler_class=_QuietHandler,
        )

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def run(self) -> None:
        self.server.serve_forever(poll_interval=0.5)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
