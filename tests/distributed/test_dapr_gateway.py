"""DaprGateway, the app's only door to the SDK, against the real daprd (todo-worker's
sidecar: the state store is scoped to it) and the real scheduler and Kafka."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import grpc
import pytest
import redis
from dapr.clients import DaprClient

from tests.distributed.conftest import REDIS_URL, KafkaReader, sidecar_get
from tests.distributed.topology import WORKER_APP_ID, Topology, free_port
from todo_project.eventbus.dapr_gateway import DaprGateway, DaprUnavailable


@pytest.fixture
def worker_sidecar_env(topology: Topology, monkeypatch: pytest.MonkeyPatch) -> Topology:
    ports = topology.ports.sidecar(WORKER_APP_ID)
    monkeypatch.setenv("DAPR_RUNTIME_HOST", "127.0.0.1")
    monkeypatch.setenv("DAPR_GRPC_PORT", str(ports["grpc"]))
    monkeypatch.setenv("DAPR_HTTP_PORT", str(ports["http"]))
    monkeypatch.setenv("DAPR_API_TOKEN", topology.dapr_api_token)
    for name in ("DAPR_GRPC_ENDPOINT", "DAPR_HTTP_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    return topology


@pytest.fixture
def gateway(worker_sidecar_env: Topology) -> Iterator[DaprGateway]:
    gateway = DaprGateway(job_retry_seconds=3, job_max_retries=10)
    yield gateway
    gateway.close()


def test_publish_reaches_kafka_with_key_cloudevent_id_and_json(
    gateway: DaprGateway, kafka: KafkaReader
) -> None:
    topic = f"gateway-{secrets.token_hex(4)}"
    event_id = secrets.token_hex(8)
    gateway.publish(topic=topic, data=b'{"hello": "kafka"}', event_id=event_id, partition_key="42")
    (record,) = kafka.wait_for(topic, lambda r: True, timeout=20)
    assert record.key == "42"
    cloudevent = record.cloudevent()
    assert cloudevent["id"] == event_id
    assert cloudevent["datacontenttype"] == "application/json"
    assert cloudevent["data"] == {"hello": "kafka"}
    assert cloudevent["source"] == WORKER_APP_ID


def test_first_write_writes_once_and_again_after_the_ttl(gateway: DaprGateway) -> None:
    key = f"gateway-test:{secrets.token_hex(6)}"
    assert gateway.state_exists(key) is False
    assert gateway.save_state_first_write(key, b"1", ttl_seconds=2) is True
    assert gateway.state_exists(key) is True
    assert gateway.save_state_first_write(key, b"1", ttl_seconds=2) is False
    ttl = redis.Redis.from_url(REDIS_URL).ttl(f"{WORKER_APP_ID}||{key}")
    assert 0 < ttl <= 2
    time.sleep(3)
    assert gateway.state_exists(key) is False
    assert gateway.save_state_first_write(key, b"1", ttl_seconds=2) is True


def test_the_runtime_refuses_state_keys_with_the_separator(worker_sidecar_env: Topology) -> None:
    """The lesson behind check_state_key: the real daprd refuses '||' in a key."""
    with DaprClient() as client, pytest.raises(grpc.RpcError) as refused:
        client.save_state("statestore", "processed||a||b", b"1")
    assert "can't contain '||'" in str(refused.value.details())
    with pytest.raises(ValueError, match=r"\|\|"):
        DaprGateway().save_state_first_write("processed||a||b", b"1", ttl_seconds=10)


def test_jobs_are_scheduled_with_data_and_failure_policy_replaced_and_deleted(
    gateway: DaprGateway, topology: Topology
) -> None:
    name = f"gateway-test-{secrets.token_hex(4)}"
    due = datetime.now(UTC) + timedelta(hours=1)
    gateway.schedule_job(name=name, due_time=due, data={"task_id": 7, "version": 1})
    job = sidecar_get(topology, WORKER_APP_ID, f"/v1.0-alpha1/jobs/{name}").json()
    assert job["data"]["value"] == {"task_id": 7, "version": 1}
    assert job["failurePolicy"] == {"constant": {"interval": "3s", "maxRetries": 10}}
    gateway.schedule_job(
        name=name, due_time=due + timedelta(minutes=5), data={"task_id": 7, "version": 2}
    )
    job = sidecar_get(topology, WORKER_APP_ID, f"/v1.0-alpha1/jobs/{name}").json()
    assert job["data"]["value"]["version"] == 2
    assert datetime.fromisoformat(job["dueTime"]) == due + timedelta(minutes=5)
    gateway.delete_job(name)
    assert sidecar_get(topology, WORKER_APP_ID, f"/v1.0-alpha1/jobs/{name}").status_code != 200
    gateway.delete_job(name)  # deleting a job that is gone is no error


def test_a_streaming_subscription_acks_retries_and_drops_to_the_dead_letter_topic(
    gateway: DaprGateway, kafka: KafkaReader
) -> None:
    topic = f"gateway-{secrets.token_hex(4)}"
    subscription = gateway.subscribe(topic=topic, dead_letter_topic=f"{topic}-dlq")
    try:
        time.sleep(2)  # the consumer group joins before anything is published
        for number in range(2):
            gateway.publish(
                topic=topic,
                data=json.dumps({"n": number}).encode(),
                event_id=f"{topic}-{number}",
                partition_key="1",
            )
        seen: list[tuple[str, dict[str, int]]] = []
        deadline = time.monotonic() + 30
        while len(seen) < 3 and time.monotonic() < deadline:
            message = subscription.next_message()
            if message is None:
                continue
            seen.append((message.id(), message.data()))
            if message.data() == {"n": 0}:
                subscription.respond_success(message)
            elif len([s for s in seen if s[1] == {"n": 1}]) == 1:
                subscription.respond_retry(message)  # redelivered...
            else:
                subscription.respond_drop(message)  # ...then dropped to the DLQ
        time.sleep(1)  # let the last answer leave before the stream closes
    finally:
        subscription.close()
    assert [s[1] for s in seen] == [{"n": 0}, {"n": 1}, {"n": 1}]
    kafka.wait_for(f"{topic}-dlq", lambda r: r.cloudevent().get("id") == f"{topic}-1", timeout=20)


def test_a_sidecar_that_is_not_there_fails_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    port = free_port()
    monkeypatch.setenv("DAPR_GRPC_PORT", str(port))
    monkeypatch.setenv("DAPR_HTTP_PORT", str(port))
    monkeypatch.setenv("DAPR_HEALTH_TIMEOUT", "60")
    started = time.monotonic()
    with pytest.raises(DaprUnavailable):
        DaprGateway().publish(topic="t", data=b"{}", event_id="e", partition_key="1")
    assert time.monotonic() - started < 5  # not DAPR_HEALTH_TIMEOUT's minute
