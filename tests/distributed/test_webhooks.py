"""Webhooks on the real runtime: API -> outbox -> Kafka `task-events` -> the Dapr worker's
handler -> delivery row -> the worker's delivery loop -> a receiver on 127.0.0.1, which
fails once and then gets exactly one signed delivery per action."""

from __future__ import annotations

import json
from collections import Counter

from tests.distributed.conftest import Database, TierUser
from tests.distributed.topology import Topology, wait_until
from tests.notifications.receiver import Receiver, readme_verify


def test_each_action_reaches_the_receiver_once_through_the_worker_after_an_outage(
    topology: Topology, database: Database, tier_user: TierUser
) -> None:
    with Receiver([500, 200]) as receiver:
        hook = tier_user.api.post(
            "/webhooks",
            json={
                "url": receiver.url,
                "events": ["task.created", "task.updated", "task.completed"],
            },
        )
        assert hook.status_code == 201, hook.text
        secret = hook.json()["secret"]
        created = tier_user.api.post("/todos", json={"title": "Through Kafka"})
        assert created.status_code == 201, created.text
        task_id = created.json()["id"]
        assert (
            tier_user.api.patch(f"/todos/{task_id}", json={"title": "Renamed"}).status_code == 200
        )
        assert tier_user.api.post(f"/todos/{task_id}/complete").status_code == 200

        def succeeded() -> list[str]:
            rows = database.rows(
                "SELECT event_type FROM notifications_webhookdelivery "
                "WHERE endpoint_id = %s AND status = 'succeeded'",
                hook.json()["id"],
            )
            return [row[0] for row in rows] if len(rows) == 3 else []

        wait_until(succeeded, timeout=60, what="three successful webhook deliveries")
        test = tier_user.api.post(f"/webhooks/{hook.json()['id']}/test")
        assert test.status_code == 202
        wait_until(
            lambda: any(json.loads(r.body)["type"] == "webhook.test" for r in receiver.requests),
            timeout=20,
            what="the test event, written by the web process, sent by the worker",
        )
    bodies = [json.loads(request.body) for request in receiver.requests]
    ok = [body for body in bodies if body["type"] != "webhook.test"]
    # The first request failed (500) and was retried: four requests, three events.
    assert len(ok) == 4
    sent = Counter(body["type"] for body in ok)
    assert set(sent) == {"task.created", "task.updated", "task.completed"}
    assert sorted(sent.values()) == [1, 1, 2]
    assert len({body["event_id"] for body in ok}) == 3
    updated = next(body for body in ok if body["type"] == "task.updated")
    assert updated["payload"]["changed_fields"] == ["title"]
    for request in receiver.requests:
        assert readme_verify()(secret, request.body, request.headers["x-todo-signature"])
    attempts = database.value(
        "SELECT count(*) FROM notifications_webhookattempt a "
        "JOIN notifications_webhookdelivery d ON d.id = a.delivery_id WHERE d.endpoint_id = %s",
        hook.json()["id"],
    )
    assert attempts == 5
