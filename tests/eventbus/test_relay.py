"""The outbox relay: in order per key, a failure held to its row and key, batches whole."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from prometheus_client import REGISTRY

from tasks import services
from tasks.models import ActivityEntry
from todo_project.eventbus import registry
from todo_project.eventbus.envelope import TASK_EVENTS, TASK_UPDATES
from todo_project.eventbus.models import DeadLetter, OutboxMessage, ProcessedEvent
from todo_project.eventbus.publishers import LocalBus
from todo_project.eventbus.relay import RelayLoop, backoff, drain, relay_once

pytestmark = pytest.mark.django_db(transaction=True)


class RecordingPublisher:
    """Records each publish call (the rows it was given); fails for the keys in fail_for."""

    def __init__(self, fail_for: set[str] | None = None) -> None:
        self.calls: list[list[OutboxMessage]] = []
        self.fail_for = fail_for or set()
        self.lock = threading.Lock()

    def available(self) -> bool:
        return True

    def publish(self, messages) -> None:
        if any(message.partition_key in self.fail_for for message in messages):
            raise ConnectionError("broker down")
        with self.lock:
            self.calls.append(list(messages))

    @property
    def sent(self) -> list[OutboxMessage]:
        return [message for call in self.calls for message in call]


def create(user, title="t", **data):
    return services.task_create(user=user, data={"title": title, **data})


def replace_activity_log(monkeypatch: pytest.MonkeyPatch, func) -> registry.Handler:
    original = registry._handlers["tasks.activity_log"]
    monkeypatch.setitem(
        registry._handlers,
        original.name,
        registry.Handler(original.name, original.topic, func, original.event_types),
    )
    return original


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


class TestRelay:
    def test_publishes_in_order_and_marks_published(self, user):
        for i in range(5):
            create(user, f"t{i}")
        publisher = RecordingPublisher()
        assert drain(publisher) == 10
        assert [m.pk for m in publisher.sent] == sorted(m.pk for m in publisher.sent)
        assert not OutboxMessage.objects.filter(published_at=None).exists()
        assert set(OutboxMessage.objects.values_list("attempts", flat=True)) == {1}

    def test_the_ready_rows_go_in_one_publish(self, user, other_user):
        create(user, "a")
        create(other_user, "b")
        publisher = RecordingPublisher()
        assert relay_once(publisher).published == 4
        assert [len(call) for call in publisher.calls] == [4]

    def test_a_pass_claims_at_most_the_batch_size_and_drain_takes_every_pass(self, user):
        for i in range(5):
            create(user, f"t{i}")
        publisher = RecordingPublisher()
        first = relay_once(publisher, batch_size=4)
        assert (first.claimed, first.published) == (4, 4)
        assert drain(publisher, batch_size=4) == 6
        assert [m.pk for m in publisher.sent] == sorted(m.pk for m in publisher.sent)

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
        # The default cap (5 s) lets a backlog drain within seconds of a sidecar coming back.
        settings.OUTBOX_MAX_ATTEMPTS_BACKOFF_SECONDS = 5
        assert [backoff(n).total_seconds() for n in range(1, 7)] == [0.5, 1, 2, 4, 5, 5]

    def test_crash_between_publish_and_mark_redelivers_and_consumer_absorbs_it(self, user):
        create(user)
        bus = LocalBus()

        class CrashAfterPublish:
            def available(self) -> bool:
                return True

            def publish(self, messages):
                bus.publish(messages)
                raise SystemExit("crash before marking published")

        with pytest.raises(SystemExit):
            relay_once(CrashAfterPublish())
        # The crash rolled back the relay's transaction; the row is still pending.
        assert OutboxMessage.objects.filter(published_at=None).count() == 2
        drain(bus)
        assert ActivityEntry.objects.count() == 1
        assert ProcessedEvent.objects.filter(consumer="tasks.activity_log").count() == 1


class TestRelayOverTheLocalBus:
    def test_a_pass_is_one_set_of_queries_whatever_its_size(self, user):
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

    def test_failing_handler_is_retried_then_dead_lettered(self, user, settings, monkeypatch):
        settings.HANDLER_MAX_ATTEMPTS = 3
        calls = []

        def broken(events):
            calls.extend(event.event_id for event in events)
            raise ValueError("cannot handle")

        replace_activity_log(monkeypatch, broken)
        create(user)
        bus = LocalBus()
        later = timezone.now()
        for _ in range(3):
            later += timedelta(minutes=5)
            relay_once(bus, now=later)
        # Three delivery attempts; the first pass also tried the row together with its
        # task-updates row, which failed as a whole and kept nothing, before it went alone.
        assert len(calls) == 4
        letter = DeadLetter.objects.get()
        assert (letter.consumer, letter.topic, letter.attempts) == (
            "tasks.activity_log",
            TASK_EVENTS,
            3,
        )
        assert "cannot handle" in letter.error
        assert not OutboxMessage.objects.filter(published_at=None).exists()

    def test_a_failed_batch_keeps_nothing_and_is_counted_once_in_the_metrics(
        self, user, monkeypatch
    ):
        def fails_with_b(events):
            if any(event.payload["title"] == "b" for event in events):
                raise ValueError("not with b")
            original.func(events)

        original = replace_activity_log(monkeypatch, fails_with_b)
        consumed = {"topic": TASK_EVENTS, "handler": original.name, "outcome": "success"}
        pushed = {"topic": TASK_UPDATES, "handler": "realtime.push", "outcome": "success"}
        before = (
            sample("todo_events_consumed_total", **consumed),
            sample("todo_events_consumed_total", **pushed),
            sample("todo_events_published_total", topic=TASK_EVENTS),
        )
        create(user, "a")
        create(user, "b")

        result = relay_once(LocalBus())

        # Together the rows failed; alone, a's rows went and b's task-events row is held
        # (and its task-updates row behind it, in order).
        assert (result.published, result.failed) == (2, 1)
        assert list(ActivityEntry.objects.values_list("title", flat=True)) == ["a"]
        after = (
            sample("todo_events_consumed_total", **consumed),
            sample("todo_events_consumed_total", **pushed),
            sample("todo_events_published_total", topic=TASK_EVENTS),
        )
        assert (after[0] - before[0], after[1] - before[1], after[2] - before[2]) == (1, 1, 1)

    def test_a_batch_skips_events_already_handled(self, user):
        create(user, "a")
        create(user, "b")
        first = OutboxMessage.objects.filter(topic=TASK_EVENTS).order_by("id").first()
        LocalBus().publish([first])  # handled once already (e.g. before a crash)
        relay_once(LocalBus())
        assert ActivityEntry.objects.count() == 2
        assert not OutboxMessage.objects.filter(published_at=None).exists()

    def test_failed_row_goes_alone_and_its_key_follows_in_order(
        self, user, other_user, monkeypatch
    ):
        seen: list[tuple[str, int]] = []
        broken = {"on": True}

        def flaky(events):
            if broken["on"] and any(event.payload["title"] == "mine 1" for event in events):
                raise ValueError("not yet")
            seen.extend((event.payload["title"], event.payload["version"]) for event in events)
            original.func(events)

        original = replace_activity_log(monkeypatch, flaky)
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


class TestRelayLoop:
    def test_commit_wakes_the_relay_and_the_handlers_run_without_polling(self, api, user):
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
        class FailsTwice(RecordingPublisher):
            failures_left = 2  # the rows together, then the first row alone

            def publish(self, messages) -> None:
                if self.failures_left:
                    self.failures_left -= 1
                    raise ConnectionError("broker down")
                super().publish(messages)

        publisher = FailsTwice()
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
        # Together they failed; alone, the first row failed and its key waited its backoff.
        assert [m.topic for m in publisher.sent] == [TASK_EVENTS, TASK_UPDATES]
        assert OutboxMessage.objects.get(topic=TASK_EVENTS).attempts == 2
