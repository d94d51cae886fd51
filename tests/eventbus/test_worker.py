"""The distributed worker's own logic: verdicts, attempts, dead letters, acknowledgements,
shutdown, the app channel and the command's start-up checks.

The gateway is a stub (state over a dict, subscriptions handing out queued messages). What
the real runtime does with the verdicts (redelivery, dead-letter topics, the resiliency
policy, a worker killed mid-stream) is proven in tests/distributed/.
"""

from __future__ import annotations

import base64
import json
import queue
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from django.core.management import CommandError, call_command

from tasks.models import ActivityEntry
from tests.eventbus.conftest import StateGateway
from todo_project.eventbus import publishers, registry, worker
from todo_project.eventbus.dispatch import DaprStateDedup, processed_key
from todo_project.eventbus.envelope import TASK_EVENTS, build_event
from todo_project.eventbus.models import DeadLetter
from todo_project.eventbus.worker import (
    AppChannelServer,
    AttemptCounter,
    DeadLetterConsumer,
    TopicConsumer,
    cloudevent_traceparent,
    consume_message,
    record_dead_letter,
)
from todo_project.observability import current_trace_context

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"
DLQ = f"{TASK_EVENTS}-dlq"


def envelope(user_id: int, title: str = "Buy milk") -> tuple[str, bytes]:
    event = build_event(
        "TaskCreated", {"task_id": 4242, "user_id": user_id, "title": title, "version": 1}
    )
    return str(event.event_id), json.dumps(event.to_envelope()).encode()


def cloudevent(data: Any, *, event_id: str = "ce-1") -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": event_id,
        "source": "todo-web",
        "type": "com.dapr.event.sent",
        "datacontenttype": "application/json",
        "data": data,
    }


def replace_handler(
    monkeypatch: pytest.MonkeyPatch, name: str, func: Callable[[Any], None]
) -> registry.Handler:
    original = registry._handlers[name]
    monkeypatch.setitem(
        registry._handlers,
        name,
        registry.Handler(original.name, original.topic, func, original.event_types),
    )
    return original


@pytest.fixture
def dedup(state_gateway: StateGateway) -> DaprStateDedup:
    return DaprStateDedup(state_gateway)


# -- consume_message: the verdict for one delivery ------------------------------------------


@pytest.mark.django_db
class TestConsumeMessage:
    def test_a_handled_event_is_a_success_and_marked_processed(self, dedup, state_gateway, user):
        event_id, data = envelope(user.pk)
        assert consume_message(TASK_EVENTS, data, dedup, AttemptCounter()) == "success"
        assert ActivityEntry.objects.get().event_id == uuid.UUID(event_id)
        assert processed_key("tasks.activity_log", event_id) in state_gateway.keys

    def test_a_redelivered_event_is_a_success_without_a_second_effect(
        self, dedup, user, monkeypatch
    ):
        runs: list[str] = []
        original = registry._handlers["tasks.activity_log"]
        replace_handler(
            monkeypatch,
            original.name,
            lambda events: (runs.extend(str(e.event_id) for e in events), original.func(events)),
        )
        _, data = envelope(user.pk)
        attempts = AttemptCounter()
        assert consume_message(TASK_EVENTS, data, dedup, attempts) == "success"
        assert consume_message(TASK_EVENTS, data, dedup, attempts) == "success"
        assert len(runs) == 1
        assert ActivityEntry.objects.count() == 1

    def test_an_unreachable_state_store_answers_retry_and_the_redelivery_succeeds(
        self, dedup, state_gateway, user
    ):
        _, data = envelope(user.pk)
        attempts = AttemptCounter()
        state_gateway.down = True
        assert consume_message(TASK_EVENTS, data, dedup, attempts) == "retry"
        assert ActivityEntry.objects.count() == 0
        state_gateway.down = False
        assert consume_message(TASK_EVENTS, data, dedup, attempts) == "success"
        assert ActivityEntry.objects.count() == 1

    def test_a_handler_that_keeps_failing_is_retried_then_dropped_and_dead_lettered(
        self, dedup, user, settings, monkeypatch
    ):
        settings.HANDLER_MAX_ATTEMPTS = 3

        def broken(events):
            raise RuntimeError("database on fire")

        replace_handler(monkeypatch, "tasks.activity_log", broken)
        event_id, data = envelope(user.pk)
        attempts = AttemptCounter()
        verdicts = [consume_message(TASK_EVENTS, data, dedup, attempts) for _ in range(3)]
        assert verdicts == ["retry", "retry", "drop"]
        letter = DeadLetter.objects.get()
        assert (letter.topic, letter.consumer, letter.event_id, letter.attempts) == (
            TASK_EVENTS,
            "tasks.activity_log",
            event_id,
            3,
        )
        assert letter.error == "RuntimeError: database on fire"
        assert json.loads(letter.raw)["event_id"] == event_id

    def test_a_success_after_failures_starts_the_attempts_afresh(self, dedup, state_gateway, user):
        event_id, data = envelope(user.pk)
        attempts = AttemptCounter()
        state_gateway.down = True
        assert consume_message(TASK_EVENTS, data, dedup, attempts) == "retry"
        state_gateway.down = False
        assert consume_message(TASK_EVENTS, data, dedup, attempts) == "success"
        assert attempts.increment(f"{TASK_EVENTS}:{event_id}") == 1

    @pytest.mark.parametrize(
        ("raw", "error"),
        [
            (b"{not json", "not JSON"),
            (b'{"nonsense": true}', "envelope lacks"),
            (json.dumps(cloudevent({"nonsense": True})).encode(), "envelope lacks"),
        ],
    )
    def test_a_poison_message_is_dropped_and_recorded_for_operators(self, dedup, raw, error):
        assert consume_message(TASK_EVENTS, raw, dedup, AttemptCounter()) == "drop"
        letter = DeadLetter.objects.get()
        assert (letter.topic, letter.consumer, letter.raw) == (TASK_EVENTS, "", raw.decode())
        assert error in letter.error


@pytest.mark.django_db(transaction=True)
def test_two_workers_handling_one_event_at_once_have_one_effect(state_gateway, user):
    """Both may pass the state-store check; the effect's unique constraint keeps one."""
    from django.db import connection

    event_id, data = envelope(user.pk)
    barrier = threading.Barrier(2)
    verdicts: list[str] = []

    def work() -> None:
        try:
            barrier.wait(5)
            verdicts.append(
                consume_message(TASK_EVENTS, data, DaprStateDedup(state_gateway), AttemptCounter())
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert verdicts == ["success", "success"]
    assert list(ActivityEntry.objects.values_list("event_id", flat=True)) == [uuid.UUID(event_id)]


# -- AttemptCounter -----------------------------------------------------------------------------


def test_attempts_are_counted_per_event_and_forgotten_on_request() -> None:
    attempts = AttemptCounter()
    assert [attempts.increment("a"), attempts.increment("a"), attempts.increment("b")] == [1, 2, 1]
    attempts.forget("a")
    attempts.forget("never-seen")
    assert attempts.increment("a") == 1


def test_the_attempt_counter_drops_the_least_recently_failed_beyond_its_capacity() -> None:
    attempts = AttemptCounter(capacity=2)
    attempts.increment("a")
    attempts.increment("b")
    attempts.increment("a")  # "a" failed last, so "b" is the oldest
    attempts.increment("c")
    assert attempts.increment("a") == 3
    assert attempts.increment("b") == 1


# -- cloudevent_traceparent ---------------------------------------------------------------------


class StubMessage:
    """What a Dapr streaming subscription hands out (SubscriptionMessage's accessors)."""

    def __init__(self, raw: bytes, *, message_id: str = "m-1", traceparent: str | None = None):
        self.raw = raw
        self.message_id = message_id
        self.traceparent = traceparent

    def raw_data(self) -> bytes:
        return self.raw

    def data(self) -> Any:
        return json.loads(self.raw)

    def id(self) -> str:
        return self.message_id

    def extensions(self) -> dict[str, str]:
        return {"traceparent": self.traceparent} if self.traceparent else {}


def test_the_cloudevent_traceparent_is_read_from_the_extensions() -> None:
    class Unreadable(StubMessage):
        def extensions(self) -> dict[str, str]:
            raise ValueError("extensions not parseable")

    assert cloudevent_traceparent(StubMessage(b"{}", traceparent=TRACEPARENT)) == TRACEPARENT
    assert cloudevent_traceparent(StubMessage(b"{}")) is None
    assert cloudevent_traceparent(Unreadable(b"{}")) is None


# -- TopicConsumer / DeadLetterConsumer: acknowledgements ---------------------------------------


class StubSubscription:
    """Hands out the queued messages (None when idle, as the SDK does) and records each answer."""

    def __init__(self, *messages: StubMessage) -> None:
        self.messages: queue.Queue[StubMessage] = queue.Queue()
        for message in messages:
            self.messages.put(message)
        self.answers: list[tuple[str, str]] = []
        self.closed = False

    def next_message(self) -> StubMessage | None:
        try:
            return self.messages.get(timeout=0.02)
        except queue.Empty:
            return None

    def respond_success(self, message: StubMessage) -> None:
        self.answers.append(("success", message.id()))

    def respond_retry(self, message: StubMessage) -> None:
        self.answers.append(("retry", message.id()))

    def respond_drop(self, message: StubMessage) -> None:
        self.answers.append(("drop", message.id()))

    def close(self) -> None:
        self.closed = True


class Subscriber:
    """The gateway's subscribe(), answering with one prepared subscription."""

    def __init__(self, subscription: StubSubscription) -> None:
        self.subscription = subscription
        self.requests: list[dict[str, Any]] = []

    def subscribe(self, **kwargs: Any) -> StubSubscription:
        self.requests.append(kwargs)
        return self.subscription


def wait_for(condition: Callable[[], object], what: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


@pytest.fixture
def run_consumer() -> Iterator[Callable[[TopicConsumer], TopicConsumer]]:
    started: list[TopicConsumer] = []

    def start(consumer: TopicConsumer) -> TopicConsumer:
        consumer.start()
        started.append(consumer)
        assert consumer.ready.wait(5)
        return consumer

    yield start
    for consumer in started:
        consumer.stop()
        consumer.join(5)
        assert not consumer.is_alive()


@pytest.mark.django_db(transaction=True)
class TestConsumers:
    def test_a_consumer_names_its_dead_letter_topic_and_answers_each_verdict(
        self, dedup, user, run_consumer
    ):
        event_id, data = envelope(user.pk)
        subscription = StubSubscription(
            StubMessage(data, message_id="good"), StubMessage(b"{poison", message_id="bad")
        )
        subscriber = Subscriber(subscription)
        run_consumer(TopicConsumer(subscriber, TASK_EVENTS, dedup))
        wait_for(lambda: len(subscription.answers) == 2, "two acknowledgements")
        assert subscriber.requests == [{"topic": TASK_EVENTS, "dead_letter_topic": DLQ}]
        assert subscription.answers == [("success", "good"), ("drop", "bad")]
        assert ActivityEntry.objects.get().event_id == uuid.UUID(event_id)

    def test_an_unexpected_failure_while_handling_answers_retry(
        self, dedup, run_consumer, monkeypatch
    ):
        def explodes(*args: object) -> str:
            raise MemoryError("boom")

        monkeypatch.setattr(worker, "consume_message", explodes)
        subscription = StubSubscription(StubMessage(b"{}", message_id="m"))
        run_consumer(TopicConsumer(Subscriber(subscription), TASK_EVENTS, dedup))
        wait_for(lambda: subscription.answers, "the acknowledgement")
        assert subscription.answers == [("retry", "m")]

    def test_handlers_run_in_the_trace_the_cloudevent_carries(
        self, dedup, user, run_consumer, monkeypatch
    ):
        traces: list[str | None] = []

        def record(events):
            context = current_trace_context()
            traces.append(context.trace_id if context else None)

        replace_handler(monkeypatch, "tasks.activity_log", record)
        _, data = envelope(user.pk)
        subscription = StubSubscription(StubMessage(data, traceparent=TRACEPARENT))
        run_consumer(TopicConsumer(Subscriber(subscription), TASK_EVENTS, dedup))
        wait_for(lambda: subscription.answers, "the acknowledgement")
        assert traces == [TRACE_ID]
        assert current_trace_context() is None

    def test_stop_waits_for_the_message_in_hand_and_acknowledges_it(self, dedup, user, monkeypatch):
        started, release = threading.Event(), threading.Event()
        original = registry._handlers["tasks.activity_log"]

        def slow(events):
            started.set()
            release.wait(5)
            original.func(events)

        replace_handler(monkeypatch, original.name, slow)
        _, data = envelope(user.pk)
        subscription = StubSubscription(StubMessage(data, message_id="slow"))
        consumer = TopicConsumer(Subscriber(subscription), TASK_EVENTS, dedup)
        consumer.start()
        assert started.wait(5)
        stopper = threading.Thread(target=consumer.stop, kwargs={"flush_seconds": 0})
        stopper.start()
        time.sleep(0.1)
        assert stopper.is_alive()  # waiting for the handler
        assert not subscription.closed
        release.set()
        stopper.join(5)
        consumer.join(5)
        assert not consumer.is_alive()
        assert subscription.answers == [("success", "slow")]
        assert subscription.closed
        assert ActivityEntry.objects.count() == 1

    def test_the_dead_letter_consumer_reads_raw_payloads_into_dead_letters(
        self, dedup, run_consumer
    ):
        # rawPayload: daprd wraps the record's bytes in a CloudEvent of its own.
        garbage = b"not json at all"
        wrapped = {
            "specversion": "1.0",
            "id": "x",
            "data_base64": base64.b64encode(garbage).decode(),
        }
        subscription = StubSubscription(StubMessage(json.dumps(wrapped).encode(), message_id="d"))
        subscriber = Subscriber(subscription)
        run_consumer(DeadLetterConsumer(subscriber, DLQ, dedup))
        wait_for(lambda: subscription.answers, "the acknowledgement")
        assert subscriber.requests == [{"topic": DLQ, "metadata": {"rawPayload": "true"}}]
        assert subscription.answers == [("success", "d")]
        letter = DeadLetter.objects.get()
        assert (letter.topic, letter.consumer, letter.raw) == (
            TASK_EVENTS,
            "dapr",
            garbage.decode(),
        )


# -- record_dead_letter -------------------------------------------------------------------------


@pytest.mark.django_db
class TestRecordDeadLetter:
    def test_a_message_daprd_dead_lettered_is_recorded_under_its_event_id(self, user):
        event_id, data = envelope(user.pk)
        raw = json.dumps(cloudevent(json.loads(data), event_id=event_id)).encode()
        assert record_dead_letter(DLQ, raw) is True
        letter = DeadLetter.objects.get()
        assert (letter.topic, letter.consumer, letter.event_id) == (TASK_EVENTS, "dapr", event_id)
        assert "Dapr runtime" in letter.error

    def test_a_drop_the_worker_recorded_is_not_recorded_again(
        self, dedup, user, settings, monkeypatch
    ):
        settings.HANDLER_MAX_ATTEMPTS = 1

        def broken(events):
            raise RuntimeError("database on fire")

        replace_handler(monkeypatch, "tasks.activity_log", broken)
        event_id, data = envelope(user.pk)
        assert consume_message(TASK_EVENTS, data, dedup, AttemptCounter()) == "drop"
        # daprd forwards the dropped CloudEvent to the dead-letter topic.
        forwarded = json.dumps(cloudevent(json.loads(data), event_id=event_id)).encode()
        assert record_dead_letter(DLQ, forwarded) is False
        assert DeadLetter.objects.get().consumer == "tasks.activity_log"

    def test_the_same_raw_message_twice_is_one_row(self):
        assert record_dead_letter(DLQ, b"not json at all") is True
        assert record_dead_letter(DLQ, b"not json at all") is False
        assert record_dead_letter(DLQ, b"other garbage") is True
        assert DeadLetter.objects.filter(topic=TASK_EVENTS).count() == 2

    def test_a_poison_cloudevent_the_worker_dropped_is_not_recorded_again(self, dedup):
        forwarded = json.dumps(cloudevent({"nonsense": True}, event_id="ce-poison")).encode()
        # What the subscription hands the worker: the CloudEvent's data.
        verdict = consume_message(
            TASK_EVENTS, b'{"nonsense": true}', dedup, AttemptCounter(), message_id="ce-poison"
        )
        assert verdict == "drop"
        assert record_dead_letter(DLQ, forwarded) is False


# -- the app channel ----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_app_channel_serves_only_its_own_routes(settings):
    settings.APP_API_TOKEN = "app-token"
    server = AppChannelServer("127.0.0.1", 0)
    server.start()
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=5) as http:
            assert http.get("/healthz").status_code == 200
            assert http.get("/metrics").status_code == 200
            subscribe, config = http.get("/dapr/subscribe"), http.get("/dapr/config")
            assert (subscribe.status_code, subscribe.json()) == (200, [])
            assert (config.status_code, config.json()) == (200, {})
            token = {"dapr-api-token": "app-token"}
            unknown = http.post("/job/not-a-reminder", headers=token)
            assert (unknown.status_code, unknown.json()["result"]) == (404, "unknown job")
            assert http.post("/job/reminder-task-1").status_code == 401
            assert http.get("/api/todos").status_code == 404
            assert http.get("/").status_code == 404
    finally:
        server.stop()
        server.join(5)


# -- manage.py worker ---------------------------------------------------------------------------


@pytest.fixture
def keep_signal_handlers() -> Iterator[None]:
    """The command installs SIGTERM/SIGINT handlers; give pytest its own back."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


@pytest.mark.usefixtures("keep_signal_handlers")
def test_the_worker_refuses_to_start_in_dapr_mode_without_an_app_token(settings, monkeypatch):
    settings.EVENT_BACKEND = "dapr"
    settings.APP_API_TOKEN = ""
    built: list[str] = []
    monkeypatch.setattr(
        "todo_project.eventbus.management.commands.worker.Command._components",
        lambda self: built.append("components") or [],
    )
    with pytest.raises(CommandError, match="APP_API_TOKEN"):
        call_command("worker")
    assert built == []


def test_once_subscribed_the_worker_lets_each_job_route_catch_up(monkeypatch):
    import io

    from todo_project.eventbus.management.commands.worker import Command

    caught: list[str] = []
    monkeypatch.setattr(registry, "_job_routes", {})
    registry.register_job_route(
        registry.JobRoute(
            prefix="test-job-",
            trigger=lambda name, body: (200, "ok"),
            catch_up=lambda: caught.append("test-job-") or 3,
        )
    )
    registry.register_job_route(
        registry.JobRoute(prefix="other-", trigger=lambda name, body: (200, "ok"))
    )
    out = io.StringIO()
    Command(stdout=out)._after_start([], threading.Event())
    assert caught == ["test-job-"]
    assert "caught up: 3 test-job-* job(s) that came due while stopped" in out.getvalue()


def test_the_dapr_worker_runs_the_worker_loops_beside_its_consumers(settings):
    from notifications.email import EmailSender
    from todo_project.eventbus.management.commands.worker import Command

    settings.EVENT_BACKEND = "dapr"
    settings.WORKER_HOST, settings.WORKER_PORT = "127.0.0.1", 0
    publishers.dapr_gateway.cache_clear()
    components = Command()._components()
    try:
        assert any(isinstance(component, EmailSender) for component in components)
        assert isinstance(components[-1], EmailSender)
    finally:
        for component in components:
            if isinstance(component, AppChannelServer):
                component.server.server_close()
        publishers.dapr_gateway.cache_clear()
