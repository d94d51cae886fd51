"""What the apps register with the bus: handlers, local loops and job routes."""

from __future__ import annotations

import pytest

from notifications import webpush
from notifications.email import EmailSender
from notifications.webhook_worker import WebhookDeliveryLoop
from tasks import reminders
from todo_project.eventbus import registry
from todo_project.eventbus.envelope import REMINDERS, TASK_EVENTS, TASK_UPDATES


@pytest.fixture
def empty(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "_handlers", {})
    monkeypatch.setattr(registry, "_local_loops", {})
    monkeypatch.setattr(registry, "_worker_loops", {})
    monkeypatch.setattr(registry, "_job_routes", {})


def noop(events) -> None:
    pass


def trigger(name: str, body: bytes) -> tuple[int, str]:
    return 200, name


def test_the_apps_register_their_handlers_loops_and_job_routes_when_django_starts() -> None:
    names = {(h.topic, h.name) for h in registry.all_handlers()}
    assert {
        (TASK_EVENTS, "tasks.activity_log"),
        (TASK_EVENTS, "tasks.recurrence"),
        (TASK_EVENTS, "tasks.reminder_schedule"),
        (REMINDERS, "notifications.reminder"),
        (TASK_UPDATES, "realtime.push"),
        (TASK_UPDATES, "notifications.webpush"),
        (TASK_UPDATES, "notifications.email"),
    } <= names
    assert [type(loop) for loop in registry.local_loops()] == [
        reminders.ReminderScheduler,
        webpush.PushDeliveryLoop,
    ]
    assert [type(loop) for loop in registry.worker_loops()] == [WebhookDeliveryLoop, EmailSender]
    route = registry.job_route_for("reminder-task-42")
    assert route is not None and route.trigger is reminders.handle_job_trigger
    assert route.catch_up is reminders.fire_missed_reminders
    push = registry.job_route_for("webpush-delivery-7")
    assert push is not None and push.trigger is webpush.handle_job_trigger
    assert push.catch_up is webpush.catch_up


def test_handlers_are_listed_by_topic_in_registration_order(empty) -> None:
    a = registry.Handler("test.a", "t1", noop)
    b = registry.Handler("test.b", "t2", noop)
    c = registry.Handler("test.c", "t1", noop)
    registry.register_handlers([a, b, c])
    assert registry.handlers_for("t1") == [a, c]
    registry.register_handlers([a])  # registering the same handler again changes nothing
    assert registry.all_handlers() == [a, b, c]


def test_a_handler_name_means_one_handler(empty) -> None:
    registry.register_handlers([registry.Handler("test.a", "t1", noop)])
    with pytest.raises(ValueError, match="registered twice"):
        registry.register_handlers([registry.Handler("test.a", "t2", noop)])


def test_an_event_type_filter_selects_events(empty) -> None:
    from todo_project.eventbus.envelope import build_event

    handler = registry.Handler("test.a", "t1", noop, event_types=frozenset({"TaskCreated"}))
    assert handler.accepts(build_event("TaskCreated", {}))
    assert not handler.accepts(build_event("TaskDeleted", {}))
    assert registry.Handler("test.b", "t1", noop).accepts(build_event("Anything", {}))


def test_every_call_to_local_loops_builds_new_loops(empty) -> None:
    class Probe:
        name = "probe"

    registry.register_local_loop("probe", Probe)  # type: ignore[arg-type]
    first, second = registry.local_loops(), registry.local_loops()
    assert isinstance(first[0], Probe) and first[0] is not second[0]
    with pytest.raises(ValueError, match="registered twice"):
        registry.register_local_loop("probe", object)  # type: ignore[arg-type]


def test_every_call_to_worker_loops_builds_new_loops(empty) -> None:
    class Probe:
        name = "probe"

    registry.register_worker_loop("probe", Probe)  # type: ignore[arg-type]
    first, second = registry.worker_loops(), registry.worker_loops()
    assert isinstance(first[0], Probe) and first[0] is not second[0]
    with pytest.raises(ValueError, match="registered twice"):
        registry.register_worker_loop("probe", object)  # type: ignore[arg-type]


def test_a_job_goes_to_the_route_with_the_longest_matching_prefix(empty) -> None:
    short = registry.JobRoute(prefix="reminder-", trigger=trigger)
    long = registry.JobRoute(prefix="reminder-task-", trigger=trigger)
    registry.register_job_route(short)
    registry.register_job_route(long)
    assert registry.job_route_for("reminder-task-7") is long
    assert registry.job_route_for("reminder-other") is short
    assert registry.job_route_for("cleanup-1") is None
    assert registry.job_routes() == [short, long]
    with pytest.raises(ValueError, match="registered twice"):
        registry.register_job_route(registry.JobRoute(prefix="reminder-", trigger=noop))  # type: ignore[arg-type]
