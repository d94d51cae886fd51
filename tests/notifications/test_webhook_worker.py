"""The delivery loop sends as soon as a delivery commits, and runs in both modes."""

from __future__ import annotations

import time

import pytest

from notifications import webhooks
from notifications.webhook_worker import WebhookDeliveryLoop
from tasks import services
from todo_project.eventbus.runtime import embedded_loops

pytestmark = pytest.mark.django_db(transaction=True)


def wait_for(condition, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def test_the_loop_sends_a_new_delivery_without_waiting_for_its_poll(user, allow_private, receiver):
    loop = WebhookDeliveryLoop(poll_seconds=60)
    loop.start()
    try:
        endpoint = webhooks.webhook_endpoint_create(
            user=user, url=receiver.url, events=["task.created"]
        )
        webhooks.webhook_send_test(endpoint=endpoint)
        assert wait_for(lambda: len(receiver.requests) == 1, timeout=5)
    finally:
        loop.stop()
        loop.join(timeout=10)
    assert not loop.is_alive()


def test_the_embedded_runtime_delivers_an_action_end_to_end(user, allow_private, receiver):
    loops = embedded_loops()
    for loop in loops:
        loop.start()
    try:
        webhooks.webhook_endpoint_create(user=user, url=receiver.url, events=["task.created"])
        services.task_create(user=user, data={"title": "Buy milk"})
        assert wait_for(lambda: len(receiver.requests) == 1)
        time.sleep(0.3)
        assert len(receiver.requests) == 1
    finally:
        for loop in loops:
            loop.stop()
        for loop in loops:
            loop.join(timeout=10)


def test_the_dapr_worker_command_runs_the_delivery_loop(settings):
    from todo_project.eventbus.management.commands.worker import Command
    from todo_project.eventbus.worker import AppChannelServer

    settings.EVENT_BACKEND = "dapr"
    settings.WORKER_PORT = 0
    components = Command()._components()
    try:
        assert any(isinstance(c, WebhookDeliveryLoop) for c in components)
    finally:
        for component in components:
            if isinstance(component, AppChannelServer):
                component.server.server_close()
