"""Task events on the real runtime: API -> outbox -> daprd -> Kafka -> worker handlers ->
Redis channel layer -> WebSocket, with the evidence read from Kafka, PostgreSQL and Redis."""

from __future__ import annotations

import json
import re
import secrets
import time
from datetime import UTC, datetime, timedelta

import redis

from tests.distributed.conftest import (
    REDIS_URL,
    Database,
    KafkaReader,
    LiveSocket,
    TierUser,
    browser_session,
    event_ids_of,
)
from tests.distributed.topology import WORKER_APP_ID, Topology, wait_until


def _due(days: int = 1) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).replace(microsecond=0).isoformat()


def test_every_task_change_reaches_both_topics_with_key_id_and_order(
    topology: Topology, database: Database, kafka: KafkaReader, tier_user: TierUser
) -> None:
    api = tier_user.api
    created = api.post("/todos", json={"title": "Kafka proof", "due_date": _due()})
    assert created.status_code == 201, created.text
    task_id = created.json()["id"]
    assert api.patch(f"/todos/{task_id}", json={"priority": "urgent"}).status_code == 200
    assert api.patch(f"/todos/{task_id}", json={"title": "Kafka proof, renamed"}).status_code == 200
    assert api.post(f"/todos/{task_id}/complete").status_code == 200
    assert api.delete(f"/todos/{task_id}").status_code == 204
    expected_types = ["TaskCreated", "TaskUpdated", "TaskUpdated", "TaskCompleted", "TaskDeleted"]

    for topic in ("task-events", "task-updates"):
        event_ids = event_ids_of(database, task_id, topic)
        assert len(event_ids) == 5
        records = kafka.wait_for(
            topic, lambda r, ids=event_ids: r.cloudevent().get("id") in ids, count=5, timeout=30
        )
        # Kafka's record key is the user id, so one user's events share a partition...
        assert {r.key for r in records} == {str(tier_user.id)}
        assert len({r.partition for r in records}) == 1
        ordered = sorted(records, key=lambda r: r.offset)
        cloudevents = [r.cloudevent() for r in ordered]
        # ...and keep their order there: the versions only go up.
        assert [ce["id"] for ce in cloudevents] == event_ids
        assert [ce["data"]["event_type"] for ce in cloudevents] == expected_types
        assert [ce["data"]["payload"]["version"] for ce in cloudevents] == [1, 2, 3, 4, 5]
        for ce in cloudevents:
            assert ce["datacontenttype"] == "application/json"
            assert ce["source"] in {"todo-web", "todo-worker"}  # both run a relay
            assert ce["topic"] == topic
            assert ce["pubsubname"] == "pubsub"
            assert ce["data"]["event_id"] == ce["id"]

    # The activity log: exactly one line per event, however often Kafka delivered it.
    wait_until(
        lambda: (
            database.value("SELECT count(*) FROM tasks_activityentry WHERE task_id = %s", task_id)
            == 5
        ),
        timeout=30,
        what="five activity entries",
    )
    rows = database.rows(
        "SELECT event_id::text, event_type FROM tasks_activityentry WHERE task_id = %s "
        "ORDER BY version, occurred_at",
        task_id,
    )
    assert sorted(r[0] for r in rows) == sorted(event_ids_of(database, task_id, "task-events"))
    assert (
        database.value("SELECT count(*) FROM eventbus_outboxmessage WHERE published_at IS NULL")
        == 0
    )


def test_live_push_reaches_the_websocket_through_the_redis_channel_layer(
    topology: Topology, database: Database, tier_user: TierUser
) -> None:
    cookies = browser_session(topology, tier_user.username)
    marker = f"live-{secrets.token_hex(4)}"
    # The socket shows the open list, as the task page's does (an empty query: the default).
    with LiveSocket(topology, cookies, view="") as socket:
        committed = time.time()
        created = tier_user.api.post("/todos", json={"title": marker})
        assert created.status_code == 201
        task_id = created.json()["id"]
        received, frame = socket.wait_for(marker)
        assert f'id="task-{task_id}"' in frame
        assert "hx-swap-oob" in frame
        lateness = received - committed
        print(f"commit -> WebSocket frame: {lateness * 1000:.0f} ms")
        assert lateness < 10


def test_completing_a_recurring_task_creates_exactly_one_next_instance(
    topology: Topology, database: Database, tier_user: TierUser
) -> None:
    api = tier_user.api
    created = api.post(
        "/todos",
        json={
            "title": "Weekly review",
            "due_date": _due(days=2),
            "timezone": "Europe/Berlin",
            "recurrence": "FREQ=WEEKLY;BYDAY=MO,WE,FR",
        },
    )
    assert created.status_code == 201, created.text
    first = created.json()
    assert api.post(f"/todos/{first['id']}/complete").status_code == 200
    # Completing again changes nothing (and publishes nothing new).
    assert api.post(f"/todos/{first['id']}/complete").status_code == 200

    def successors() -> list[tuple[int, datetime]]:
        return database.rows(
            "SELECT id, due_date FROM tasks_task WHERE recurrence_parent_id = %s", first["id"]
        )

    found = wait_until(successors, timeout=30, what="the next instance")
    time.sleep(2)  # any duplicate delivery would have landed by now
    assert len(successors()) == 1
    due = datetime.fromisoformat(first["due_date"].replace("Z", "+00:00"))
    assert found[0][1] > due


def test_idempotency_records_live_in_redis_under_valid_keys_with_a_ttl(
    topology: Topology, database: Database, tier_user: TierUser
) -> None:
    created = tier_user.api.post("/todos", json={"title": "dedup marks"})
    task_id = created.json()["id"]
    (event_id,) = event_ids_of(database, task_id, "task-events")
    client = redis.Redis.from_url(REDIS_URL)

    def marks() -> list[bytes]:
        return sorted(client.scan_iter(match=f"{WORKER_APP_ID}||processed:*:{event_id}"))

    keys = wait_until(marks, timeout=30, what="idempotency marks in Redis")
    for key in keys:
        # Dapr's own prefix is the only `||`; our part of the key is `processed:<handler>:<id>`.
        assert re.fullmatch(rf"{WORKER_APP_ID}\|\|processed:[a-z_.\-]+:{event_id}", key.decode()), (
            key
        )
        ttl = client.ttl(key)
        assert 0 < ttl <= 3600, (key, ttl)
        assert client.type(key) == b"hash"  # Dapr's Redis store: data + version fields
        assert client.hget(key, "data") is not None


def test_a_poison_message_lands_in_the_dead_letter_topic_and_with_operators(
    topology: Topology, database: Database, kafka: KafkaReader
) -> None:
    marker = f"poison-{secrets.token_hex(6)}"
    kafka.produce("task-events", f"not json at all {marker}".encode(), key="poison")
    records = kafka.wait_for("task-events-dlq", lambda r: marker.encode() in r.value, timeout=60)
    assert records
    rows = wait_until(
        lambda: database.rows(
            "SELECT topic, error FROM eventbus_deadletter WHERE raw LIKE %s", f"%{marker}%"
        ),
        timeout=30,
        what="the dead letter row",
    )
    assert rows == [("task-events", rows[0][1])]
    assert "Dapr runtime" in rows[0][1]


def test_a_handler_that_keeps_failing_is_retried_then_dead_lettered(
    topology: Topology, database: Database, kafka: KafkaReader, tier_user: TierUser
) -> None:
    """A well-formed event whose handler fails every time (a recurrence rule the recurrence
    handler refuses): the Resiliency policy and HANDLER_MAX_ATTEMPTS retry it, then the
    message goes to task-events-dlq and a DeadLetter row records the handler and error."""
    event_id = "6f1d1c1e-0000-4000-8000-" + secrets.token_hex(6)
    envelope = {
        "event_id": event_id,
        "event_type": "TaskCompleted",
        "timestamp": datetime.now(UTC).isoformat(),
        "payload": {
            "task_id": 10**9,
            # No such user: the activity log's foreign key refuses the row every time.
            "user_id": 999_999_999,
            "title": "broken",
            "version": 2,
            "recurrence": "FREQ=NOPE",
            "due_date": _due(),
            "timezone": "Europe/Berlin",
            "completed": True,
        },
    }
    cloudevent = {
        "specversion": "1.0",
        "id": event_id,
        "source": "tier-test",
        "type": "com.dapr.event.sent",
        "datacontenttype": "application/json",
        "data": envelope,
    }
    started = time.monotonic()
    kafka.produce("task-events", json.dumps(cloudevent).encode(), key=str(tier_user.id))
    kafka.wait_for("task-events-dlq", lambda r: event_id.encode() in r.value, timeout=120)
    print(f"dead-lettered after {time.monotonic() - started:.1f} s of retries")

    def rows() -> list[tuple[str, int]]:
        return database.rows(
            "SELECT consumer, attempts FROM eventbus_deadletter WHERE event_id = %s "
            "ORDER BY consumer",
            event_id,
        )

    wait_until(lambda: len(rows()) >= 2, timeout=30, what="the dead letter rows")
    # One row per handler that gave up, with its attempts; the copy the worker reads back
    # from task-events-dlq is recognised and not recorded twice.
    time.sleep(2)
    assert rows() == [("tasks.activity_log", 3), ("tasks.recurrence", 3)]
