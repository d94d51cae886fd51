"""DaprGateway against the fake Dapr sidecar: the exact calls it makes and how it fails.

No database: these tests only talk gRPC/HTTP to the in-process fake sidecar.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import grpc
import pytest
from dapr.clients import DaprClient
from dapr.clients.grpc.subscription import Subscription
from dapr.conf import settings as dapr_settings

from tests.fakes.dapr_sidecar import (
    FakeDaprSidecar,
    JobDeleteRecord,
    PublishRecord,
    StateSaveRecord,
)
from todo_project.eventbus.dapr_gateway import DaprGateway, DaprUnavailable, format_due_time

# Idempotent when the root conftest registers the plugin too.
pytest_plugins = ["tests.fakes.dapr_fixtures"]

BERLIN = ZoneInfo("Europe/Berlin")
RFC3339_WITH_OFFSET = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?[+-]\d{2}:\d{2}$")


@pytest.fixture
def gateway(fake_dapr: FakeDaprSidecar) -> Iterator[DaprGateway]:
    gw = DaprGateway(pubsub_name="pubsub", statestore_name="statestore")
    yield gw
    gw.close()


def next_message(subscription: Subscription, timeout: float = 5.0) -> Any:
    """next(subscription) with a deadline, so a missing delivery fails instead of hanging."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(next, subscription)
        try:
            return future.result(timeout=timeout)
        except TimeoutError:
            subscription.close()  # unblocks the reader thread
            raise


@pytest.fixture
def subscription(gateway: DaprGateway, fake_dapr: FakeDaprSidecar) -> Iterator[Subscription]:
    sub = gateway.subscribe(topic="task-events", dead_letter_topic="task-events-dlq")
    yield sub
    sub.close()


# -- client lifecycle ---------------------------------------------------------------------------


def test_constructing_gateway_does_not_contact_the_sidecar(fake_dapr: FakeDaprSidecar) -> None:
    created: list[DaprClient] = []

    def factory() -> DaprClient:
        client = DaprClient()
        created.append(client)
        return client

    gw = DaprGateway(client_factory=factory)
    assert fake_dapr.health_checks == 0
    assert fake_dapr.calls == []
    assert created == []

    assert gw.state_exists("absent") is False
    # DaprClient() polled /v1.0/healthz/outbound (twice in SDK 1.19: its gRPC and its HTTP
    # invocation client each wait for the sidecar).
    checks = fake_dapr.health_checks
    assert checks >= 1
    assert gw.state_exists("absent") is False
    assert len(created) == 1  # created on first use, then reused
    assert fake_dapr.health_checks == checks
    gw.close()


def test_concurrent_first_use_creates_one_client(fake_dapr: FakeDaprSidecar) -> None:
    created: list[DaprClient] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def factory() -> DaprClient:
        client = DaprClient()
        with lock:
            created.append(client)
        return client

    gw = DaprGateway(client_factory=factory)

    def use() -> bool:
        start.wait(timeout=5)
        return gw.state_exists("k")

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: use(), range(8)))
    assert results == [False] * 8
    assert len(created) == 1
    gw.close()


def test_sidecar_down_at_client_creation_raises_then_recovers(
    fake_dapr: FakeDaprSidecar, monkeypatch: pytest.MonkeyPatch
) -> None:
    # DAPR_HEALTH_TIMEOUT only takes whole seconds from the environment; a value pinned on
    # dapr.conf.settings wins over the environment and keeps this test short.
    monkeypatch.setitem(vars(dapr_settings), "DAPR_HEALTH_TIMEOUT", 0.2)
    fake_dapr.down()
    gw = DaprGateway()

    with pytest.raises(DaprUnavailable, match="could not be created") as excinfo:
        gw.publish(topic="task-events", data=b"{}", event_id="e-1", partition_key="7")
    assert isinstance(excinfo.value.__cause__, TimeoutError)
    assert fake_dapr.health_checks >= 1
    assert fake_dapr.publishes == []

    fake_dapr.up()
    gw.publish(topic="task-events", data=b"{}", event_id="e-1", partition_key="7")
    assert [p.event_id for p in fake_dapr.publishes] == ["e-1"]
    gw.close()


def test_close_then_use_creates_a_new_client(
    gateway: DaprGateway, fake_dapr: FakeDaprSidecar
) -> None:
    gateway.state_exists("k")
    checks = fake_dapr.health_checks
    gateway.close()
    gateway.close()  # idempotent
    assert gateway.state_exists("k") is False
    assert fake_dapr.health_checks > checks  # a new DaprClient waited for the sidecar


# -- publish ------------------------------------------------------------------------------------


def test_publish_sends_the_exact_call(gateway: DaprGateway, fake_dapr: FakeDaprSidecar) -> None:
    body = json.dumps({"event_id": "0b7c", "event_type": "TaskCreated", "payload": {}}).encode()

    gateway.publish(topic="task-events", data=body, event_id="0b7c", partition_key="123")

    assert fake_dapr.publishes == [
        PublishRecord(
            pubsub_name="pubsub",
            topic="task-events",
            data=body,
            data_content_type="application/json",
            metadata={"partitionKey": "123", "cloudevent.id": "0b7c"},
            rpc="PublishEvent",
            event_id="0b7c",
        )
    ]


def test_publish_uses_the_configured_pubsub_name(fake_dapr: FakeDaprSidecar) -> None:
    gw = DaprGateway(pubsub_name="kafka-pubsub")
    gw.publish(topic="reminders", data=b"{}", event_id="r-1", partition_key="9")
    gw.close()
    assert [(p.pubsub_name, p.topic) for p in fake_dapr.publishes] == [
        ("kafka-pubsub", "reminders")
    ]


@pytest.mark.parametrize(
    "code", [grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.INTERNAL, grpc.StatusCode.NOT_FOUND]
)
def test_publish_failure_raises_dapr_unavailable(
    gateway: DaprGateway, fake_dapr: FakeDaprSidecar, code: grpc.StatusCode
) -> None:
    fake_dapr.fail("publish", code=code, times=1)

    with pytest.raises(DaprUnavailable, match=code.name) as excinfo:
        gateway.publish(topic="task-events", data=b"{}", event_id="e-1", partition_key="1")
    assert excinfo.value.code == code
    assert "task-events" in str(excinfo.value)
    assert fake_dapr.publishes == []

    # times=1: the next publish goes through on the same client.
    gateway.publish(topic="task-events", data=b"{}", event_id="e-1", partition_key="1")
    assert len(fake_dapr.publishes) == 1


def test_sidecar_going_down_after_connect_raises_dapr_unavailable(
    gateway: DaprGateway, fake_dapr: FakeDaprSidecar
) -> None:
    gateway.publish(topic="task-events", data=b"{}", event_id="e-1", partition_key="1")
    fake_dapr.down()
    with pytest.raises(DaprUnavailable, match="UNAVAILABLE"):
        gateway.publish(topic="task-events", data=b"{}", event_id="e-2", partition_key="1")
    with pytest.raises(DaprUnavailable, match="UNAVAILABLE"):
        gateway.state_exists("k")
    fake_dapr.up()
    gateway.publish(topic="task-events", data=b"{}", event_id="e-3", partition_key="1")
    assert [p.event_id for p in fake_dapr.publishes] == ["e-1", "e-3"]


# -- state ----------------------------------------------------------------------------------------


def test_save_state_first_write_sends_first_write_and_ttl(
    gateway: DaprGateway, fake_dapr: FakeDaprSidecar
) -> None:
    assert gateway.save_state_first_write("processed-e1", b"1", ttl_seconds=86400) is True
    assert gateway.save_state_first_write("processed-e1", b"1", ttl_seconds=86400) is False

    first, second = fake_dapr.state_saves
    assert first == StateSaveRecord(
        store="statestore",
        key="processed-e1",
        value=b"1",
        etag=None,
        concurrency="first_write",
        consistency="unspecified",
        metadata={"ttlInSeconds": "86400"},
    )
    assert first.ttl_seconds == 86400
    # The second write asked the same and the store refused it the way redis/postgres do.
    assert (second.concurrency, second.metadata, second.error) == (
        "first_write",
        {"ttlInSeconds": "86400"},
        "INTERNAL",
    )
    assert fake_dapr.state("processed-e1", store="statestore") == b"1"


@pytest.mark.parametrize(
    "conflict_code",
    [grpc.StatusCode.INTERNAL, grpc.StatusCode.ABORTED, grpc.StatusCode.ALREADY_EXISTS],
)
def test_first_write_conflict_codes_mean_already_exists(
    gateway: DaprGateway, fake_dapr: FakeDaprSidecar, conflict_code: grpc.StatusCode
) -> None:
    fake_dapr.first_write_conflict_code = conflict_code
    fake_dapr.put_state("k", b"x")

    assert gateway.save_state_first_write("k", b"1", ttl_seconds=60) is False
    assert fake_dapr.state_saves[-1].error == conflict_code.name
    assert [g.key for g in fake_dapr.state_gets] == ["k"]  # the conflict was confirmed


def test_first_write_error_for_a_missing_key_is_unavailable(
    gateway: DaprGateway, fake_dapr: FakeDaprSidecar
) -> None:
    # INTERNAL without the key existing is a real store failure, not a duplicate.
    fake_dapr.fail("SaveState", code=grpc.StatusCode.INTERNAL, times=1)

    with pytest.raises(DaprUnavailable, match="INTERNAL") as excinfo:
        gateway.save_state_first_write("k", b"1", ttl_seconds=60)
    assert excinfo.value.code == grpc.StatusCode.INTERNAL
    assert [(g.key, g.found) for g in fake_dapr.state_gets] == [("k", False)]


def test_first_write_unavailable_is_not_treated_as_conflict(
    gateway: DaprGateway, fake_dapr: FakeDaprSidecar
) -> None:
    fake_dapr.put_state("k", b"x")
    fake_dapr.fail("SaveState", code=grpc.StatusCode.UNAVAILABLE)

    with pytest.raises(DaprUnavailable, match="UNAVAILABLE"):
        gateway.save_state_first_write("k", b"1", ttl_seconds=60)
    assert fake_dapr.state_gets == []


def test_first_write_succeeds_again_after_the_ttl_expired(
    gateway: DaprGateway, fake_dapr: FakeDaprSidecar
) -> None:
    assert gateway.save_state_first_write("k", b"1", ttl_seconds=60) is True
    fake_dapr.expire_state("k")
    assert gateway.state_exists("k") is False
    assert gateway.save_state_first_write("k", b"2", ttl_seconds=60) is True
    assert fake_dapr.state("k") == b"2"


@pytest.mark.parametrize(("value", "ttl"), [(b"", 60), (b"1", 0), (b"1", -5)])
def test_first_write_rejects_bad_arguments_without_a_call(
    gateway: DaprGateway, fake_dapr: FakeDaprSidecar, value: bytes, ttl: int
) -> None:
    with pytest.raises(ValueError, match="must be"):
        gateway.save_state_first_write("k", value, ttl_seconds=ttl)
    assert fake_dapr.calls == []


def test_state_exists(gateway: DaprGateway, fake_dapr: FakeDaprSidecar) -> None:
    assert gateway.state_exists("k") is False
    fake_dapr.put_state("k", b"v")
    fake_dapr.put_state("k", b"other-store", store="elsewhere")
    assert gateway.state_exists("k") is True
    assert [(g.store, g.key, g.found) for g in fake_dapr.state_gets] == [
        ("statestore", "k", False),
        ("statestore", "k", True),
    ]

    fake_dapr.fail("get_state", times=1)
    with pytest.raises(DaprUnavailable, match="UNAVAILABLE"):
        gateway.state_exists("k")


# -- jobs -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("due", "expected"),
    [
        (datetime(2026, 11, 28, 9, 30, tzinfo=BERLIN), "2026-11-28T09:30:00+01:00"),
        (datetime(2026, 7, 1, 18, 0, 5, tzinfo=BERLIN), "2026-07-01T18:00:05+02:00"),
        (datetime(2026, 11, 28, 8, 30, tzinfo=UTC), "2026-11-28T08:30:00+00:00"),
        (
            datetime(2026, 3, 1, 7, 0, tzinfo=timezone(timedelta(hours=-5))),
            "2026-03-01T07:00:00-05:00",
        ),
    ],
)
def test_schedule_job_sends_name_due_time_overwrite_and_data(
    gateway: DaprGateway, fake_dapr: FakeDaprSidecar, due: datetime, expected: str
) -> None:
    data = {"task_id": 42, "reminder_at": due.isoformat(), "version": 3}

    gateway.schedule_job(name="reminder-task-42", due_time=due, data=data)

    (job,) = fake_dapr.scheduled_jobs
    assert job.name == "reminder-task-42"
    assert job.due_time == expected
    assert RFC3339_WITH_OFFSET.match(job.due_time)
    assert job.overwrite is True
    assert job.data == data
    assert json.loads(job.data_bytes) == data
    assert (job.schedule, job.repeats, job.ttl, job.failure_policy) == (None, None, None, None)
    assert job.rpc == "ScheduleJob"  # the stable Jobs API
    assert fake_dapr.jobs["reminder-task-42"] == job


def test_rescheduling_a_job_overwrites_it(gateway: DaprGateway, fake_dapr: FakeDaprSidecar) -> None:
    first = datetime(2026, 11, 28, 9, 30, tzinfo=BERLIN)
    gateway.schedule_job(name="reminder-task-1", due_time=first, data={"version": 1})
    gateway.schedule_job(
        name="reminder-task-1", due_time=first + timedelta(hours=1), data={"version": 2}
    )

    assert [j.error for j in fake_dapr.scheduled_jobs] == [None, None]
    assert fake_dapr.jobs["reminder-task-1"].data == {"version": 2}
    assert fake_dapr.jobs["reminder-task-1"].due_time == "2026-11-28T10:30:00+01:00"


def test_schedule_job_rejects_naive_datetimes_before_any_call(
    gateway: DaprGateway, fake_dapr: FakeDaprSidecar
) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        gateway.schedule_job(
            name="reminder-task-1", due_time=datetime(2026, 11, 28, 9, 30), data={}
        )
    assert fake_dapr.calls == []
    assert fake_dapr.health_checks == 0


def test_schedule_job_falls_back_to_alpha1_on_an_older_runtime(
    gateway: DaprGateway, fake_dapr: FakeDaprSidecar
) -> None:
    # A runtime < 1.18 answers UNIMPLEMENTED for the stable RPC; the SDK retries on *Alpha1.
    fake_dapr.fail("ScheduleJob", code=grpc.StatusCode.UNIMPLEMENTED)
    fake_dapr.fail("DeleteJob", code=grpc.StatusCode.UNIMPLEMENTED)

    gateway.schedule_job(
        name="reminder-task-1", due_time=datetime(2026, 11, 28, 9, 30, tzinfo=BERLIN), data={}
    )
    gateway.delete_job("reminder-task-1")

    assert [j.rpc for j in fake_dapr.scheduled_jobs] == ["ScheduleJobAlpha1"]
    assert fake_dapr.deleted_jobs == [
        JobDeleteRecord(name="reminder-task-1", existed=True, rpc="DeleteJobAlpha1")
    ]
    assert [c.method for c in fake_dapr.calls] == [
        "ScheduleJob",
        "ScheduleJobAlpha1",
        "DeleteJob",
        "DeleteJobAlpha1",
    ]


def test_schedule_job_failure_raises_dapr_unavailable(
    gateway: DaprGateway, fake_dapr: FakeDaprSidecar
) -> None:
    fake_dapr.fail("jobs", code=grpc.StatusCode.UNAVAILABLE)
    with pytest.raises(DaprUnavailable, match="UNAVAILABLE"):
        gateway.schedule_job(
            name="reminder-task-1", due_time=datetime(2026, 11, 28, 9, 30, tzinfo=BERLIN), data={}
        )
    assert fake_dapr.jobs == {}


def test_delete_job(gateway: DaprGateway, fake_dapr: FakeDaprSidecar) -> None:
    gateway.schedule_job(
        name="reminder-task-1", due_time=datetime(2026, 11, 28, 9, 30, tzinfo=BERLIN), data={}
    )
    gateway.delete_job("reminder-task-1")
    gateway.delete_job("reminder-task-1")  # already gone: the scheduler does not complain

    assert fake_dapr.jobs == {}
    assert [(d.name, d.existed, d.rpc) for d in fake_dapr.deleted_jobs] == [
        ("reminder-task-1", True, "DeleteJob"),
        ("reminder-task-1", False, "DeleteJob"),
    ]


def test_delete_job_not_found_counts_as_success(
    gateway: DaprGateway, fake_dapr: FakeDaprSidecar
) -> None:
    fake_dapr.missing_job_delete_code = grpc.StatusCode.NOT_FOUND
    gateway.delete_job("reminder-task-404")
    assert fake_dapr.deleted_jobs[-1].error == "NOT_FOUND"

    fake_dapr.fail("delete_job", code=grpc.StatusCode.NOT_FOUND, times=1)
    gateway.delete_job("reminder-task-404")


def test_delete_job_failure_raises_dapr_unavailable(
    gateway: DaprGateway, fake_dapr: FakeDaprSidecar
) -> None:
    fake_dapr.fail("delete_job", code=grpc.StatusCode.INTERNAL)
    with pytest.raises(DaprUnavailable, match="INTERNAL"):
        gateway.delete_job("reminder-task-1")


def test_format_due_time_converts_sub_minute_offsets_to_utc() -> None:
    odd = timezone(timedelta(minutes=53, seconds=28))
    assert format_due_time(datetime(1890, 1, 1, 12, 0, tzinfo=odd)) == "1890-01-01T11:06:32+00:00"


# -- subscriptions ------------------------------------------------------------------------------


def test_subscription_receives_a_delivered_message_and_acks_success(
    subscription: Subscription, fake_dapr: FakeDaprSidecar
) -> None:
    (record,) = fake_dapr.subscriptions
    assert (record.pubsub_name, record.topic, record.dead_letter_topic) == (
        "pubsub",
        "task-events",
        "task-events-dlq",
    )
    event = {"event_id": "ev-1", "event_type": "TaskCreated", "payload": {"task_id": 1}}

    event_id = fake_dapr.deliver("task-events", event, event_id="ev-1")
    message = next_message(subscription)

    assert event_id == "ev-1"
    assert message.id() == "ev-1"
    assert message.topic() == "task-events"
    assert message.pubsub_name() == "pubsub"
    assert message.data_content_type() == "application/json"
    assert message.spec_version() == "1.0"
    assert message.type() == "com.dapr.event.sent"
    assert message.data() == event
    assert "traceparent" in message.extensions()

    subscription.respond_success(message)
    assert fake_dapr.wait_for_response("ev-1") == "SUCCESS"
    assert fake_dapr.publishes == []


def test_published_events_reach_the_subscriber(
    gateway: DaprGateway, subscription: Subscription, fake_dapr: FakeDaprSidecar
) -> None:
    gateway.publish(topic="task-events", data=b'{"n": 1}', event_id="ev-p", partition_key="5")
    message = next_message(subscription)
    assert (message.id(), message.data()) == ("ev-p", {"n": 1})
    subscription.respond_success(message)
    assert fake_dapr.wait_for_response("ev-p") == "SUCCESS"


def test_retry_is_redelivered(subscription: Subscription, fake_dapr: FakeDaprSidecar) -> None:
    fake_dapr.deliver("task-events", {"n": 1}, event_id="ev-r")

    first = next_message(subscription)
    subscription.respond_retry(first)
    assert fake_dapr.wait_for_response("ev-r") == "RETRY"

    again = next_message(subscription)
    assert again.id() == "ev-r"
    subscription.respond_success(again)
    assert fake_dapr.wait_for_response("ev-r", nth=2) == "SUCCESS"
    assert [(d.event_id, d.attempt) for d in fake_dapr.deliveries] == [("ev-r", 0), ("ev-r", 1)]


def test_drop_goes_to_the_dead_letter_topic(
    subscription: Subscription, fake_dapr: FakeDaprSidecar
) -> None:
    fake_dapr.deliver("task-events", {"n": 1}, event_id="ev-d")

    message = next_message(subscription)
    subscription.respond_drop(message)

    assert fake_dapr.wait_for_response("ev-d") == "DROP"
    (dead,) = fake_dapr.publishes
    assert (dead.topic, dead.rpc, dead.event_id, dead.json()) == (
        "task-events-dlq",
        "deadletter",
        "ev-d",
        {"n": 1},
    )


def test_subscribe_failure_raises_dapr_unavailable(
    gateway: DaprGateway, fake_dapr: FakeDaprSidecar
) -> None:
    fake_dapr.fail("subscribe", code=grpc.StatusCode.UNAVAILABLE, times=1)
    with pytest.raises(DaprUnavailable, match="UNAVAILABLE") as excinfo:
        gateway.subscribe(topic="task-events", dead_letter_topic="task-events-dlq")
    assert excinfo.value.code == grpc.StatusCode.UNAVAILABLE
    assert fake_dapr.subscriptions == []


def test_unacked_message_is_redelivered_after_the_stream_breaks(
    subscription: Subscription, fake_dapr: FakeDaprSidecar
) -> None:
    fake_dapr.deliver("task-events", {"n": 1}, event_id="ev-b")
    assert next_message(subscription).id() == "ev-b"

    fake_dapr.close_streams(grpc.StatusCode.UNAVAILABLE)  # before the ack: at-least-once
    again = next_message(subscription)  # the SDK reconnects on UNAVAILABLE

    assert again.id() == "ev-b"
    subscription.respond_success(again)
    assert fake_dapr.wait_for_response("ev-b") == "SUCCESS"
    assert [s.dead_letter_topic for s in fake_dapr.subscriptions] == ["task-events-dlq"] * 2
