"""An in-process fake Dapr sidecar for tests (there is no daprd in this project's test env).

The pattern of the Dapr Python SDK's own tests (``tests/clients/fake_dapr_server.py``): a
``DaprServicer`` subclass from the SDK's generated protos served by ``grpc.server`` on
127.0.0.1, plus a tiny HTTP server answering the health endpoints that ``DaprClient()`` polls
before it connects. Point the SDK at it with :meth:`FakeDaprSidecar.env` (the SDK 1.19 reads its
``DAPR_*`` settings from the environment whenever a client is created).

What it emulates:

* pub/sub: ``PublishEvent`` / ``BulkPublishEvent`` are recorded and, like a broker, routed to
  streaming subscribers of the topic (``route_publishes``); ``deliver()`` injects a message as if
  another app had published it. Streaming subscriptions (``SubscribeTopicEventsAlpha1``, the RPC
  behind ``DaprClient.subscribe``) get CloudEvents; each SUCCESS/RETRY/DROP answer is recorded.
  RETRY is redelivered up to ``max_redeliveries`` times; DROP (or RETRY exhausted) of a message
  whose subscription named a dead-letter topic is published to that topic, as the runtime does.
  Messages with no subscriber wait in a backlog; in-flight messages of a closed stream go back.
* state: a real key/value store with etags, first-write concurrency (an existing key fails with
  INTERNAL, like the redis and postgres stores), etag mismatch (ABORTED) and ``ttlInSeconds``.
* jobs: the stable and Alpha1 Schedule/Get/Delete RPCs over an in-memory job table.
* faults: ``fail()`` makes matching RPCs abort with a status code, ``down()`` makes the health
  endpoints answer 500 and (by default) every RPC answer UNAVAILABLE.

Records are plain frozen dataclasses; injected failures (``fail``/``down``) never reach them and
are visible only in :attr:`FakeDaprSidecar.calls`. Semantic failures (first-write conflict, etag
mismatch, overwrite refused) are recorded with ``error`` set to the status code name.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

import grpc
from dapr.proto import api_v1, appcallback_v1, common_v1
from dapr.proto.runtime.v1 import dapr_pb2_grpc
from google.protobuf import empty_pb2, struct_pb2

__all__ = [
    "KINDS",
    "SDK_ENV_TO_CLEAR",
    "STATUS_NAMES",
    "DeliveryRecord",
    "FakeDaprSidecar",
    "JobDeleteRecord",
    "JobRecord",
    "PublishRecord",
    "ResponseRecord",
    "RpcCall",
    "StateDeleteRecord",
    "StateGetRecord",
    "StateSaveRecord",
    "SubscriptionRecord",
    "no_proxy_value",
    "sdk_settings_pins",
]

T = TypeVar("T")

HOST = "127.0.0.1"

# fail() accepts an exact RPC method name or one of these kinds.
KINDS: dict[str, frozenset[str]] = {
    "publish": frozenset({"PublishEvent", "BulkPublishEvent", "BulkPublishEventAlpha1"}),
    "subscribe": frozenset({"SubscribeTopicEventsAlpha1"}),
    "get_state": frozenset({"GetState", "GetBulkState"}),
    "save_state": frozenset({"SaveState"}),
    "delete_state": frozenset({"DeleteState"}),
    "state": frozenset(
        {"GetState", "GetBulkState", "SaveState", "DeleteState", "ExecuteStateTransaction"}
    ),
    "schedule_job": frozenset({"ScheduleJob", "ScheduleJobAlpha1"}),
    "get_job": frozenset({"GetJob", "GetJobAlpha1"}),
    "delete_job": frozenset({"DeleteJob", "DeleteJobAlpha1"}),
    "jobs": frozenset(
        {
            "ScheduleJob",
            "ScheduleJobAlpha1",
            "GetJob",
            "GetJobAlpha1",
            "DeleteJob",
            "DeleteJobAlpha1",
        }
    ),
}
_ALL = "*"

STATUS_NAMES: dict[int, str] = {
    appcallback_v1.TopicEventResponse.SUCCESS: "SUCCESS",
    appcallback_v1.TopicEventResponse.RETRY: "RETRY",
    appcallback_v1.TopicEventResponse.DROP: "DROP",
}
_CONCURRENCY = {
    common_v1.StateOptions.CONCURRENCY_UNSPECIFIED: "unspecified",
    common_v1.StateOptions.CONCURRENCY_FIRST_WRITE: "first_write",
    common_v1.StateOptions.CONCURRENCY_LAST_WRITE: "last_write",
}
_CONSISTENCY = {
    common_v1.StateOptions.CONSISTENCY_UNSPECIFIED: "unspecified",
    common_v1.StateOptions.CONSISTENCY_EVENTUAL: "eventual",
    common_v1.StateOptions.CONSISTENCY_STRONG: "strong",
}


# --------------------------------------------------------------------------------------------
# Records
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RpcCall:
    """Every RPC that reached the fake, including the ones it failed on purpose."""

    method: str
    error: str | None  # status code name when the call was failed (injected or semantic)
    injected: bool = False  # True when fail()/down() produced the error


@dataclass(frozen=True)
class PublishRecord:
    pubsub_name: str
    topic: str
    data: bytes
    data_content_type: str
    metadata: dict[str, str]
    rpc: str = "PublishEvent"  # "BulkPublishEvent[Alpha1]", or "deadletter" (runtime-made)
    event_id: str | None = None  # CloudEvent id the runtime would use

    def json(self) -> Any:
        return json.loads(self.data)


@dataclass(frozen=True)
class StateSaveRecord:
    store: str
    key: str
    value: bytes
    etag: str | None
    concurrency: str  # "unspecified" | "first_write" | "last_write"
    consistency: str
    metadata: dict[str, str]
    rpc: str = "SaveState"
    error: str | None = None  # e.g. "INTERNAL" for a first-write conflict

    @property
    def ttl_seconds(self) -> int | None:
        ttl = self.metadata.get("ttlInSeconds")
        return int(ttl) if ttl is not None else None


@dataclass(frozen=True)
class StateGetRecord:
    store: str
    key: str
    metadata: dict[str, str]
    found: bool


@dataclass(frozen=True)
class StateDeleteRecord:
    store: str
    key: str
    etag: str | None
    metadata: dict[str, str]
    existed: bool
    error: str | None = None


@dataclass(frozen=True)
class JobRecord:
    name: str
    due_time: str | None
    schedule: str | None
    repeats: int | None
    ttl: str | None
    data_bytes: bytes
    data: Any  # data_bytes decoded as JSON, None if empty or not JSON
    data_type_url: str
    overwrite: bool
    failure_policy: str | None  # "drop" | "constant" | None
    rpc: str  # "ScheduleJob" or "ScheduleJobAlpha1"
    error: str | None = None


@dataclass(frozen=True)
class JobDeleteRecord:
    name: str
    existed: bool
    rpc: str  # "DeleteJob" or "DeleteJobAlpha1"
    error: str | None = None


@dataclass
class SubscriptionRecord:
    stream_id: int
    pubsub_name: str
    topic: str
    dead_letter_topic: str | None
    metadata: dict[str, str]
    active: bool = True


@dataclass(frozen=True)
class DeliveryRecord:
    event_id: str
    topic: str
    pubsub_name: str
    attempt: int  # 0 for the first delivery
    stream_id: int


@dataclass(frozen=True)
class ResponseRecord:
    event_id: str
    status: str  # "SUCCESS" | "RETRY" | "DROP" (or "UNKNOWN(<n>)")
    topic: str
    pubsub_name: str
    attempt: int
    stream_id: int


# --------------------------------------------------------------------------------------------
# Internals
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Message:
    event_id: str
    topic: str
    pubsub_name: str | None  # None: any pubsub with a subscriber on the topic
    data: bytes
    data_content_type: str
    source: str
    type: str
    spec_version: str
    extensions: dict[str, Any]
    metadata: dict[str, str]
    attempt: int = 0

    def to_proto(self, pubsub_name: str) -> Any:
        extensions = struct_pb2.Struct()
        extensions.update(self.extensions)
        return appcallback_v1.TopicEventRequest(
            id=self.event_id,
            source=self.source,
            type=self.type,
            spec_version=self.spec_version,
            data_content_type=self.data_content_type,
            data=self.data,
            topic=self.topic,
            pubsub_name=pubsub_name,
            path="/",
            extensions=extensions,
        )


@dataclass
class _Stream:
    record: SubscriptionRecord
    generation: int
    inflight: dict[str, _Message] = field(default_factory=dict)
    closed: bool = False
    kill_code: grpc.StatusCode | None = None


@dataclass
class _Failure:
    methods: frozenset[str]
    code: grpc.StatusCode
    message: str
    remaining: int | None


@dataclass
class _StateEntry:
    value: bytes
    etag: int
    expires_at: float | None


class _HealthHandler(BaseHTTPRequestHandler):
    server: _HealthServer

    def do_GET(self) -> None:
        sidecar = self.server.sidecar
        path = self.path.split("?", 1)[0].rstrip("/")
        if path in ("/v1.0/healthz", "/v1.0/healthz/outbound"):
            sidecar._note_health_check()
            status = 204 if sidecar.healthy else 500
        else:
            status = 404
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _HealthServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, sidecar: FakeDaprSidecar) -> None:
        super().__init__((HOST, 0), _HealthHandler)
        self.sidecar = sidecar


def _now_rfc3339() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _decode_json(data: bytes) -> Any:
    if not data:
        return None
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return None


# --------------------------------------------------------------------------------------------
# The fake sidecar
# --------------------------------------------------------------------------------------------


class FakeDaprSidecar(dapr_pb2_grpc.DaprServicer):
    """A fake daprd: gRPC API + health endpoints on free ports of 127.0.0.1.

    Usage::

        sidecar = FakeDaprSidecar().start()
        os.environ.update(sidecar.env())      # or the ``fake_dapr`` pytest fixture
        ...
        sidecar.stop()
    """

    def __init__(self, *, max_workers: int = 32) -> None:
        self._cond = threading.Condition(threading.RLock())
        self._server = grpc.server(ThreadPoolExecutor(max_workers=max_workers))
        dapr_pb2_grpc.add_DaprServicer_to_server(self, self._server)
        self.grpc_port = 0
        self._http: _HealthServer | None = None
        self._http_thread: threading.Thread | None = None
        self._stream_ids = itertools.count(1)
        self._etags = itertools.count(1)
        self._started = False
        self._streams: dict[int, _Stream] = {}
        self._generation = 0  # bumped by reset(); streams of older generations are ignored
        self._init_state()

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> FakeDaprSidecar:
        self.grpc_port = self._server.add_insecure_port(f"{HOST}:0")
        if not self.grpc_port:
            raise RuntimeError("could not bind the fake Dapr gRPC server")
        self._server.start()
        self._http = _HealthServer(self)
        self._http_thread = threading.Thread(
            target=self._http.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-dapr-health",
            daemon=True,
        )
        self._http_thread.start()
        self._started = True
        return self

    def stop(self) -> None:
        self.close_streams(grpc.StatusCode.CANCELLED)
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            self._http = None
        self._server.stop(grace=None)
        self._started = False

    def __enter__(self) -> FakeDaprSidecar:
        return self.start() if not self._started else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def http_port(self) -> int:
        if self._http is None:
            raise RuntimeError("fake sidecar not started")
        return int(self._http.server_address[1])

    @property
    def grpc_address(self) -> str:
        return f"{HOST}:{self.grpc_port}"

    def env(self, *, health_timeout: int = 3) -> dict[str, str]:
        """Environment variables that point the Dapr SDK at this sidecar.

        ``DAPR_API_MAX_RETRIES=0`` keeps the SDK from sleeping between retries of failed calls.
        Also clear ``DAPR_GRPC_ENDPOINT``/``DAPR_HTTP_ENDPOINT``/``DAPR_API_TOKEN``
        (see :data:`SDK_ENV_TO_CLEAR`): the endpoints win over host and port.
        """
        return {
            "DAPR_RUNTIME_HOST": HOST,
            "DAPR_GRPC_PORT": str(self.grpc_port),
            "DAPR_HTTP_PORT": str(self.http_port),
            "DAPR_HEALTH_TIMEOUT": str(health_timeout),
            "DAPR_API_MAX_RETRIES": "0",
        }

    def _init_state(self) -> None:
        # Behaviour knobs (tests may change them; reset() restores these defaults).
        self.app_id = "fake-app"  # CloudEvent source of delivered messages
        self.route_publishes = True  # PublishEvent feeds streaming subscribers of the topic
        self.redeliver_on_retry = True
        self.max_redeliveries = 3  # then RETRY counts as DROP (dead-letter topic if any)
        self.redelivery_delay = 0.0  # seconds before a RETRY is redelivered
        self.first_write_conflict_code = grpc.StatusCode.INTERNAL  # redis/postgres answer
        # The scheduler deletes a missing job without error; set NOT_FOUND to test that path.
        self.missing_job_delete_code: grpc.StatusCode | None = None
        self.healthy = True
        self.grpc_down = False
        self.health_checks = 0
        self.calls: list[RpcCall] = []
        self.publishes: list[PublishRecord] = []
        self.state_saves: list[StateSaveRecord] = []
        self.state_gets: list[StateGetRecord] = []
        self.state_deletes: list[StateDeleteRecord] = []
        self.scheduled_jobs: list[JobRecord] = []
        self.deleted_jobs: list[JobDeleteRecord] = []
        self.subscriptions: list[SubscriptionRecord] = []
        self.deliveries: list[DeliveryRecord] = []
        self.responses: list[ResponseRecord] = []
        self._store: dict[tuple[str, str], _StateEntry] = {}
        self._jobs: dict[str, JobRecord] = {}
        self._failures: list[_Failure] = []
        self._backlog: deque[_Message] = deque()

    def reset(self) -> None:
        """Forget records, state, jobs, backlog and failures; end open streams (CANCELLED, so
        the SDK does not reconnect them); restore default settings; come back up."""
        with self._cond:
            for stream in self._streams.values():
                stream.kill_code = grpc.StatusCode.CANCELLED
                stream.inflight.clear()
            self._generation += 1
            self._init_state()
            self._cond.notify_all()

    # -- fault injection ----------------------------------------------------------------------

    def fail(
        self,
        method_name_or_kind: str,
        code: grpc.StatusCode = grpc.StatusCode.UNAVAILABLE,
        times: int | None = None,
        message: str | None = None,
    ) -> None:
        """Make matching RPCs abort with ``code``; ``times=None`` until :meth:`heal`.

        ``method_name_or_kind``: an RPC name (``"PublishEvent"``, ``"ScheduleJob"``...), a kind
        from :data:`KINDS` (``"publish"``, ``"state"``, ``"jobs"``...) or ``"*"`` for all.
        """
        if method_name_or_kind == _ALL:
            methods = frozenset({_ALL})
        elif method_name_or_kind in KINDS:
            methods = KINDS[method_name_or_kind]
        elif hasattr(dapr_pb2_grpc.DaprServicer, method_name_or_kind):
            methods = frozenset({method_name_or_kind})
        else:
            raise ValueError(f"unknown RPC or kind {method_name_or_kind!r}")
        if times is not None and times < 1:
            raise ValueError("times must be >= 1 or None")
        with self._cond:
            self._failures.append(
                _Failure(
                    methods=methods,
                    code=code,
                    message=message or f"fake dapr: injected {code.name}",
                    remaining=times,
                )
            )

    def heal(self, method_name_or_kind: str | None = None) -> None:
        """Remove all injected failures, or those naming this RPC/kind."""
        with self._cond:
            if method_name_or_kind is None:
                self._failures.clear()
                return
            names = KINDS.get(method_name_or_kind, frozenset({method_name_or_kind}))
            self._failures = [f for f in self._failures if not (f.methods & names)]

    def down(self, *, grpc_too: bool = True) -> None:
        """Health endpoints answer 500; with ``grpc_too`` every RPC answers UNAVAILABLE and open
        subscription streams break with UNAVAILABLE (the SDK then tries to reconnect)."""
        with self._cond:
            self.healthy = False
            self.grpc_down = grpc_too
            self._cond.notify_all()

    def up(self) -> None:
        with self._cond:
            self.healthy = True
            self.grpc_down = False
            self._cond.notify_all()

    def close_streams(self, code: grpc.StatusCode = grpc.StatusCode.UNAVAILABLE) -> None:
        """End every open subscription stream with ``code`` (UNAVAILABLE/INTERNAL/UNKNOWN make
        the SDK reconnect, CANCELLED ends its iteration)."""
        with self._cond:
            for stream in self._streams.values():
                stream.kill_code = code
            self._cond.notify_all()

    def _note_health_check(self) -> None:
        with self._cond:
            self.health_checks += 1

    def _begin(self, method: str, context: grpc.ServicerContext) -> int:
        """Log the call (returns its index in :attr:`calls`) and abort it if a failure was
        injected for it."""
        with self._cond:
            failure: tuple[grpc.StatusCode, str] | None = None
            if self.grpc_down:
                failure = (grpc.StatusCode.UNAVAILABLE, "fake dapr: sidecar is down")
            else:
                for rule in self._failures:
                    if _ALL in rule.methods or method in rule.methods:
                        failure = (rule.code, rule.message)
                        if rule.remaining is not None:
                            rule.remaining -= 1
                            if rule.remaining <= 0:
                                self._failures.remove(rule)
                        break
            self.calls.append(
                RpcCall(method, failure[0].name if failure else None, injected=bool(failure))
            )
            index = len(self.calls) - 1
        if failure is not None:
            context.abort(*failure)
        return index

    def _semantic_error(
        self, call: int, context: grpc.ServicerContext, code: grpc.StatusCode, message: str
    ) -> None:
        """Abort with the error a real sidecar would give, noting it on the call log."""
        with self._cond:
            if call < len(self.calls):
                self.calls[call] = replace(self.calls[call], error=code.name)
        context.abort(code, message)

    # -- waiting helpers ----------------------------------------------------------------------

    def wait_for(
        self, predicate: Callable[[], T | None], timeout: float = 5.0, what: str = ""
    ) -> T:
        """Wait until ``predicate()`` (evaluated under the sidecar's lock) is truthy."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                result = predicate()
                if result:
                    return result
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"fake dapr: timed out after {timeout}s waiting for {what}")
                self._cond.wait(remaining)

    def wait_for_response(self, event_id: str, timeout: float = 5.0, *, nth: int = 1) -> str:
        """Status ("SUCCESS"/"RETRY"/"DROP") of the ``nth`` answer the app gave to ``event_id``."""

        def found() -> str | None:
            matching = [r for r in self.responses if r.event_id == event_id]
            return matching[nth - 1].status if len(matching) >= nth else None

        return self.wait_for(found, timeout, f"response #{nth} to event {event_id!r}")

    def wait_for_subscriber(self, topic: str, timeout: float = 5.0) -> SubscriptionRecord:
        def found() -> SubscriptionRecord | None:
            return next((s for s in self.subscriptions if s.topic == topic and s.active), None)

        return self.wait_for(found, timeout, f"a subscriber on {topic!r}")

    def wait_for_publish(self, topic: str, timeout: float = 5.0, *, nth: int = 1) -> PublishRecord:
        def found() -> PublishRecord | None:
            matching = [p for p in self.publishes if p.topic == topic]
            return matching[nth - 1] if len(matching) >= nth else None

        return self.wait_for(found, timeout, f"publish #{nth} to {topic!r}")

    def wait_for_streams_closed(self, timeout: float = 5.0) -> None:
        self.wait_for(lambda: not self._streams, timeout, "all subscription streams to close")

    # -- convenient views ---------------------------------------------------------------------

    @property
    def jobs(self) -> dict[str, JobRecord]:
        """Currently scheduled jobs by name."""
        with self._cond:
            return dict(self._jobs)

    def state(self, key: str, store: str | None = None) -> bytes | None:
        """The live value of ``key`` (in any store unless ``store`` is given)."""
        with self._cond:
            for (s, k), entry in list(self._store.items()):
                if k == key and (store is None or s == store) and self._alive(s, k):
                    return entry.value
        return None

    def put_state(
        self, key: str, value: bytes, *, store: str = "statestore", ttl: float | None = None
    ) -> None:
        """Seed the store directly (no RPC, no record)."""
        with self._cond:
            expires = time.monotonic() + ttl if ttl else None
            self._store[(store, key)] = _StateEntry(value, next(self._etags), expires)

    def expire_state(self, key: str, store: str | None = None) -> None:
        """Make ``key`` expire now, as if its TTL had elapsed."""
        with self._cond:
            for s, k in list(self._store):
                if k == key and (store is None or s == store):
                    del self._store[(s, k)]

    # -- pub/sub: publishing --------------------------------------------------------------------

    def deliver(
        self,
        topic: str,
        data: Mapping[str, Any] | list[Any] | bytes | str,
        event_id: str | None = None,
        metadata: Mapping[str, str] | None = None,
        *,
        pubsub_name: str | None = None,
        data_content_type: str | None = None,
        source: str | None = None,
        event_type: str = "com.dapr.event.sent",
        extensions: Mapping[str, Any] | None = None,
    ) -> str:
        """Queue a message for the subscriber of ``topic`` as the runtime would, return its id.

        ``data``: dict/list (JSON, ``application/json``), bytes (``application/json`` unless
        told otherwise) or str (``text/plain``). ``metadata`` is publish metadata:
        ``cloudevent.id/type/source`` override envelope fields, the rest is kept on the
        message. ``pubsub_name=None`` lets any pubsub's subscriber on the topic take it.
        """
        if isinstance(data, bytes):
            raw, default_ct = data, "application/json"
        elif isinstance(data, str):
            raw, default_ct = data.encode(), "text/plain"
        else:
            raw, default_ct = json.dumps(data).encode(), "application/json"
        meta = dict(metadata or {})
        message = _Message(
            event_id=meta.get("cloudevent.id") or event_id or str(uuid.uuid4()),
            topic=topic,
            pubsub_name=pubsub_name,
            data=raw,
            data_content_type=data_content_type or default_ct,
            source=meta.get("cloudevent.source") or source or self.app_id,
            type=meta.get("cloudevent.type") or event_type,
            spec_version="1.0",
            extensions={
                "time": _now_rfc3339(),
                "traceparent": f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-01",
                **(extensions or {}),
            },
            metadata=meta,
        )
        with self._cond:
            self._backlog.append(message)
            self._cond.notify_all()
        return message.event_id

    def _route_publish(self, record: PublishRecord) -> None:
        if not self.route_publishes:
            return
        self.deliver(
            record.topic,
            record.data,
            record.event_id,
            record.metadata,
            pubsub_name=record.pubsub_name,
            data_content_type=record.data_content_type or "text/plain",
        )

    def PublishEvent(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._begin("PublishEvent", context)
        metadata = dict(request.metadata)
        record = PublishRecord(
            pubsub_name=request.pubsub_name,
            topic=request.topic,
            data=bytes(request.data),
            data_content_type=request.data_content_type,
            metadata=metadata,
            event_id=metadata.get("cloudevent.id") or str(uuid.uuid4()),
        )
        with self._cond:
            self.publishes.append(record)
            self._route_publish(record)
            self._cond.notify_all()
        return empty_pb2.Empty()

    def _bulk_publish(self, method: str, request: Any, context: grpc.ServicerContext) -> Any:
        self._begin(method, context)
        with self._cond:
            for entry in request.entries:
                metadata = {**dict(request.metadata), **dict(entry.metadata)}
                record = PublishRecord(
                    pubsub_name=request.pubsub_name,
                    topic=request.topic,
                    data=bytes(entry.event),
                    data_content_type=entry.content_type,
                    metadata=metadata,
                    rpc=method,
                    event_id=metadata.get("cloudevent.id") or str(uuid.uuid4()),
                )
                self.publishes.append(record)
                self._route_publish(record)
            self._cond.notify_all()
        return api_v1.BulkPublishResponse()

    def BulkPublishEvent(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self._bulk_publish("BulkPublishEvent", request, context)

    def BulkPublishEventAlpha1(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self._bulk_publish("BulkPublishEventAlpha1", request, context)

    # -- pub/sub: streaming subscriptions -------------------------------------------------------

    def SubscribeTopicEventsAlpha1(
        self, request_iterator: Iterator[Any], context: grpc.ServicerContext
    ) -> Iterator[Any]:
        self._begin("SubscribeTopicEventsAlpha1", context)
        try:
            first = next(request_iterator)
        except StopIteration:
            return
        if not first.HasField("initial_request"):
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "initial request is required")
        initial = first.initial_request
        if not initial.pubsub_name or not initial.topic:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "pubsubName and topic are required")
        record = SubscriptionRecord(
            stream_id=next(self._stream_ids),
            pubsub_name=initial.pubsub_name,
            topic=initial.topic,
            dead_letter_topic=initial.dead_letter_topic or None,
            metadata=dict(initial.metadata),
        )
        stream = _Stream(record, self._generation)
        with self._cond:
            self.subscriptions.append(record)
            self._streams[record.stream_id] = stream
            self._cond.notify_all()
        reader = threading.Thread(
            target=self._read_acks,
            args=(stream, request_iterator),
            name=f"fake-dapr-acks-{record.stream_id}",
            daemon=True,
        )
        reader.start()
        kill: grpc.StatusCode | None = None
        try:
            yield api_v1.SubscribeTopicEventsResponseAlpha1(
                initial_response=api_v1.SubscribeTopicEventsResponseInitialAlpha1()
            )
            while True:
                message = None
                with self._cond:
                    while message is None:
                        if stream.kill_code is not None:
                            kill = stream.kill_code
                            break
                        if self.grpc_down:
                            kill = grpc.StatusCode.UNAVAILABLE
                            break
                        if stream.closed or not context.is_active():
                            return
                        message = self._take_message(stream)
                        if message is None:
                            self._cond.wait(0.1)
                if kill is not None or message is None:
                    break
                yield api_v1.SubscribeTopicEventsResponseAlpha1(
                    event_message=message.to_proto(record.pubsub_name)
                )
        finally:
            self._close_stream(stream)
        if kill is not None:
            context.abort(kill, f"fake dapr: stream closed ({kill.name})")

    def _take_message(self, stream: _Stream) -> _Message | None:
        record = stream.record
        for message in self._backlog:
            if message.topic == record.topic and message.pubsub_name in (
                None,
                record.pubsub_name,
            ):
                self._backlog.remove(message)
                stream.inflight[message.event_id] = message
                self.deliveries.append(
                    DeliveryRecord(
                        event_id=message.event_id,
                        topic=message.topic,
                        pubsub_name=record.pubsub_name,
                        attempt=message.attempt,
                        stream_id=record.stream_id,
                    )
                )
                self._cond.notify_all()
                return message
        return None

    def _read_acks(self, stream: _Stream, request_iterator: Iterator[Any]) -> None:
        try:
            for request in request_iterator:
                if request.HasField("event_processed"):
                    processed = request.event_processed
                    self._on_processed(stream, processed.id, processed.status.status)
        except Exception:  # the client cancelled or the stream broke
            pass
        finally:
            with self._cond:
                stream.closed = True
                self._cond.notify_all()

    def _on_processed(self, stream: _Stream, event_id: str, status_value: int) -> None:
        status = STATUS_NAMES.get(status_value, f"UNKNOWN({status_value})")
        with self._cond:
            if stream.generation != self._generation:
                return  # an answer on a stream from before reset()
            message = stream.inflight.pop(event_id, None)
            record = stream.record
            if message is not None:
                if status == "RETRY":
                    if self.redeliver_on_retry and message.attempt < self.max_redeliveries:
                        self._requeue(replace(message, attempt=message.attempt + 1))
                    else:
                        self._dead_letter(record, message)
                elif status == "DROP":
                    self._dead_letter(record, message)
            self.responses.append(
                ResponseRecord(
                    event_id=event_id,
                    status=status,
                    topic=record.topic,
                    pubsub_name=record.pubsub_name,
                    attempt=message.attempt if message is not None else -1,
                    stream_id=record.stream_id,
                )
            )
            self._cond.notify_all()

    def _requeue(self, message: _Message) -> None:
        if self.redelivery_delay > 0:

            def later() -> None:
                with self._cond:
                    self._backlog.appendleft(message)
                    self._cond.notify_all()

            timer = threading.Timer(self.redelivery_delay, later)
            timer.daemon = True
            timer.start()
        else:
            self._backlog.appendleft(message)

    def _dead_letter(self, subscription: SubscriptionRecord, message: _Message) -> None:
        """DROP (or RETRY past the limit): the runtime publishes the message to the
        subscription's dead-letter topic if it has one, else it is gone."""
        dlq = subscription.dead_letter_topic
        if not dlq:
            return
        record = PublishRecord(
            pubsub_name=subscription.pubsub_name,
            topic=dlq,
            data=message.data,
            data_content_type=message.data_content_type,
            metadata={},
            rpc="deadletter",
            event_id=message.event_id,
        )
        self.publishes.append(record)
        self._backlog.append(
            replace(message, topic=dlq, pubsub_name=subscription.pubsub_name, attempt=0)
        )

    def _close_stream(self, stream: _Stream) -> None:
        with self._cond:
            stream.closed = True
            stream.record.active = False
            self._streams.pop(stream.record.stream_id, None)
            self._cond.notify_all()
            if stream.generation != self._generation:
                return
            # Unacknowledged messages go back to the broker for the next subscriber.
            for message in reversed(list(stream.inflight.values())):
                self._backlog.appendleft(replace(message, attempt=message.attempt + 1))
            stream.inflight.clear()
            self._cond.notify_all()

    # -- state ----------------------------------------------------------------------------------

    def _alive(self, store: str, key: str) -> bool:
        entry = self._store.get((store, key))
        if entry is None:
            return False
        if entry.expires_at is not None and entry.expires_at <= time.monotonic():
            del self._store[(store, key)]
            return False
        return True

    def GetState(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._begin("GetState", context)
        with self._cond:
            found = self._alive(request.store_name, request.key)
            self.state_gets.append(
                StateGetRecord(request.store_name, request.key, dict(request.metadata), found)
            )
            self._cond.notify_all()
            if not found:
                return api_v1.GetStateResponse()
            entry = self._store[(request.store_name, request.key)]
            return api_v1.GetStateResponse(data=entry.value, etag=str(entry.etag))

    def GetBulkState(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._begin("GetBulkState", context)
        items = []
        with self._cond:
            for key in request.keys:
                found = self._alive(request.store_name, key)
                self.state_gets.append(
                    StateGetRecord(request.store_name, key, dict(request.metadata), found)
                )
                if found:
                    entry = self._store[(request.store_name, key)]
                    items.append(
                        api_v1.BulkStateItem(key=key, data=entry.value, etag=str(entry.etag))
                    )
                else:
                    items.append(api_v1.BulkStateItem(key=key))
            self._cond.notify_all()
        return api_v1.GetBulkStateResponse(items=items)

    def _save_item(self, store: str, item: Any, rpc: str) -> tuple[grpc.StatusCode, str] | None:
        """Apply one StateItem; returns the error (code, message) a real store would give."""
        etag = item.etag.value if item.HasField("etag") else None
        concurrency = _CONCURRENCY.get(item.options.concurrency, str(item.options.concurrency))
        consistency = _CONSISTENCY.get(item.options.consistency, str(item.options.consistency))
        metadata = dict(item.metadata)
        exists = self._alive(store, item.key)
        error: tuple[grpc.StatusCode, str] | None = None
        if etag is not None and etag != "":
            if not exists or str(self._store[(store, item.key)].etag) != etag:
                error = (
                    grpc.StatusCode.ABORTED,
                    f"failed saving state in state store {store}: possible etag mismatch. "
                    f"error from state store: key {item.key}",
                )
        elif concurrency == "first_write" and exists:
            error = (
                self.first_write_conflict_code,
                f"failed saving state in state store {store}: failed to set key {item.key}",
            )
        self.state_saves.append(
            StateSaveRecord(
                store=store,
                key=item.key,
                value=bytes(item.value),
                etag=etag,
                concurrency=concurrency,
                consistency=consistency,
                metadata=metadata,
                rpc=rpc,
                error=error[0].name if error else None,
            )
        )
        if error is None:
            ttl = metadata.get("ttlInSeconds")
            expires = time.monotonic() + int(ttl) if ttl and int(ttl) > 0 else None
            self._store[(store, item.key)] = _StateEntry(
                bytes(item.value), next(self._etags), expires
            )
        return error

    def SaveState(self, request: Any, context: grpc.ServicerContext) -> Any:
        call = self._begin("SaveState", context)
        error = None
        with self._cond:
            for item in request.states:
                error = self._save_item(request.store_name, item, "SaveState")
                if error:
                    break
            self._cond.notify_all()
        if error:
            self._semantic_error(call, context, *error)
        return empty_pb2.Empty()

    def _delete_item(
        self, store: str, key: str, etag: str | None, metadata: dict[str, str]
    ) -> tuple[grpc.StatusCode, str] | None:
        exists = self._alive(store, key)
        error = None
        if etag and (not exists or str(self._store[(store, key)].etag) != etag):
            error = (
                grpc.StatusCode.ABORTED,
                f"failed deleting state with key {key}: possible etag mismatch",
            )
        self.state_deletes.append(
            StateDeleteRecord(store, key, etag, metadata, exists, error[0].name if error else None)
        )
        if error is None:
            self._store.pop((store, key), None)
        return error

    def DeleteState(self, request: Any, context: grpc.ServicerContext) -> Any:
        call = self._begin("DeleteState", context)
        etag = request.etag.value if request.HasField("etag") else None
        with self._cond:
            error = self._delete_item(request.store_name, request.key, etag, dict(request.metadata))
            self._cond.notify_all()
        if error:
            self._semantic_error(call, context, *error)
        return empty_pb2.Empty()

    def ExecuteStateTransaction(self, request: Any, context: grpc.ServicerContext) -> Any:
        """Upserts/deletes recorded in state_saves/state_deletes (not atomic across items)."""
        call = self._begin("ExecuteStateTransaction", context)
        error = None
        with self._cond:
            for op in request.operations:
                item = op.request
                if op.operationType == "delete":
                    etag = item.etag.value if item.HasField("etag") else None
                    error = self._delete_item(
                        request.storeName, item.key, etag, dict(item.metadata)
                    )
                else:
                    error = self._save_item(request.storeName, item, "ExecuteStateTransaction")
                if error:
                    break
            self._cond.notify_all()
        if error:
            self._semantic_error(call, context, *error)
        return empty_pb2.Empty()

    # -- jobs -----------------------------------------------------------------------------------

    def _schedule(self, method: str, request: Any, context: grpc.ServicerContext) -> Any:
        call = self._begin(method, context)
        job = request.job
        if not job.name:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "job name is empty")
        if not job.HasField("schedule") and not job.HasField("due_time"):
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "job schedule or due_time is required")
        data_bytes = bytes(job.data.value) if job.HasField("data") else b""
        policy = None
        if job.HasField("failure_policy"):
            policy = job.failure_policy.WhichOneof("policy")
        with self._cond:
            exists = job.name in self._jobs
            error = None
            if exists and not request.overwrite:
                error = (
                    grpc.StatusCode.INTERNAL,
                    f"failed to schedule job {job.name}: job already exists",
                )
            record = JobRecord(
                name=job.name,
                due_time=job.due_time if job.HasField("due_time") else None,
                schedule=job.schedule if job.HasField("schedule") else None,
                repeats=job.repeats if job.HasField("repeats") else None,
                ttl=job.ttl if job.HasField("ttl") else None,
                data_bytes=data_bytes,
                data=_decode_json(data_bytes),
                data_type_url=job.data.type_url if job.HasField("data") else "",
                overwrite=request.overwrite,
                failure_policy=policy,
                rpc=method,
                error=error[0].name if error else None,
            )
            self.scheduled_jobs.append(record)
            if error is None:
                self._jobs[job.name] = record
            self._cond.notify_all()
        if error:
            self._semantic_error(call, context, *error)
        return api_v1.ScheduleJobResponse()

    def ScheduleJob(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self._schedule("ScheduleJob", request, context)

    def ScheduleJobAlpha1(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self._schedule("ScheduleJobAlpha1", request, context)

    def _get_job(self, method: str, request: Any, context: grpc.ServicerContext) -> Any:
        call = self._begin(method, context)
        with self._cond:
            record = self._jobs.get(request.name)
        job = api_v1.Job(name=request.name)
        if record is None:
            self._semantic_error(
                call, context, grpc.StatusCode.NOT_FOUND, f"job not found: {request.name}"
            )
            return api_v1.GetJobResponse(job=job)  # not reached: abort raises
        for attr in ("due_time", "schedule", "repeats", "ttl"):
            value = getattr(record, attr)
            if value is not None:
                setattr(job, attr, value)
        job.data.value = record.data_bytes
        job.data.type_url = record.data_type_url
        return api_v1.GetJobResponse(job=job)

    def GetJob(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self._get_job("GetJob", request, context)

    def GetJobAlpha1(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self._get_job("GetJobAlpha1", request, context)

    def _delete_job(self, method: str, request: Any, context: grpc.ServicerContext) -> Any:
        call = self._begin(method, context)
        with self._cond:
            existed = self._jobs.pop(request.name, None) is not None
            code = None if existed else self.missing_job_delete_code
            self.deleted_jobs.append(
                JobDeleteRecord(request.name, existed, method, code.name if code else None)
            )
            self._cond.notify_all()
        if code is not None:
            self._semantic_error(call, context, code, f"job not found: {request.name}")
        return api_v1.DeleteJobResponse()

    def DeleteJob(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self._delete_job("DeleteJob", request, context)

    def DeleteJobAlpha1(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self._delete_job("DeleteJobAlpha1", request, context)


# Environment variables that would override env()'s host/port settings (or add auth).
SDK_ENV_TO_CLEAR: tuple[str, ...] = ("DAPR_GRPC_ENDPOINT", "DAPR_HTTP_ENDPOINT", "DAPR_API_TOKEN")


def no_proxy_value(current: str | None) -> str:
    """``current`` NO_PROXY list plus the loopback names (urllib and gRPC honour *_proxy)."""
    parts = [p for p in (current or "").split(",") if p.strip()]
    for host in (HOST, "localhost"):
        if host not in parts:
            parts.append(host)
    return ",".join(parts)


def sdk_settings_pins() -> Iterable[str]:
    """Names of ``DAPR_*`` values pinned on ``dapr.conf.settings`` (they beat the env)."""
    from dapr.conf import settings

    return [name for name in vars(settings) if name.startswith("DAPR_")]
