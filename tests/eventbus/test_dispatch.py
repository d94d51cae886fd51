"""Dispatch and the distributed-mode dedup (DaprStateDedup) over a dict-backed state gateway.

That the marks really land in Redis with a TTL, under keys daprd accepts, is proven on the
real runtime (tests/distributed/test_events.py).
"""

from __future__ import annotations

import uuid

import pytest

from tasks.models import ActivityEntry
from tests.eventbus.conftest import StateGateway
from todo_project.eventbus import registry
from todo_project.eventbus.dapr_gateway import DaprUnavailable, check_state_key
from todo_project.eventbus.dispatch import DaprStateDedup, dispatch, processed_key
from todo_project.eventbus.envelope import TASK_EVENTS, Event, build_event

pytestmark = pytest.mark.django_db


def task_created(user_id: int, task_id: int = 4242) -> Event:
    return build_event(
        "TaskCreated", {"task_id": task_id, "user_id": user_id, "title": "Buy milk", "version": 1}
    )


def recording_handler(
    name: str = "test.recorder", *, fails: bool = False, dedupe: bool = True
) -> tuple[registry.Handler, list[Event]]:
    seen: list[Event] = []

    def func(event: Event) -> None:
        seen.append(event)
        if fails:
            raise RuntimeError(f"{name} is broken")

    return registry.Handler(name, "test-topic", func, dedupe=dedupe), seen


def activity_log() -> registry.Handler:
    return registry._handlers["tasks.activity_log"]


# -- processed_key ------------------------------------------------------------------------------


def test_processed_key_names_handler_and_event_and_is_a_valid_state_key() -> None:
    event_id = uuid.uuid4()
    key = processed_key("tasks.activity_log", event_id)
    assert "||" not in key
    assert check_state_key(key) == key
    assert key == f"processed:tasks.activity_log:{event_id}"
    assert key != processed_key("tasks.recurrence", event_id)


# -- DaprStateDedup -----------------------------------------------------------------------------


def test_an_event_runs_once_and_is_then_marked_with_the_dedup_ttl(
    state_gateway: StateGateway, settings, user
) -> None:
    settings.DEDUP_TTL_SECONDS = 3600
    (handler, seen), event = recording_handler(), task_created(user.pk)

    assert DaprStateDedup(state_gateway).run_once(handler, event) is True

    assert seen == [event]
    assert state_gateway.keys == {processed_key(handler.name, event.event_id): (b"1", 3600)}


def test_a_marked_event_is_a_duplicate_and_has_no_second_effect(
    state_gateway: StateGateway, user
) -> None:
    dedup, event = DaprStateDedup(state_gateway), task_created(user.pk)
    assert dedup.run_once(activity_log(), event) is True
    assert dedup.run_once(activity_log(), event) is False
    assert ActivityEntry.objects.count() == 1


def test_a_failed_effect_is_rolled_back_and_left_unmarked(
    state_gateway: StateGateway, user
) -> None:
    def writes_then_fails(event: Event) -> None:
        activity_log().func(event)
        raise RuntimeError("after the write")

    handler = registry.Handler("test.half_done", TASK_EVENTS, writes_then_fails)
    with pytest.raises(RuntimeError, match="after the write"):
        DaprStateDedup(state_gateway).run_once(handler, task_created(user.pk))
    assert ActivityEntry.objects.count() == 0
    assert state_gateway.keys == {}


def test_an_unreachable_state_store_runs_nothing(state_gateway: StateGateway, user) -> None:
    state_gateway.down = True
    handler, seen = recording_handler()
    with pytest.raises(DaprUnavailable):
        DaprStateDedup(state_gateway).run_once(handler, task_created(user.pk))
    assert seen == []


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
            dedup.run_once(activity_log(), event)
    assert ActivityEntry.objects.count() == 1

    assert dedup.run_once(activity_log(), event) is True  # the redelivery runs again...
    assert ActivityEntry.objects.count() == 1  # ...and the constraint keeps one entry


# -- dispatch -----------------------------------------------------------------------------------


def test_dispatch_runs_every_handler_reports_each_and_one_failure_stops_no_other(
    state_gateway: StateGateway, user, monkeypatch: pytest.MonkeyPatch
) -> None:
    ok, ok_seen = recording_handler("test.ok")
    broken, _ = recording_handler("test.broken", fails=True)
    live, live_seen = recording_handler("test.push", dedupe=False)
    monkeypatch.setattr(registry, "_handlers", {h.name: h for h in (ok, broken, live)})
    dedup, event = DaprStateDedup(state_gateway), task_created(user.pk)

    first = dispatch("test-topic", event, dedup)
    assert (first.handled, first.duplicates, list(first.failed)) == (
        ["test.ok", "test.push"],
        [],
        ["test.broken"],
    )
    assert not first.ok

    # The redelivery: the deduplicated handler is a duplicate, the live push runs again.
    second = dispatch("test-topic", event, dedup, skip=frozenset({"test.broken"}))
    assert (second.handled, second.duplicates, second.failed) == (["test.push"], ["test.ok"], {})
    assert second.ok
    assert (len(ok_seen), len(live_seen)) == (1, 2)
