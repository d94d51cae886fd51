from __future__ import annotations

import json
import threading
from datetime import timedelta

import grpc
import pytest
from django.db import transaction
from django.utils import timezone

from tasks import services
from tasks.models import ActivityEntry
from todo_project.eventbus.dapr_gateway import DaprUnavailable
from todo_project.eventbus.envelope import TASK_EVENTS, TASK_UPDATES, parse_envelope
from todo_project.eventbus.models import DeadLetter, OutboxMessage, ProcessedEvent
from todo_project.eventbus.publishers import DaprPublisher, LocalBus
from todo_project.eventbus.relay import drain, relay_once
from todo_project.observability import TraceContext, current_trace_context, use_traceparent

pytestmark = pytest.mark.django_db(transaction=True)

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


class RecordingPublisher:
    def __init__(self, fail_for: set[str] | None = None) -> None:
        self.sent: list[OutboxMessage] = []
        self.fail_for = fail_for or set()
        self.lock = threading.Lock()

    def publish(self, message: OutboxMessage) -> None:
        if message.partition_key in self.fail_for:
            raise ConnectionError("broker down")
        with self.lock:
            self.sent.append(message)


def create(user, title="t", **data):
    return services.task_create(user=user, data={"title": title, **data})


class TestOutbox:
    def test_every_service_writes_its_events_to_both_topics(self, user):
        task = create(user, "a")
        services.task_update(task=task, data={"title": "b", "priority": "high"})
        services.task_complete(task=task)
        services.task_reopen(task=task)
        services.task_delete(task=task)
        rows = list(OutboxMessage.objects.order_by("id"))
        types = [(r.event_type, r.topic) for r in rows]
        assert types == [
            (kind, topic)
            for kind in [
                "TaskCreated",
                "TaskUpdated",
                "TaskCompleted",
                "TaskUpdated",
                "TaskDeleted",
            ]
            for topic in (TASK_EVENTS, TASK_UPDATES)
        ]
        assert {r.partition_key for r in rows} == {str(user.pk)}
        update = parse_envelope(rows[2].envelope)
        assert update.payload["changed_fields"] == ["priority", "title"]
        assert update.payload["version"] == 2
        deleted = parse_envelope(rows[-1].envelope)
        assert deleted.payload["title"] == "b" and deleted.payload["version"] == 5

    def test_envelope_matches_the_contract(self, user):
        create(user, "Buy milk", due_date=timezone.now())
        envelope = OutboxMessage.objects.first().envelope
        assert set(envelope) == {"event_id", "event_type", "timestamp", "payload"}
        assert envelope["timestamp"].endswith("Z")
        payload = envelope["payload"]
        assert {"task_id", "user_id", "title", "due_date", "version"} <= set(payload)
        assert payload["user_id"] == user.pk

    def test_rolled_back_transaction_leaves_no_event(self, user):
        with pytest.raises(RuntimeError), transaction.atomic():
            create(user)
            raise RuntimeError("boom")
        assert OutboxMessage.objects.count() == 0

    def test_idempotent_complete_writes_no_second_event(self, user):
        task = create(user)
        services.task_complete(task=task)
        services.task_complete(task=task)
        assert OutboxMessage.objects.filter(event_type="TaskCompleted").count() == 2  # 2 topics


class TestRelay:
    def test_publishes_in_order_and_marks_published(self, user):
        for i in range(5):
            create(user, f"t{i}")
        publisher = RecordingPublisher()
        assert drain(publisher) == 10
        assert [m.pk for m in publisher.sent] == sorted(m.pk for m in publisher.sent)
        assert not OutboxMessage.objects.filter(published_at=None).exists()
        assert set(OutboxMessage.objects.values_list("attempts", flat=True)) == {1}

    def test_failure_records_error_backs_off_and_blocks_only_its_key(self, user, other_user):
        create(user, "a1")
        create(other_user, "b1")
        create(user, "a2")
        publisher = RecordingPublisher(fail_for={str(user.pk)})
        result = relay_once(publisher)
        assert result.failed == 1  # the first row of the user's key; the rest of it waits
        assert {m.partition_key for m in publisher.sent} == {str(other_user.pk)}
        failed = OutboxMessage.objects.get(attempts=1, published_at=None)
        assert failed.last_error == "ConnectionError: broker down"
        assert failed.next_attempt_at > timezone.now()
        # Before the backoff expires nothing of that key goes out, even if the broker healed.
        publisher.fail_for.clear()
        relay_once(publisher)
        assert OutboxMessage.objects.filter(published_at=None).count() == 4
        # Once due, everything goes out in the original order.
        later = timezone.now() + timedelta(minutes=5)
        relay_once(publisher, now=later)
        user_rows = [m.pk for m in publisher.sent if m.partition_key == str(user.pk)]
        assert user_rows == sorted(user_rows) and len(user_rows) == 4
        assert not OutboxMessage.objects.filter(published_at=None).exists()

    def test_backoff_doubles_from_half_a_second_up_to_the_cap(self, settings):
        from todo_project.eventbus.relay import backoff

        # The default cap (5 s) lets a backlog drain within seconds of a sidecar coming back.
        settings.OUTBOX_MAX_ATTEMPTS_BACKOFF_SECONDS = 5
        assert [backoff(n).total_seconds() for n in range(1, 7)] == [0.5, 1, 2, 4, 5, 5]

    def test_crash_between_publish_and_mark_redelivers_and_consumer_absorbs_it(self, user):
        create(user)
        bus = LocalBus()

        class CrashAfterPublish:
            def publish(self, message):
                bus.publish(message)
                raise SystemExit("crash before marking published")

        with pytest.raises(SystemExit):
            relay_once(CrashAfterPublish())
        # The crash rolled back the relay's transaction; the row is still pending.
        assert OutboxMessage.objects.filter(published_at=None).count() == 2
        drain(bus)
        assert ActivityEntry.objects.count() == 1
        assert ProcessedEvent.objects.filter(consumer="tasks.activity_log").count() == 1


class TestLocalBus:
    def test_api_change_reaches_the_activity_log(self, api, user):
        response = api.post("/api/todos", {"title": "Buy milk"})
        task_id = response.json()["id"]
        api.patch(f"/api/todos/{task_id}", {"priority": "urgent"})
        drain(LocalBus())
        activity = api.get(f"/api/todos/{task_id}/activity").json()
        assert [a["event_type"] for a in activity] == ["TaskUpdated", "TaskCreated"]
        assert activity[0]["changes"] == {"priority": "urgent"}
        assert activity[0]["actor"] == "alice"

    def test_same_event_twice_has_one_effect(self, user):
        create(user)
        row = OutboxMessage.objects.get(topic=TASK_EVENTS)
        bus = LocalBus()
        bus.publish(row)
        bus.publish(row)
        assert ActivityEntry.objects.count() == 1

    def test_same_event_to_two_workers_at_once_has_one_effect(self, user):
        create(user)
        row = OutboxMessage.objects.get(topic=TASK_EVENTS)
        barrier = threading.Barrier(2)
        errors: list[BaseException] = []

        def deliver() -> None:
            from django.db import connection

            try:
                barrier.wait()
                LocalBus().publish(row)
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)
            finally:
                connection.close()

        threads = [threading.Thread(target=deliver) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not errors
        assert ActivityEntry.objects.count() == 1

    def test_failing_handler_is_retried_then_dead_lettered(self, user, settings, monkeypatch):
        settings.HANDLER_MAX_ATTEMPTS = 3
        calls = []

        def broken(event):
            calls.append(event.event_id)
            raise ValueError("cannot handle")

        from tasks import handlers

        monkeypatch.setattr(handlers, "record_activity", broken)
        from todo_project.eventbus import registry

        original = registry._handlers["tasks.activity_log"]
        monkeypatch.setitem(
            registry._handlers,
            "tasks.activity_log",
            registry.Handler(original.name, original.topic, broken, original.event_types),
        )
        create(user)
        bus = LocalBus()
        later = timezone.now()
        for _ in range(3):
            later += timedelta(minutes=5)
            relay_once(bus, now=later)
        # Three delivery attempts; the first pass also tried the row in a batch, which
        # failed as a whole and kept nothing, before delivering it alone.
        assert len(calls) == 4
        letter = DeadLetter.objects.get()
        assert (letter.consumer, letter.topic, letter.attempts) == (
            "tasks.activity_log",
            TASK_EVENTS,
            3,
        )
        assert "cannot handle" in letter.error
        assert not OutboxMessage.objects.filter(published_at=None).exists()

    def test_batch_is_one_set_of_queries_whatever_its_size(self, user):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        def queries_to_relay(tasks: int) -> int:
            for number in range(tasks):
                create(user, f"task {number}")
            with CaptureQueriesContext(connection) as captured:
                result = relay_once(LocalBus())
            assert result.published == 2 * tasks
            return len(captured)

        assert queries_to_relay(2) == queries_to_relay(20)
        assert ActivityEntry.objects.count() == 22
        assert ProcessedEvent.objects.filter(consumer="tasks.activity_log").count() == 22

    def test_batch_stops_between_chunks_when_the_pass_runs_out_of_time(
        self, user, settings, monkeypatch
    ):
        from todo_project.eventbus import relay

        monkeypatch.setattr(relay, "CHUNK_SIZE", 4)
        monkeypatch.setattr(relay, "_row_seconds", relay.MovingAverage())  # no estimate yet
        settings.OUTBOX_BATCH_SECONDS = 0  # every chunk is past the deadline
        for number in range(5):
            create(user, f"task {number}")  # 10 rows
        first = relay_once(LocalBus())
        assert (first.published, first.cut_short) == (4, True)
        assert ActivityEntry.objects.count() == 2
        assert drain(LocalBus()) == 6
        titles = list(ActivityEntry.objects.order_by("id").values_list("title", flat=True))
        assert titles == [f"task {number}" for number in range(5)]

    def test_chunks_are_sized_to_fit_the_time_left(self, monkeypatch):
        import time

        from todo_project.eventbus import relay

        estimate = relay.MovingAverage()
        monkeypatch.setattr(relay, "_row_seconds", estimate)
        assert relay._chunk_size(time.monotonic() + 1) == relay.CHUNK_SIZE  # no estimate
        estimate.add(0.1)
        assert relay._chunk_size(time.monotonic() + 1) in (9, 10)
        assert relay._chunk_size(time.monotonic() - 1) == 1  # late: one row at a time
        estimate.add(0.0)
        assert estimate.value == pytest.approx(0.07)
        assert relay._chunk_size(time.monotonic() + 100) == relay.CHUNK_SIZE

    def test_a_rolled_back_batch_is_counted_once_in_the_metrics(self, user, monkeypatch):
        from prometheus_client import REGISTRY

        from tasks import handlers
        from todo_project.eventbus import registry, relay

        def sample(name: str, **labels: str) -> float:
            return REGISTRY.get_sample_value(name, labels) or 0.0

        def fails_on_b(events):
            if any(event.payload["title"] == "b" for event in events):
                raise ValueError("not in a batch")
            handlers.record_activities(events)

        original = registry._handlers["tasks.activity_log"]
        monkeypatch.setitem(
            registry._handlers,
            original.name,
            registry.Handler(
                original.name,
                original.topic,
                original.func,
                original.event_types,
                batch_func=fails_on_b,
            ),
        )
        monkeypatch.setattr(relay, "CHUNK_SIZE", 2)  # a's rows, then b's: the second fails
        monkeypatch.setattr(relay, "_row_seconds", relay.MovingAverage())
        consumed = {"topic": TASK_EVENTS, "handler": original.name, "outcome": "success"}
        before = (
            sample("todo_events_consumed_total", **consumed),
            sample("todo_events_published_total", topic=TASK_EVENTS),
        )
        create(user, "a")
        create(user, "b")
        assert relay_once(LocalBus()).published == 4  # row by row after the rollback
        assert ActivityEntry.objects.count() == 2
        after = (
            sample("todo_events_consumed_total", **consumed),
            sample("todo_events_published_total", topic=TASK_EVENTS),
        )
        assert (after[0] - before[0], after[1] - before[1]) == (2, 2)

    def test_batch_skips_events_already_handled(self, user):
        create(user, "a")
        create(user, "b")
        first = OutboxMessage.objects.filter(topic=TASK_EVENTS).order_by("id").first()
        LocalBus().publish(first)  # handled once already (e.g. before a crash)
        relay_once(LocalBus())
        assert ActivityEntry.objects.count() == 2
        assert not OutboxMessage.objects.filter(published_at=None).exists()

    def test_failed_row_goes_alone_and_its_key_follows_in_order(
        self, user, other_user, monkeypatch
    ):
        from tasks import handlers
        from todo_project.eventbus import registry

        seen: list[tuple[str, int]] = []
        broken = {"on": True}
        original = registry._handlers["tasks.activity_log"]

        def flaky(event):
            if broken["on"] and event.payload["title"] == "mine 1":
                raise ValueError("not yet")
            seen.append((event.payload["title"], event.payload["version"]))
            handlers.record_activity(event)

        monkeypatch.setitem(
            registry._handlers,
            original.name,
            registry.Handler(original.name, original.topic, flaky, original.event_types),
        )
        task = create(user, "mine 1")
        services.task_update(task=task, data={"title": "mine 2"})
        create(other_user, "theirs")

        relay_once(LocalBus())  # the batch fails, then row by row: user's key stops
        assert [title for title, _ in seen] == ["theirs"]
        failed = OutboxMessage.objects.get(
            topic=TASK_EVENTS, event_type="TaskCreated", partition_key=str(user.pk)
        )
        assert failed.attempts == 1 and failed.published_at is None

        broken["on"] = False
        create(other_user, "theirs again")
        relay_once(LocalBus(), now=timezone.now() + timedelta(minutes=5))
        assert seen == [("theirs", 1), ("theirs again", 1), ("mine 1", 1), ("mine 2", 2)]
        assert not OutboxMessage.objects.filter(published_at=None).exists()

    def test_poison_envelope_is_dead_lettered(self, user):
        bus = LocalBus()
        row = OutboxMessage(topic=TASK_EVENTS, envelope={"nonsense": True}, partition_key="1")
        bus.publish(row)
        assert "envelope lacks" in DeadLetter.objects.get().error


class StubDaprGateway:
    """The gateway calls DaprPublisher makes (one event, or a run of one topic in bulk).
    ``is_healthy`` is what the sidecar's health probe answers; ``error`` is raised by every
    publish while set. Each published event is recorded with the trace bound meanwhile."""

    def __init__(self) -> None:
        self.sent: list[tuple[dict[str, object], TraceContext | None]] = []
        self.is_healthy = True
        self.error: Exception | None = None

    def healthy(self) -> bool:
        return self.is_healthy

    def publish(self, **call: object) -> None:
        if self.error is not None:
            raise self.error
        self.sent.append((call, current_trace_context()))

    def publish_many(self, *, topic: str, events: list[tuple[bytes, str, str]]) -> list[str]:
        for data, event_id, partition_key in events:
            self.publish(topic=topic, data=data, event_id=event_id, partition_key=partition_key)
        return []

    def titles(self, topic: str = TASK_EVENTS) -> list[str]:
        return [
            json.loads(call["data"])["payload"]["title"]
            for call, _ in self.sent
            if call["topic"] == topic
        ]


class TestDaprPublisher:
    def test_each_row_is_published_in_the_trace_of_the_request_that_wrote_it(self, user):
        with use_traceparent(TRACEPARENT):
            create(user, "traced")
        create(user, "untraced")
        rows = list(OutboxMessage.objects.filter(topic=TASK_EVENTS).order_by("id"))
        assert [row.traceparent for row in rows] == [TRACEPARENT, ""]

        gateway = StubDaprGateway()
        assert drain(DaprPublisher(gateway)) == 4
        sent = [(call, trace) for call, trace in gateway.sent if call["topic"] == TASK_EVENTS]
        assert [trace.traceparent if trace else None for _, trace in sent] == [TRACEPARENT, None]
        call = sent[0][0]
        assert (call["event_id"], call["partition_key"]) == (str(rows[0].event_id), str(user.pk))
        assert json.loads(call["data"]) == rows[0].envelope
        assert current_trace_context() is None

    def test_an_unhealthy_sidecar_leaves_every_row_to_another_relay(self, user):
        create(user, "t0")
        gateway = StubDaprGateway()
        gateway.is_healthy = False
        result = relay_once(DaprPublisher(gateway))
        assert (result.unavailable, result.published, result.failed) == (True, 0, 0)
        assert gateway.sent == []
        assert set(OutboxMessage.objects.values_list("attempts", "next_attempt_at")) == {(0, None)}

    @pytest.mark.parametrize("code", [None, grpc.StatusCode.UNAVAILABLE])
    def test_a_sidecar_lost_mid_pass_charges_no_attempt_and_order_holds_after(self, user, code):
        for number in range(3):
            create(user, f"t{number}")
        gateway = StubDaprGateway()
        gateway.error = DaprUnavailable("injected: sidecar gone", code=code)
        result = relay_once(DaprPublisher(gateway))
        assert (result.unavailable, result.failed) == (True, 0)
        assert set(OutboxMessage.objects.values_list("attempts", flat=True)) == {0}

        gateway.error = None
        drain(DaprPublisher(gateway))
        assert gateway.titles() == ["t0", "t1", "t2"]
        assert not OutboxMessage.objects.filter(published_at=None).exists()

    def test_a_publish_the_sidecar_refused_is_charged_to_the_row_and_backed_off(self, user):
        create(user, "t0")
        gateway = StubDaprGateway()
        gateway.error = DaprUnavailable("injected: broker refused", code=grpc.StatusCode.INTERNAL)
        result = relay_once(DaprPublisher(gateway))
        assert (result.unavailable, result.failed) == (False, 1)
        row = OutboxMessage.objects.get(topic=TASK_EVENTS)
        assert row.attempts == 1
        assert "broker refused" in row.last_error
        assert row.next_attempt_at > timezone.now()


class TestRelayLoop:
    def test_commit_wakes_the_relay_and_the_handlers_run_without_polling(self, api, user):
        from todo_project.eventbus.relay import RelayLoop

        loop = RelayLoop(LocalBus(), poll_seconds=60)  # the poll would never come in time
        loop.start()
        try:
            task_id = api.post("/api/todos", {"title": "Live"}).json()["id"]
            deadline = timezone.now() + timedelta(seconds=5)
            while not ActivityEntry.objects.filter(task_id=task_id).exists():
                assert timezone.now() < deadline, "the relay did not wake on commit"
                loop.stopping.wait(0.02)
        finally:
            loop.stop()
            loop.join(5)
        assert not loop.is_alive()
        assert not OutboxMessage.objects.filter(published_at=None).exists()

    def test_a_failed_row_is_retried_after_its_backoff_without_a_commit(self, user):
        from todo_project.eventbus.relay import RelayLoop

        class FailsOnce(RecordingPublisher):
            def publish(self, message: OutboxMessage) -> None:
                if not hasattr(self, "failed"):
                    self.failed = True
                    raise ConnectionError("broker down")
                super().publish(message)

        publisher = FailsOnce()
        create(user)
        loop = RelayLoop(publisher, poll_seconds=60)  # only the backoff timer can retry
        loop.start()
        try:
            deadline = timezone.now() + timedelta(seconds=5)
            while OutboxMessage.objects.filter(published_at=None).exists():
                assert timezone.now() < deadline, "the failed row was not retried"
                loop.stopping.wait(0.05)
        finally:
            loop.stop()
            loop.join(5)
        assert [m.topic for m in publisher.sent] == [TASK_EVENTS, TASK_UPDATES]
        assert OutboxMessage.objects.get(topic=TASK_EVENTS).attempts == 2


class TestBackgroundLoops:
    def test_embedded_mode_runs_relay_and_scheduler(self, settings):
        from tasks.reminders import ReminderScheduler
        from todo_project.eventbus.notify import OutboxListener
        from todo_project.eventbus.relay import RelayLoop
        from todo_project.eventbus.runtime import background_loops

        settings.RUN_EMBEDDED_WORKER = True
        loops = background_loops()
        listener = [OutboxListener] if settings.IS_POSTGRES else []
        assert [type(loop) for loop in loops] == [*listener, RelayLoop, ReminderScheduler]
        assert isinstance(loops[-2].publisher, LocalBus)

    def test_dapr_web_runs_only_a_publishing_relay(self, settings):
        from todo_project.eventbus import publishers
        from todo_project.eventbus.runtime import background_loops

        settings.RUN_EMBEDDED_WORKER = False
        settings.EVENT_BACKEND = "dapr"
        publishers.dapr_gateway.cache_clear()
        try:
            loop = background_loops()[-1]
            assert isinstance(loop.publisher, DaprPublisher)
        finally:
            publishers.dapr_gateway.cache_clear()

    def test_local_web_with_a_separate_worker_runs_nothing(self, settings):
        from todo_project.eventbus.runtime import background_loops

        settings.RUN_EMBEDDED_WORKER = False
        settings.EVENT_BACKEND = "local"
        assert background_loops() == []
