"""The distributed worker: Dapr streaming subscriptions, the relay and the job app channel.

Why streaming subscriptions: they need no inbound port for pub/sub, the worker pulls at
its own pace, and acknowledgement is explicit per message (success, retry or drop to the
dead-letter topic), which maps one-to-one onto "ack only after the effect committed".
Dapr Jobs, however, can only reach an app through its app channel, so the worker also
serves a small HTTP app channel for `POST /job/<name>` (plus health and metrics).
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from socketserver import ThreadingMixIn
from typing import Any, Literal
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import django
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections

from todo_project.observability import EVENTS_CONSUMED, use_traceparent

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
    topic: str,
    data: bytes | str | dict[str, Any],
    dedup: DedupStore,
    attempts: AttemptCounter,
    *,
    message_id: str = "",
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
        # The CloudEvent id, so the copy read back from `<topic>-dlq` is known.
        DeadLetter.objects.create(
            topic=topic, event_id=message_id[:64], raw=_text(raw), error=str(exc)
        )
        EVENTS_CONSUMED.labels(topic=topic, handler="-", outcome="dead_letter").inc()
        return "drop"
    outcome = dispatch(topic, [event], dedup)
    key = f"{topic}:{event.event_id}"
    if outcome.ok:
        attempts.forget(key)
        logger.info(
            "%s %s on %s: handled by %s%s",
            event.event_type,
            event.event_id,
            topic,
            ", ".join(outcome.handled) or "none",
            f" (duplicate for {', '.join(outcome.duplicates)})" if outcome.duplicates else "",
        )
        return "success"
    attempt = attempts.increment(key)
    if attempt < settings.HANDLER_MAX_ATTEMPTS:
        return "retry"
    attempts.forget(key)
    dead_letter_failures(topic, event, outcome, raw=_text(raw), attempts=attempt)
    return "drop"


def _text(raw: bytes | str) -> str:
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw


def cloudevent_traceparent(message: Any) -> str | None:
    """The W3C traceparent Dapr put in the CloudEvent (an extension attribute), so the
    handlers' log lines carry the trace id of the request that caused the event."""
    try:
        extensions = message.extensions() or {}
    except Exception:
        return None
    value = extensions.get("traceparent")
    return str(value) if value else None


class TopicConsumer(threading.Thread):
    """Pulls one topic through a Dapr streaming subscription and acknowledges each message.

    Messages are handled by up to ``concurrency`` threads at once. That keeps each key's
    order: daprd hands the app one message of a Kafka partition at a time and sends the
    next only after this one's acknowledgement, so the messages in flight together all
    come from different partitions, which is to say from different users.
    """

    def __init__(
        self, gateway: Any, topic: str, dedup: DedupStore, *, concurrency: int = 1
    ) -> None:
        super().__init__(name=f"consumer-{topic}", daemon=True)
        self.gateway = gateway
        self.topic = topic
        self.dedup = dedup
        self.concurrency = max(1, concurrency)
        self.attempts = AttemptCounter()
        self.stopping = threading.Event()
        # Counts the messages being handled, so shutdown waits for their acknowledgements.
        self._in_flight = 0
        self._idle = threading.Condition()
        self.subscription: Any = None
        self.ready = threading.Event()
        self._pool = ThreadPoolExecutor(
            max_workers=self.concurrency, thread_name_prefix=f"handle-{topic}"
        )

    def _open(self) -> Any:
        return self.gateway.subscribe(
            topic=self.topic, dead_letter_topic=dead_letter_topic(self.topic)
        )

    def _handle(self, message: Any) -> Verdict:
        return consume_message(
            self.topic,
            message.raw_data() or message.data(),
            self.dedup,
            self.attempts,
            message_id=str(message.id() or ""),
        )

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                self.subscription = self._open()
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
            with self._idle:
                while self._in_flight >= self.concurrency:
                    self._idle.wait()
                self._in_flight += 1
            self._pool.submit(self._process, subscription, message)

    def _process(self, subscription: Any, message: Any) -> None:
        try:
            with use_traceparent(cloudevent_traceparent(message)):
                try:
                    verdict = self._handle(message)
                except Exception:
                    logger.exception("unexpected failure consuming %s", message.id())
                    verdict = "retry"
                finally:
                    close_old_connections()
                self._acknowledge(subscription, message, verdict)
        finally:
            with self._idle:
                self._in_flight -= 1
                self._idle.notify_all()

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
        with self._idle:  # let the messages in hand finish and be acknowledged
            while self._in_flight:
                self._idle.wait(0.1)
        self._pool.shutdown(wait=True)
        if self.subscription is None:
            return
        # Closing cancels the stream at once; give the acknowledgements just queued a
        # moment to leave. Were one lost anyway, the runtime redelivers the message and
        # deduplication absorbs it: an effect is never lost, at worst retried.
        pending = getattr(self.subscription, "_send_queue", None)
        deadline = time.monotonic() + flush_seconds
        while pending is not None and not pending.empty() and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.05)
        self.subscription.close()


def record_dead_letter(dlq_topic: str, raw: bytes) -> bool:
    """A message that reached `<topic>-dlq`, recorded for operators (admin, /readyz).

    The worker records what it drops itself, with the handler and the error; this catches
    the rest: messages daprd dead-lettered without delivering them (not a CloudEvent, say).
    True when a new row was written; a redelivery or an already recorded drop writes none.
    """
    topic = dlq_topic.removesuffix("-dlq")
    text = _text(raw)
    event_id = ""
    try:
        data = json.loads(raw)
    except ValueError:
        data = None
    if isinstance(data, dict):
        # Our envelope, or a CloudEvent around it: the event id, else the CloudEvent id.
        wrapped = data.get("data")
        inner: dict[str, Any] = wrapped if isinstance(wrapped, dict) else {}
        event_id = str(data.get("event_id") or inner.get("event_id") or data.get("id") or "")
    known = DeadLetter.objects.filter(topic=topic)
    if event_id and known.filter(event_id=event_id[:64]).exists():
        return False
    if not event_id and known.filter(event_id="", raw=text).exists():
        return False
    DeadLetter.objects.create(
        topic=topic,
        consumer="dapr",
        event_id=event_id[:64],
        raw=text,
        error=f"dead-lettered to {dlq_topic} by the Dapr runtime before any handler saw it",
    )
    EVENTS_CONSUMED.labels(topic=topic, handler="-", outcome="dead_letter").inc()
    logger.error("message on %s was dead-lettered by Dapr: %.200s", topic, text)
    return True


class DeadLetterConsumer(TopicConsumer):
    """Reads `<topic>-dlq` as raw payloads (whatever daprd put there) into DeadLetter rows."""

    def _open(self) -> Any:
        return self.gateway.subscribe(topic=self.topic, metadata={"rawPayload": "true"})

    def _handle(self, message: Any) -> Verdict:
        raw = message.raw_data()
        try:
            envelope = json.loads(raw)
            # rawPayload: daprd wraps the record's bytes in a CloudEvent of its own.
            if isinstance(envelope, dict) and "data_base64" in envelope:
                raw = base64.b64decode(envelope["data_base64"])
            elif isinstance(envelope, dict) and "data" in envelope and "specversion" in envelope:
                inner = envelope["data"]
                raw = inner.encode() if isinstance(inner, str) else json.dumps(inner).encode()
        except ValueError:
            pass
        record_dead_letter(self.topic, raw)
        return "success"


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("app channel: " + format, *args)


APP_CHANNEL_URLCONF = "todo_project.eventbus.app_channel_urls"


class _AppChannelHandler(WSGIHandler):
    """Django with the app channel's URLconf: job triggers, health and metrics only."""

    def get_response(self, request: Any) -> Any:
        request.urlconf = APP_CHANNEL_URLCONF
        return super().get_response(request)


def app_channel_application() -> Any:
    """The WSGI application the worker serves to its sidecar and to probes."""
    django.setup(set_prefix=False)
    return _AppChannelHandler()


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
