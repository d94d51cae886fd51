"""Reminders on the real runtime: API -> task-events -> worker -> Jobs API -> the Dapr
scheduler -> trigger on the worker's app channel -> `reminders` topic -> notification ->
task-updates -> WebSocket. Times are real: each test waits a few seconds for its jobs."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httpx

from tests.distributed.conftest import (
    Database,
    KafkaReader,
    LiveSocket,
    TierUser,
    browser_session,
    sidecar_get,
)
from tests.distributed.topology import WORKER_APP_ID, Topology, wait_until


def _soon(seconds: float) -> datetime:
    # Microseconds on purpose: the trigger must match the database's instant exactly.
    return (datetime.now(UTC) + timedelta(seconds=seconds)).replace(microsecond=123456)


def _job(topology: Topology, task_id: int) -> httpx.Response:
    return sidecar_get(topology, WORKER_APP_ID, f"/v1.0-alpha1/jobs/reminder-task-{task_id}")


def _with_reminder(topology: Topology, user: TierUser, title: str, at: datetime) -> int:
    """Create a task reminding at `at` and wait until the worker scheduled its job."""
    created = user.api.post("/todos", json={"title": title, "reminder_at": at.isoformat()})
    assert created.status_code == 201, created.text
    task_id = int(created.json()["id"])
    wait_until(lambda: _job(topology, task_id).status_code == 200, timeout=20, what="the job")
    return task_id


def _notifications(database: Database, task_id: int) -> list[tuple[int, datetime]]:
    return database.rows(
        "SELECT id, created_at FROM notifications_notification WHERE task_id = %s", task_id
    )


def test_a_reminder_fires_once_through_the_scheduler_and_reaches_the_websocket(
    topology: Topology, database: Database, kafka: KafkaReader, tier_user: TierUser
) -> None:
    cookies = browser_session(topology, tier_user.username)
    reminder_at = _soon(4)
    with LiveSocket(topology, cookies) as socket:
        created = tier_user.api.post(
            "/todos", json={"title": "Call the dentist", "reminder_at": reminder_at.isoformat()}
        )
        assert created.status_code == 201, created.text
        task_id = created.json()["id"]
        assert created.json()["reminder_at"] == reminder_at.isoformat().replace("+00:00", "Z")
        wait_until(
            lambda: _job(topology, task_id).status_code == 200, timeout=20, what="the reminder job"
        )
        job = _job(topology, task_id).json()
        assert job["name"] == f"reminder-task-{task_id}"
        received, frame = socket.wait_for("toast-reminder", timeout=30)
        assert "Call the dentist" in frame
        notified = wait_until(
            lambda: _notifications(database, task_id), timeout=10, what="the notification row"
        )
    lateness = received - reminder_at.timestamp()
    stored = (notified[0][1] - reminder_at).total_seconds()
    print(
        f"reminder lateness: notification row {stored * 1000:.0f} ms, "
        f"WebSocket frame {lateness * 1000:.0f} ms"
    )
    assert 0 <= stored < 5
    records = kafka.wait_for(
        "reminders",
        lambda r: r.cloudevent().get("data", {}).get("payload", {}).get("task_id") == task_id,
        timeout=10,
    )
    payload = records[0].cloudevent()["data"]["payload"]
    assert payload["user_id"] == tier_user.id
    assert payload["message"] == "Call the dentist"
    assert records[0].key == str(tier_user.id)
    time.sleep(3)  # a second trigger or redelivery would have landed by now
    assert len(_notifications(database, task_id)) == 1
    assert (
        database.value("SELECT count(*) FROM tasks_reminderfiring WHERE task_id = %s", task_id) == 1
    )


def test_a_changed_reminder_replaces_its_job(
    topology: Topology, database: Database, tier_user: TierUser
) -> None:
    task_id = _with_reminder(topology, tier_user, "moved", _soon(120))
    sooner = _soon(3)
    changed = tier_user.api.patch(f"/todos/{task_id}", json={"reminder_at": sooner.isoformat()})
    assert changed.status_code == 200
    wait_until(lambda: _notifications(database, task_id), timeout=30, what="the notification")
    fired = database.rows(
        "SELECT reminder_at FROM tasks_reminderfiring WHERE task_id = %s", task_id
    )
    assert [row[0] for row in fired] == [sooner]
    # The one job now points at the fired time, so nothing is left for the old one.
    assert _job(topology, task_id).status_code in {404, 500}


def test_clearing_completing_or_deleting_cancels_the_job(
    topology: Topology, database: Database, tier_user: TierUser
) -> None:
    api = tier_user.api
    reminder_at = _soon(6)
    ids = []
    for title in ("cleared", "completed", "deleted"):
        created = api.post("/todos", json={"title": title, "reminder_at": reminder_at.isoformat()})
        ids.append(created.json()["id"])
    for task_id in ids:
        wait_until(
            lambda t=task_id: _job(topology, t).status_code == 200, timeout=20, what="the job"
        )
    cleared, completed, deleted = ids
    assert api.patch(f"/todos/{cleared}", json={"reminder_at": None}).status_code == 200
    assert api.post(f"/todos/{completed}/complete").status_code == 200
    assert api.delete(f"/todos/{deleted}").status_code == 204
    for task_id in ids:
        wait_until(
            lambda t=task_id: _job(topology, t).status_code != 200,
            timeout=20,
            what="the job to be deleted",
        )
    time.sleep(max(0.0, reminder_at.timestamp() - time.time()) + 3)
    for task_id in ids:
        assert _notifications(database, task_id) == []


def test_a_reminder_due_while_the_worker_is_stopped_fires_once_when_it_is_back(
    topology: Topology, database: Database, tier_user: TierUser
) -> None:
    reminder_at = _soon(5)
    task_id = _with_reminder(topology, tier_user, "while away", reminder_at)
    topology.worker.stop()
    try:
        # Due while the worker is down; its sidecar stays up (a container restart in a pod).
        time.sleep(max(0.0, reminder_at.timestamp() - time.time()) + 4)
        assert _notifications(database, task_id) == []
    finally:
        topology.start_worker()
    wait_until(lambda: _notifications(database, task_id), timeout=30, what="the notification")
    time.sleep(5)  # the job's next retry and the catch-up must not fire it again
    assert len(_notifications(database, task_id)) == 1
