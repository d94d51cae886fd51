"""DaprGateway's own logic: client lifecycle, error mapping, argument checks, job packing.

The Dapr SDK client is replaced by a stub (``client_factory``) whose methods raise
``grpc.RpcError`` with a chosen status, and the health probe by a callable. What the real
runtime does with the calls (Kafka, Redis, the scheduler, subscriptions) is proven in
tests/distributed/test_dapr_gateway.py. No database.
"""

from __future__ import annotations

import threading
from collections import defaultdict, namedtuple
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import grpc
import pytest
from google.protobuf import json_format, struct_pb2

from tests.sidecar_health import HealthEndpoint, closed_port
from todo_project.eventbus.dapr_gateway import (
    DaprGateway,
    DaprUnavailable,
    _TraceparentInterceptor,
    format_due_time,
    sidecar_healthy,
)
from todo_project.observability import use_traceparent

BERLIN = ZoneInfo("Europe/Berlin")
UNAVAILABLE = grpc.StatusCode.UNAVAILABLE
INTERNAL = grpc.StatusCode.INTERNAL
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


class RpcFailure(grpc.RpcError):
    """What a failed SDK call raises: an RpcError with a status code and details."""

    def __init__(self, code: grpc.StatusCode, details: str = "injected") -> None:
        super().__init__(details)
        self._code = code
        self._details = details

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details


class StubClient:
    """Stands in for ``dapr.clients.DaprClient``: records each call by method name and
    raises the next failure queued for that method on its ``sdk``."""

    def __init__(self, sdk: StubSdk) -> None:
        self.sdk = sdk
        self.closed = False
        self.close_error: Exception | None = None

    def _call(self, method: str, **kwargs: Any) -> None:
        self.sdk.calls.append((method, kwargs))
        queued = self.sdk.failures[method]
        if queued:
            raise queued.pop(0)

    def publish_event(self, **kwargs: Any) -> None:
        self._call("publish_event", **kwargs)

    def get_state(self, *, store_name: str, key: str) -> Any:
        self._call("get_state", store_name=store_name, key=key)
        return SimpleNamespace(data=self.sdk.state.get(key, b""))

    def save_state(self, **kwargs: Any) -> None:
        self._call("save_state", **kwargs)

    def schedule_job(self, job: Any, overwrite: bool = False) -> None:
        self._call("schedule_job", job=job, overwrite=overwrite)

    def delete_job(self, name: str) -> None:
        self._call("delete_job", name=name)

    def subscribe(self, **kwargs: Any) -> Any:
        self._call("subscribe", **kwargs)
        return "a subscription"

    def close(self) -> None:
        self.closed = True
        if self.close_error is not None:
            raise self.close_error


class StubSdk:
    """The client factory and health probe handed to the gateway, and what they saw."""

    def __init__(self) -> None:
        self.healthy = True
        self.probes = 0
        self.clients: list[StubClient] = []
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.failures: defaultdict[str, list[BaseException]] = defaultdict(list)
        self.state: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def factory(self) -> StubClient:
        with self._lock:
            client = StubClient(self)
            self.clients.append(client)
            return client

    def probe(self) -> bool:
        self.probes += 1
        return self.healthy

    def fail(self, method: str, *errors: BaseException) -> None:
        self.failures[method].extend(errors)

    def methods(self) -> list[str]:
        return [method for method, _ in self.calls]

    def gateway(self, **kwargs: Any) -> DaprGateway:
        return DaprGateway(client_factory=self.factory, health_probe=self.probe, **kwargs)


@pytest.fixture
def sdk() -> StubSdk:
    return StubSdk()


@pytest.fixture
def gateway(sdk: StubSdk) -> DaprGateway:
    return sdk.gateway()


def publish(gateway: DaprGateway, event_id: str = "e-1") -> None:
    gateway.publish(topic="task-events", data=b"{}", event_id=event_id, partition_key="7")


# -- client lifecycle ---------------------------------------------------------------------------


def test_constructing_a_gateway_neither_probes_nor_builds_a_client(sdk: StubSdk) -> None:
    sdk.gateway()
    assert (sdk.probes, sdk.clients) == (0, [])


def test_the_first_call_probes_once_and_builds_the_client_later_calls_reuse(
    sdk: StubSdk, gateway: DaprGateway
) -> None:
    gateway.state_exists("k")
    publish(gateway)
    assert (sdk.probes, len(sdk.clients)) == (1, 1)


def test_concurrent_first_calls_build_one_client(sdk: StubSdk, gateway: DaprGateway) -> None:
    start = threading.Barrier(8)

    def use(_: int) -> bool:
        start.wait(timeout=5)
        return gateway.state_exists("k")

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(use, range(8))) == [False] * 8
    assert len(sdk.clients) == 1


def test_an_unhealthy_sidecar_fails_at_once_without_building_a_client(
    sdk: StubSdk, gateway: DaprGateway
) -> None:
    sdk.healthy = False
    with pytest.raises(DaprUnavailable, match="not healthy") as excinfo:
        publish(gateway)
    assert excinfo.value.code == UNAVAILABLE
    assert sdk.clients == []

    sdk.healthy = True
    publish(gateway)
    assert sdk.methods() == ["publish_event"]


def test_a_client_that_cannot_be_created_raises_dapr_unavailable() -> None:
    def factory() -> Any:
        raise TimeoutError("timed out waiting for the sidecar")

    gateway = DaprGateway(client_factory=factory, health_probe=lambda: True)
    with pytest.raises(DaprUnavailable, match="could not be created") as excinfo:
        gateway.state_exists("k")
    assert isinstance(excinfo.value.__cause__, TimeoutError)
    assert excinfo.value.code is None


@pytest.mark.parametrize("code", [UNAVAILABLE, INTERNAL, grpc.StatusCode.NOT_FOUND])
def test_a_failed_publish_raises_dapr_unavailable_naming_topic_event_and_status(
    sdk: StubSdk, gateway: DaprGateway, code: grpc.StatusCode
) -> None:
    sdk.fail("publish_event", RpcFailure(code, "broker said no"))
    with pytest.raises(DaprUnavailable) as excinfo:
        publish(gateway, "e-42")
    assert excinfo.value.code == code
    message = str(excinfo.value)
    for part in ("pubsub/task-events", "e-42", code.name, "broker said no"):
        assert part in message
    assert isinstance(excinfo.value.__cause__, grpc.RpcError)


def test_unavailable_drops_the_client_and_the_next_call_builds_a_new_one(
    sdk: StubSdk, gateway: DaprGateway
) -> None:
    sdk.fail("publish_event", RpcFailure(UNAVAILABLE))
    with pytest.raises(DaprUnavailable):
        publish(gateway)
    assert sdk.clients[0].closed

    publish(gateway)
    assert (len(sdk.clients), sdk.probes) == (2, 2)
    assert not sdk.clients[1].closed


def test_other_failures_keep_the_client(sdk: StubSdk, gateway: DaprGateway) -> None:
    sdk.fail("publish_event", RpcFailure(INTERNAL))
    with pytest.raises(DaprUnavailable):
        publish(gateway)
    publish(gateway)
    assert len(sdk.clients) == 1
    assert not sdk.clients[0].closed


def test_a_subscribe_error_carries_the_status_of_the_rpc_error_behind_it(
    sdk: StubSdk, gateway: DaprGateway
) -> None:
    # The SDK's subscription wraps stream errors in plain Exceptions.
    wrapped = Exception("Error while subscribing")
    wrapped.__cause__ = RpcFailure(UNAVAILABLE)
    sdk.fail("subscribe", wrapped)
    with pytest.raises(DaprUnavailable, match="task-events") as excinfo:
        gateway.subscribe(topic="task-events", dead_letter_topic="task-events-dlq")
    assert excinfo.value.code == UNAVAILABLE
    assert sdk.clients[0].closed


def test_a_subscribe_error_without_a_status_also_drops_the_client(
    sdk: StubSdk, gateway: DaprGateway
) -> None:
    sdk.fail("subscribe", RuntimeError("stream broke"))
    with pytest.raises(DaprUnavailable, match="RuntimeError: stream broke") as excinfo:
        gateway.subscribe(topic="task-events")
    assert excinfo.value.code is None
    assert sdk.clients[0].closed


def test_close_is_idempotent_and_survives_a_client_that_fails_to_close(
    sdk: StubSdk, gateway: DaprGateway
) -> None:
    gateway.state_exists("k")
    sdk.clients[0].close_error = RuntimeError("channel already dead")
    gateway.close()
    gateway.close()
    gateway.state_exists("k")
    assert len(sdk.clients) == 2


def test_calls_carry_the_traceparent_of_the_work_in_hand() -> None:
    details_type = namedtuple(
        "Details", "method timeout metadata credentials wait_for_ready compression"
    )
    details = details_type(
        "/Publish", None, [("traceparent", "stale"), ("x", "1")], None, None, None
    )
    sent: list[Any] = []

    def continuation(call_details: Any, request: object) -> None:
        sent.append(call_details.metadata)

    interceptor = _TraceparentInterceptor()
    with use_traceparent(TRACEPARENT):
        interceptor.intercept_unary_unary(continuation, details, object())
    interceptor.intercept_unary_unary(continuation, details, object())
    assert sent == [[("x", "1"), ("traceparent", TRACEPARENT)], details.metadata]


# -- the health probe -------------------------------------------------------------------------


def test_the_health_probe_passes_on_2xx_and_sends_the_api_token(
    dapr_http_port: Any, health_endpoint: HealthEndpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    dapr_http_port(health_endpoint.port)
    monkeypatch.setenv("DAPR_API_TOKEN", "sidecar-token")
    assert sidecar_healthy(timeout=2) is True
    assert health_endpoint.headers[-1]["dapr-api-token"] == "sidecar-token"

    health_endpoint.status = 500
    assert sidecar_healthy(timeout=2) is False


def test_the_health_probe_fails_when_nothing_listens(dapr_http_port: Any) -> None:
    dapr_http_port(closed_port())
    assert sidecar_healthy(timeout=2) is False


# -- state ----------------------------------------------------------------------------------------


def test_state_exists_is_whether_the_key_holds_a_value(sdk: StubSdk, gateway: DaprGateway) -> None:
    assert gateway.state_exists("k") is False
    sdk.state["k"] = b"1"
    assert gateway.state_exists("k") is True

    sdk.fail("get_state", RpcFailure(UNAVAILABLE))
    with pytest.raises(DaprUnavailable, match="get_state statestore/k"):
        gateway.state_exists("k")


def test_a_first_write_that_goes_through_returns_true(sdk: StubSdk, gateway: DaprGateway) -> None:
    assert gateway.save_state_first_write("k", b"1", ttl_seconds=60) is True
    assert sdk.methods() == ["save_state"]


@pytest.mark.parametrize(
    "code", [INTERNAL, grpc.StatusCode.ABORTED, grpc.StatusCode.ALREADY_EXISTS]
)
def test_a_first_write_conflict_is_confirmed_by_reading_the_key_back(
    sdk: StubSdk, gateway: DaprGateway, code: grpc.StatusCode
) -> None:
    sdk.state["k"] = b"1"
    sdk.fail("save_state", RpcFailure(code))
    assert gateway.save_state_first_write("k", b"1", ttl_seconds=60) is False
    assert sdk.methods() == ["save_state", "get_state"]


def test_a_conflict_status_for_a_key_that_is_absent_is_a_real_failure(
    sdk: StubSdk, gateway: DaprGateway
) -> None:
    sdk.fail("save_state", RpcFailure(INTERNAL, "redis: connection reset"))
    with pytest.raises(DaprUnavailable, match="INTERNAL: redis: connection reset") as excinfo:
        gateway.save_state_first_write("k", b"1", ttl_seconds=60)
    assert excinfo.value.code == INTERNAL
    assert sdk.methods() == ["save_state", "get_state"]


def test_unavailable_on_a_first_write_is_never_taken_for_a_conflict(
    sdk: StubSdk, gateway: DaprGateway
) -> None:
    sdk.state["k"] = b"1"
    sdk.fail("save_state", RpcFailure(UNAVAILABLE))
    with pytest.raises(DaprUnavailable, match="UNAVAILABLE"):
        gateway.save_state_first_write("k", b"1", ttl_seconds=60)
    assert sdk.methods() == ["save_state"]


@pytest.mark.parametrize(("value", "ttl"), [(b"", 60), (b"1", 0), (b"1", -5)])
def test_a_first_write_with_bad_arguments_is_refused_before_any_call(
    sdk: StubSdk, gateway: DaprGateway, value: bytes, ttl: int
) -> None:
    with pytest.raises(ValueError, match="must be"):
        gateway.save_state_first_write("k", value, ttl_seconds=ttl)
    assert (sdk.probes, sdk.calls) == (0, [])


@pytest.mark.parametrize("key", ["processed||handler||event", "||", ""])
def test_keys_with_the_separator_are_refused_before_any_call(
    sdk: StubSdk, gateway: DaprGateway, key: str
) -> None:
    with pytest.raises(ValueError, match=r"\|\|"):
        gateway.state_exists(key)
    with pytest.raises(ValueError, match=r"\|\|"):
        gateway.save_state_first_write(key, b"1", ttl_seconds=60)
    assert (sdk.probes, sdk.calls) == (0, [])


# -- jobs -----------------------------------------------------------------------------------------


def test_schedule_job_sends_the_failure_policy_and_packs_data_as_a_protobuf_value(
    sdk: StubSdk,
) -> None:
    gateway = sdk.gateway(job_retry_seconds=3, job_max_retries=10)
    data = {"task_id": 42, "reminder_at": "2026-11-28T09:30:00+01:00", "version": 3}

    gateway.schedule_job(
        name="reminder-task-42", due_time=datetime(2026, 11, 28, 9, 30, tzinfo=BERLIN), data=data
    )

    ((method, sent),) = sdk.calls
    job = sent["job"]
    assert (method, sent["overwrite"]) == ("schedule_job", True)
    assert (job.name, job.due_time) == ("reminder-task-42", "2026-11-28T09:30:00+01:00")
    assert job.failure_policy is gateway.job_failure_policy
    assert (job.failure_policy.interval_seconds, job.failure_policy.max_retries) == (3, 10)
    assert job.data.type_url == "type.googleapis.com/google.protobuf.Value"
    value = struct_pb2.Value()
    assert job.data.Unpack(value)
    assert json_format.MessageToDict(value) == data


def test_schedule_job_rejects_naive_datetimes_before_any_call(
    sdk: StubSdk, gateway: DaprGateway
) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        gateway.schedule_job(name="reminder-task-1", due_time=datetime(2026, 11, 28, 9), data={})
    assert (sdk.probes, sdk.calls) == (0, [])


def test_a_failed_schedule_job_raises_dapr_unavailable(sdk: StubSdk, gateway: DaprGateway) -> None:
    sdk.fail("schedule_job", RpcFailure(UNAVAILABLE))
    with pytest.raises(DaprUnavailable, match="schedule_job reminder-task-1 at 2026-11-28T09"):
        gateway.schedule_job(
            name="reminder-task-1", due_time=datetime(2026, 11, 28, 9, tzinfo=BERLIN), data={}
        )


def test_delete_job_counts_not_found_as_deleted(sdk: StubSdk, gateway: DaprGateway) -> None:
    sdk.fail("delete_job", RpcFailure(grpc.StatusCode.NOT_FOUND))
    gateway.delete_job("reminder-task-404")
    assert sdk.methods() == ["delete_job"]


def test_other_delete_job_failures_raise_dapr_unavailable(
    sdk: StubSdk, gateway: DaprGateway
) -> None:
    sdk.fail("delete_job", RpcFailure(INTERNAL))
    with pytest.raises(DaprUnavailable, match="delete_job reminder-task-1 failed: INTERNAL"):
        gateway.delete_job("reminder-task-1")


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
        # Offsets with seconds (historic LMT zones) are not RFC 3339: converted to UTC.
        (
            datetime(1890, 1, 1, 12, 0, tzinfo=timezone(timedelta(minutes=53, seconds=28))),
            "1890-01-01T11:06:32+00:00",
        ),
    ],
)
def test_due_times_are_rfc3339_with_an_explicit_offset(due: datetime, expected: str) -> None:
    assert format_due_time(due) == expected
