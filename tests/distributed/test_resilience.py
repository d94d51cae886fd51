"""Crashes and outages on the real runtime, made by stopping and killing real processes."""

from __future__ import annotations

import signal
import time

import httpx

from tests.distributed.conftest import Database, KafkaReader, TierUser, event_ids_of
from tests.distributed.topology import WEB_APP_ID, Topology, wait_until


def _activity_count(database: Database, task_ids: list[int]) -> dict[int, int]:
    rows = database.rows(
        "SELECT task_id, count(*) FROM tasks_activityentry WHERE task_id = ANY(%s) "
        "GROUP BY task_id",
        task_ids,
    )
    return {int(task_id): int(count) for task_id, count in rows}


def test_a_worker_killed_mid_stream_leaves_one_effect_per_event(
    topology: Topology, database: Database, tier_user: TierUser
) -> None:
    api = tier_user.api
    task_ids = []
    for number in range(60):
        created = api.post("/todos", json={"title": f"burst {number}"})
        assert created.status_code == 201
        task_ids.append(created.json()["id"])
        if number == 20:
            # SIGKILL while messages are in flight: no shutdown, no acknowledgements.
            wait_until(
                lambda: _activity_count(database, task_ids),
                timeout=20,
                what="the worker to start handling the burst",
            )
            topology.worker.kill()
    handled_before_restart = sum(_activity_count(database, task_ids).values())
    topology.start_worker()
    wait_until(
        lambda: len(_activity_count(database, task_ids)) == len(task_ids),
        timeout=60,
        what="every task's activity entry",
    )
    time.sleep(3)  # redeliveries after the restart would land by now
    counts = _activity_count(database, task_ids)
    assert set(counts.values()) == {1}, counts
    print(f"{handled_before_restart} of 60 handled before the SIGKILL, the rest after")


def test_the_workers_relay_publishes_what_the_web_cannot_while_its_sidecar_is_down(
    topology: Topology, database: Database, kafka: KafkaReader, tier_user: TierUser
) -> None:
    api = tier_user.api
    topology.web_sidecar.kill()
    try:
        started = time.monotonic()
        ids = [api.post("/todos", json={"title": f"handover {n}"}).json()["id"] for n in range(10)]
        wait_until(
            lambda: (
                database.value(
                    "SELECT count(*) FROM eventbus_outboxmessage WHERE published_at IS NULL"
                )
                == 0
            ),
            timeout=20,
            what="the worker's relay to publish the web's rows",
        )
        print(
            f"the worker's relay published the web's rows within {time.monotonic() - started:.1f} s"
        )
        event_ids = [e for task_id in ids for e in event_ids_of(database, task_id, "task-events")]
        records = kafka.wait_for(
            "task-events", lambda r: r.cloudevent().get("id") in event_ids, count=10
        )
        assert {r.cloudevent()["source"] for r in records} == {"todo-worker"}
    finally:
        topology.start_sidecar(WEB_APP_ID)


def test_writes_succeed_while_the_web_sidecar_is_down_and_drain_in_order_after(
    topology: Topology, database: Database, kafka: KafkaReader, tier_user: TierUser
) -> None:
    api = tier_user.api
    created = api.post("/todos", json={"title": "outage"})
    task_id = created.json()["id"]
    # The worker runs a relay too; stop it so the web's relay alone meets the outage.
    topology.worker.stop()
    topology.web_sidecar.signal(signal.SIGKILL)
    topology.web_sidecar.kill()
    try:
        for number in range(20):
            answer = api.patch(f"/todos/{task_id}", json={"title": f"outage {number}"})
            assert answer.status_code == 200, answer.text
        ready = httpx.get(f"{topology.web_url}/readyz", timeout=10)
        assert ready.status_code == 200
        assert ready.json()["status"] == "degraded"
        assert ready.json()["checks"]["dapr_sidecar"].startswith("error")
        time.sleep(3)  # the relay keeps failing (and backing off) meanwhile
        pending = database.value(
            "SELECT count(*) FROM eventbus_outboxmessage WHERE published_at IS NULL"
        )
        assert pending >= 20
        # A relay whose sidecar is down claims nothing and charges no attempt to a row, so
        # no row waits out a backoff when a working relay (or this one, back) looks again.
        charged = database.value(
            "SELECT max(attempts) FROM eventbus_outboxmessage WHERE published_at IS NULL"
        )
        assert charged == 0
    finally:
        back = time.monotonic()
        topology.start_sidecar(WEB_APP_ID)
    wait_until(
        lambda: (
            database.value("SELECT count(*) FROM eventbus_outboxmessage WHERE published_at IS NULL")
            == 0
        ),
        timeout=30,
        what="the outbox backlog to drain",
    )
    drained = time.monotonic() - back
    print(f"backlog drained {drained:.1f} s after the sidecar was back")
    assert drained < 15
    assert httpx.get(f"{topology.web_url}/readyz", timeout=10).json()["status"] == "ready"
    event_ids = event_ids_of(database, task_id, "task-updates")
    records = kafka.wait_for(
        "task-updates", lambda r: r.cloudevent().get("id") in event_ids, count=21, timeout=30
    )
    ordered = [r.cloudevent() for r in sorted(records, key=lambda r: r.offset)]
    versions = [ce["data"]["payload"]["version"] for ce in ordered]
    assert versions == sorted(versions) == list(range(1, 22))
    topology.start_worker()
