"""A real receiver on 127.0.0.1 gets exactly one signed delivery per action, through the
outbox, the handlers and the delivery step, as the worker runs them."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from notifications import webhooks
from notifications.models import WebhookDelivery
from tasks import reminders, services
from todo_project.eventbus.envelope import TASK_EVENTS, parse_envelope
from todo_project.eventbus.models import OutboxMessage
from todo_project.eventbus.publishers import LocalBus
from todo_project.eventbus.relay import drain

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("allow_private")]
ALL_EVENTS = ["task.created", "task.updated", "task.completed", "task.deleted", "reminder.fired"]


@pytest.fixture
def endpoint(user, receiver):
    return webhooks.webhook_endpoint_create(user=user, url=receiver.url, events=ALL_EVENTS)


def deliver() -> None:
    """What the worker does after an action: relay the events, then send."""
    drain(LocalBus())
    webhooks.webhook_deliver_due()


def bodies(receiver) -> list[dict]:
    return [json.loads(request.body) for request in receiver.requests]


def test_each_action_is_one_signed_delivery(user, endpoint, receiver, readme_verify):
    task = services.task_create(user=user, data={"title": "Buy milk"})
    deliver()
    task = services.task_update(task=task, data={"title": "Buy oat milk", "priority": "high"})
    deliver()
    task = services.task_complete(task=task)
    deliver()
    services.task_delete(task=task)
    deliver()

    received = bodies(receiver)
    assert [body["type"] for body in received] == [
        "task.created",
        "task.updated",
        "task.completed",
        "task.deleted",
    ]
    assert received[1]["payload"]["changed_fields"] == ["priority", "title"]
    assert received[1]["payload"]["title"] == "Buy oat milk"
    assert {body["payload"]["task_id"] for body in received} == {task.pk}
    for request in receiver.requests:
        assert readme_verify(endpoint.secret, request.body, request.headers["x-todo-signature"])
        assert not readme_verify("whsec_wrong", request.body, request.headers["x-todo-signature"])
        assert request.headers["x-todo-event"] == json.loads(request.body)["type"]


def test_the_body_is_the_event_envelope(user, endpoint, receiver):
    services.task_create(user=user, data={"title": "Buy milk"})
    deliver()
    row = OutboxMessage.objects.get(topic=TASK_EVENTS)
    body = bodies(receiver)[0]
    assert body == {"type": "task.created", **row.envelope}
    assert parse_envelope(body).event_id == row.event_id


def test_a_fired_reminder_is_one_delivery(user, endpoint, receiver, readme_verify):
    services.task_create(
        user=user, data={"title": "Call mum", "reminder_at": timezone.now() - timedelta(seconds=1)}
    )
    deliver()
    reminders.fire_due_reminders()
    deliver()
    reminders.fire_due_reminders()
    deliver()
    types = [body["type"] for body in bodies(receiver)]
    assert types == ["task.created", "reminder.fired"]
    fired = bodies(receiver)[1]
    assert fired["payload"]["message"] == "Call mum"
    assert readme_verify(
        endpoint.secret, receiver.requests[1].body, receiver.requests[1].headers["x-todo-signature"]
    )


def test_a_redelivered_event_never_sends_twice(user, endpoint, receiver):
    services.task_create(user=user, data={"title": "Buy milk"})
    deliver()
    row = OutboxMessage.objects.get(topic=TASK_EVENTS)
    LocalBus().publish([row])  # the bus delivers it again: the handler's dedupe
    event = parse_envelope(row.envelope)
    webhooks.webhook_deliveries_create([event])  # past the dedupe: the unique constraint
    webhooks.webhook_deliver_due()
    assert WebhookDelivery.objects.count() == 1
    assert len(receiver.requests) == 1


def test_only_the_chosen_events_of_the_owner_are_delivered(user, other_user, receiver):
    webhooks.webhook_endpoint_create(user=user, url=receiver.url, events=["task.completed"])
    task = services.task_create(user=user, data={"title": "Mine"})
    services.task_create(user=other_user, data={"title": "Not mine"})
    services.task_complete(task=task)
    deliver()
    assert [body["type"] for body in bodies(receiver)] == ["task.completed"]


def test_a_disabled_endpoint_gets_nothing(user, endpoint, receiver):
    webhooks.webhook_endpoint_update(endpoint=endpoint, data={"enabled": False})
    services.task_create(user=user, data={"title": "Buy milk"})
    deliver()
    assert receiver.requests == []
    assert not WebhookDelivery.objects.exists()
