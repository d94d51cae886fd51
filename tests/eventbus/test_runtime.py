"""Which background loops a process runs, by mode."""

from __future__ import annotations

import pytest

from notifications.email import EmailSender
from notifications.webhook_worker import WebhookDeliveryLoop
from notifications.webpush import PushDeliveryLoop
from tasks.reminders import ReminderScheduler
from todo_project.eventbus import publishers, registry
from todo_project.eventbus.notify import OutboxListener
from todo_project.eventbus.publishers import DaprPublisher, LocalBus
from todo_project.eventbus.relay import RelayLoop
from todo_project.eventbus.runtime import background_loops

pytestmark = pytest.mark.django_db


def test_embedded_mode_runs_the_relay_then_the_loops_the_apps_registered(settings):
    settings.RUN_EMBEDDED_WORKER = True
    loops = background_loops()
    listener = [OutboxListener] if settings.IS_POSTGRES else []
    assert [type(loop) for loop in loops] == [
        *listener,
        RelayLoop,
        ReminderScheduler,
        PushDeliveryLoop,
        WebhookDeliveryLoop,
        EmailSender,
    ]
    assert isinstance(loops[len(listener)].publisher, LocalBus)


def test_a_loop_registered_by_an_app_runs_beside_the_local_bus(settings, monkeypatch):
    class Probe:
        name = "probe"

    monkeypatch.setattr(registry, "_local_loops", {})
    monkeypatch.setattr(registry, "_worker_loops", {})
    registry.register_local_loop("probe", Probe)  # type: ignore[arg-type]
    settings.RUN_EMBEDDED_WORKER = True
    assert isinstance(background_loops()[-1], Probe)


def test_a_worker_loop_runs_beside_the_local_bus_but_not_in_a_dapr_web(settings, monkeypatch):
    class Probe:
        name = "probe"

    monkeypatch.setattr(registry, "_worker_loops", {})
    registry.register_worker_loop("probe", Probe)  # type: ignore[arg-type]
    settings.RUN_EMBEDDED_WORKER = True
    assert isinstance(background_loops()[-1], Probe)
    assert [type(loop) for loop in registry.worker_loops()] == [Probe]
    settings.RUN_EMBEDDED_WORKER = False
    settings.EVENT_BACKEND = "dapr"
    publishers.dapr_gateway.cache_clear()
    try:
        assert not any(isinstance(loop, Probe) for loop in background_loops())
    finally:
        publishers.dapr_gateway.cache_clear()


def test_dapr_web_runs_only_a_publishing_relay(settings):
    settings.RUN_EMBEDDED_WORKER = False
    settings.EVENT_BACKEND = "dapr"
    publishers.dapr_gateway.cache_clear()
    try:
        loops = background_loops()
        assert not any(isinstance(loop, ReminderScheduler) for loop in loops)
        assert isinstance(loops[-1].publisher, DaprPublisher)
    finally:
        publishers.dapr_gateway.cache_clear()


def test_local_web_with_a_separate_worker_runs_nothing(settings):
    settings.RUN_EMBEDDED_WORKER = False
    settings.EVENT_BACKEND = "local"
    assert background_loops() == []
