"""Dispatch: every handler of a topic over the events it accepts, each effect once.

The distributed-mode dedup (DaprStateDedup) runs over a dict-backed state gateway here;
that the marks really land in Redis with a TTL, under keys daprd accepts, is proven on the
real runtime (tests/distributed/test_events.py).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Sequence

import pytest
from django.db import IntegrityError, connection, transaction
from prometheus_client import REGISTRY

from tasks.models import ActivityEntry
from tests.eventbus.conftest import StateGateway
from todo_project.eventbus import registry
from todo_project.eventbus.dapr_gateway import DaprUnavailable, check_state_key
from todo_project.eventbus.dispatch import (
    DaprStateDedup,
    DatabaseDedup,
    dead_letter_failures,
    dispatch,
    processed_key,
)
from todo_project.eventbus.envelope import TASK_EVENTS, Event, build_event
from todo_project.eventbus.models import DeadLetter, ProcessedEvent

pytestmark = pytest.mark.django_db


def task_created(user_id: int, task_id: int = 4242, title: str = "Buy milk") -> Event:
    return build_event(
        "TaskCreated", {"task_id": task_id, "user_id": user_id, "title": title, "version": 1}
    )


class Recorder:
    """A handler on "test-topic" that records each call (the events it was given)."""

    def __init__(
        self,
        name: str = "test.recorder",
        *,
        fails: bool = False,
        dedupe: bool = True,
        event_types: frozenset[str] = frozenset(),
    ) -> None:
        self.calls: list[list[Event]] = []
        self.fails = fails
        self.handler = registry.Handler(
            name, "test-topic", self.run, event_types=event_types, dedupe=dedupe
        )

    def run(self, events: Sequence[Event]) -> None:
        self.calls.append(list(events))
        if self.fails:
            raise RuntimeError(f"{self.handler.name} is broken")


@pytest.fixture
def only(monkeypatch: pytest.MonkeyPatch):
    """Replace the registered handlers by the given recorders."""

    def install(*recorders: Recorder) -> None:
        monkeypatch.setattr(registry, "_handlers", {r.handler.name: r.handler for r in recorders})

    return install


def activity_log() -> registry.Handler:
    return registry._handlers["tasks.activity_log"]


def consumed(handler: str, outcome: str, topic: str = "test-topic") -> float:
    labels = {"topic": topic, "handler": handler, "outcome": outcome}
    return REGISTRY.get_sample_value("todo_events_consumed_total", labels) or 0.0


# -- processed_key ------------------------------------------------------------------------------


def test_processed_key_names_handler_and_event_and_is_a_valid_state_key() -> None:
    event_id = uuid.uuid4()
    key = processed_key("tasks.activity_log", event_id)
    assert "||" not in key
    assert check_state_key(key) == key
    assert key == f"processed:tasks.activity_log:{event_id}"
    assert key != processed_key("tasks.recurrence", event_id)


# -- dispatch -----------------------------------------------------------------------------------


def test_each_handler_gets_the_events_it_accepts_in_order_in_one_call(only, user) -> None:
    every = Recorder("test.every")
    created_only = Recorder("test.created", event_types=frozenset({"TaskCreated"}))
    only(every, created_only)
    first, second = task_created(user.pk, title="a"), task_created(user.pk, title="b")
    deleted = build_event("TaskDeleted", {"task_id": 1, "user_id": user.pk})

    outcome = dispatch("test-topic", [first, deleted, second], DatabaseDedup())

    assert outcome.ok and outcome.handled == ["test.every", "test.created"]
    assert every.calls == [[first, deleted, second]]
    assert created_only.calls == [[first, second]]


def test_a_handler_that_accepts_none_of_the_events_is_not_called(only, user) -> None:
    picky = Recorder("test.picky", event_types=frozenset({"TaskDeleted"}))
    only(picky)
    outcome = dispatch("test-topic", [task_created(user.pk)], DatabaseDedup())
    assert (outcome.handled, outcome.duplicates, picky.calls) == ([], [], [])


def test_a_single_event_is_a_batch_of_one(user) -> None:
    outcome = dispatch(TASK_EVENTS, [task_created(user.pk)], DatabaseDedup())
    assert "tasks.activity_log" in outcome.handled
    assert ActivityEntry.objects.count() == 1


def test_a_redelivered_event_is_a_duplicate_with_no_second_effect(only, user) -> None:
    recorder = Recorder()
    only(recorder)
    event = task_created(user.pk)
    dispatch("test-topic", [event], DatabaseDedup())
    again = dispatch("test-topic", [event], DatabaseDedup())
    assert (again.handled, again.duplicates, again.ok) == ([], ["test.recorder"], True)
    assert recorder.calls == [[event]]


def test_a_batch_with_events_handled_before_runs_the_handler_on_the_rest_only(only, user) -> None:
    recorder = Recorder()
    only(recorder)
    old, new = task_created(user.pk, title="old"), task_created(user.pk, title="new")
    dispatch("test-topic", [old], DatabaseDedup())

    outcome = dispatch("test-topic", [old, new], DatabaseDedup())

    assert (outcome.handled, outcome.duplicates) == (["test.recorder"], ["test.recorder"])
    assert recorder.calls == [[old], [new]]
    assert ProcessedEvent.objects.filter(consumer="test.recorder").count() == 2


def test_a_failing_handler_keeps_none_of_its_effects_and_stops_no_other(only, user) -> None:
    def writes_then_fails(events: Sequence[Event]) -> None:
        activity_log().func(events)
        raise RuntimeError("after the write")

    broken = registry.Handler("test.half_done", "test-topic", writes_then_fails)
    after = Recorder("test.after")
    only()
    registry._handlers.update({broken.name: broken, after.handler.name: after.handler})
    event = task_created(user.pk)

    outcome = dispatch("test-topic", [event], DatabaseDedup())

    assert list(outcome.failed) == ["test.half_done"] and not outcome.ok
    assert outcome.handled == ["test.after"]
    assert ActivityEntry.objects.count() == 0
    assert not ProcessedEvent.objects.filter(consumer="test.half_done").exists()
    assert after.calls == [[event]]


def test_an_effects_own_constraint_is_a_failure_not_a_duplicate(only, user) -> None:
    def violates(events: Sequence[Event]) -> None:
        raise IntegrityError("unique constraint of the effect")

    only()
    registry._handlers["test.constraint"] = registry.Handler(
        "test.constraint", "test-topic", violates
    )
    outcome = dispatch("test-topic", [task_created(user.pk)], DatabaseDedup())
    assert list(outcome.failed) == ["test.constraint"] and outcome.duplicates == []


def test_handlers_without_dedup_run_on_every_delivery(only, user) -> None:
    push = Recorder("test.push", dedupe=False)
    only(push)
    event = task_created(user.pk)
    dispatch("test-topic", [event], DatabaseDedup())
    dispatch("test-topic", [event], DatabaseDedup())
    assert push.calls == [[event], [event]]
    assert not ProcessedEvent.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_outcomes_are_counted_per_event_once_the_effects_commit(only, user) -> None:
    recorder = Recorder("test.counted")
    only(recorder)
    events = [task_created(user.pk, title=str(n)) for n in range(3)]
    before = consumed("test.counted", "success")

    with pytest.raises(RuntimeError), transaction.atomic():
        dispatch("test-topic", events, DatabaseDedup())
        raise RuntimeError("the relay's transaction rolls back")
    assert consumed("test.counted", "success") == before

    dispatch("test-topic", events, DatabaseDedup())
    assert consumed("test.counted", "success") == before + 3
    duplicates = consumed("test.counted", "duplicate")
    dispatch("test-topic", events[:2], DatabaseDedup())
    assert consumed("test.counted", "duplicate") == duplicates + 2


@pytest.mark.django_db(transaction=True)
def test_the_same_event_delivered_twice_at_once_has_one_effect(user) -> None:
    event = task_created(user.pk)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def deliver() -> None:
        try:
            barrier.wait()
            with transaction.atomic():
                outcome = dispatch(TASK_EVENTS, [event], DatabaseDedup())
                assert outcome.ok
        except BaseException as exc:  # reported below
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


def test_dead_lettering_records_each_failed_handler_for_operators(only, user) -> None:
    broken = Recorder("test.broken", fails=True)
    only(broken)
    event = task_created(user.pk)
    outcome = dispatch("test-topic", [event], DatabaseDedup())

    dead_letter_failures("test-topic", event, outcome, raw='{"raw": 1}', attempts=5)

    letter = DeadLetter.objects.get()
    assert (letter.topic, letter.consumer, letter.event_id, letter.attempts) == (
        "test-topic",
        "test.broken",
        str(event.event_id),
        5,
    )
    assert letter.error == "RuntimeError: test.broken is broken"
    assert letter.raw == '{"raw": 1}'


# -- DaprStateDedup -----------------------------------------------------------------------------


def test_an_event_runs_once_and_is_then_marked_with_the_dedup_ttl(
    state_gateway: StateGateway, settings, user
) -> None:
    settings.DEDUP_TTL_SECONDS = 3600
    recorder, event = Recorder(), task_created(user.pk)

    assert DaprStateDedup(state_gateway).run_once(recorder.handler, [event]) == [event]

    assert recorder.calls == [[event]]
    assert state_gateway.keys == {processed_key("test.recorder", event.event_id): (b"1", 3600)}


def test_a_marked_event_is_a_duplicate_and_has_no_second_effect(
    state_gateway: StateGateway, user
) -> None:
    dedup, event = DaprStateDedup(state_gateway), task_created(user.pk)
    assert dedup.run_once(activity_log(), [event]) == [event]
    assert dedup.run_once(activity_log(), [event]) == []
    assert ActivityEntry.objects.count() == 1


def test_a_failed_effect_is_rolled_back_and_left_unmarked(
    state_gateway: StateGateway, user
) -> None:
    def writes_then_fails(events: Sequence[Event]) -> None:
        activity_log().func(events)
        raise RuntimeError("after the write")

    handler = registry.Handler("test.half_done", TASK_EVENTS, writes_then_fails)
    with pytest.raises(RuntimeError, match="after the write"):
        DaprStateDedup(state_gateway).run_once(handler, [task_created(user.pk)])
    assert ActivityEntry.objects.count() == 0
    assert state_gateway.keys == {}


def test_an_unreachable_state_store_runs_nothing(state_gateway: StateGateway, user) -> None:
    state_gateway.down = True
    recorder = Recorder()
    with pytest.raises(DaprUnavailable):
        DaprStateDedup(state_gateway).run_once(recorder.handler, [task_created(user.pk)])
    assert recorder.calls == []


def test_a_lost_mark_means_a_second_run_that_the_effects_constraint_absorbs(
    state_gateway: StateGateway, user, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The mark is written after the effect committed: losing it costs a rerun, never an
    effect (the activity entry is unique per event)."""
    dedup, event = DaprStateDedup(state_gateway), task_created(user.pk)

    def sidecar_gone(key: str, value: bytes, *, ttl_seconds: int) -> bool:
        raise DaprUnavailable("injected: gone between the effect and the mark")

    with monkeypatch.context() as patch:
        patch.setattr(state_gateway, "save_state_first_write", sidecar_gone)
        with pytest.raises(DaprUnavailable):
            dedup.run_once(activity_log(), [event])
    assert ActivityEntry.objects.count() == 1

    assert dedup.run_once(activity_log(), [event]) == [event]  # the redelivery runs again...
    assert ActivityEntry.objects.count() == 1  # ...and the constraint keeps one entry


def test_dispatch_over_the_state_store_reports_each_handler(
    state_gateway: StateGateway, user, only
) -> None:
    ok = Recorder("test.ok")
    broken = Recorder("test.broken", fails=True)
    live = Recorder("test.push", dedupe=False)
    only(ok, broken, live)
    dedup, event = DaprStateDedup(state_gateway), task_created(user.pk)

    first = dispatch("test-topic", [event], dedup)
    assert (first.handled, first.duplicates, list(first.failed)) == (
        ["test.ok", "test.push"],
        [],
        ["test.broken"],
    )

    # The redelivery: the deduplicated handler is a duplicate, the live push runs again.
    broken.fails = False
    second = dispatch("test-topic", [event], dedup)
    assert (second.handled, second.duplicates, second.ok) == (
        ["test.broken", "test.push"],
        ["test.ok"],
        True,
    )
    assert (len(ok.calls), len(broken.calls), len(live.calls)) == (1, 2, 2)
