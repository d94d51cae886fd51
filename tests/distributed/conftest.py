"""The real-runtime tier: one distributed topology (Kafka, the Dapr scheduler, daprd for
todo-web and todo-worker with the project's dapr/ files, web, worker, Redis, PostgreSQL)
for the whole session, plus the tools to read the evidence where it lives.

Skips with one line when the runtime is not built (``make dapr-runtime``); under CI=true
it fails instead. PostgreSQL and Redis come from the machine (``.ci/services.sh``).
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import skip_or_fail
from tests.distributed.topology import (
    WEB_APP_ID,
    WORKER_APP_ID,
    ZIPKIN_PORT,
    Topology,
    runtime_paths,
    scratch_database,
    tempdir,
    wait_until,
)

SERVER_URL = os.environ.get("DAPR_TIER_POSTGRES", "postgres://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("DAPR_TIER_REDIS", "redis://127.0.0.1:6379/0")
PASSWORD = "a long tier password"


_MISSING = runtime_paths().missing()
_IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
if _MISSING and not _IN_CI:
    # Off CI without the runtime: the tier is left out as a whole, said once in the header.
    collect_ignore_glob = ["test_*.py"]


def pytest_report_header() -> str | None:
    if _MISSING and not _IN_CI:
        return f"real Dapr runtime tier skipped: {_MISSING}"
    return None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.dapr_runtime)


class ZipkinCollector:
    """A Zipkin-compatible span endpoint (POST /api/v2/spans, JSON v2) that keeps spans."""

    def __init__(self, port: int = ZIPKIN_PORT) -> None:
        self.spans: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with contextlib.suppress(ValueError), collector.lock:
                    collector.spans.extend(json.loads(body or b"[]"))
                self.send_response(202)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> ZipkinCollector:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def for_trace(self, trace_id: str) -> list[dict[str, Any]]:
        with self.lock:
            return [span for span in self.spans if span.get("traceId") == trace_id]


@pytest.fixture(scope="session")
def zipkin() -> Iterator[ZipkinCollector]:
    try:
        collector = ZipkinCollector().start()
    except OSError as err:
        pytest.fail(f"port {ZIPKIN_PORT} (dapr/config.yaml's Zipkin endpoint) is taken: {err}")
    yield collector
    collector.stop()


@pytest.fixture(scope="session")
def topology(zipkin: ZipkinCollector) -> Iterator[Topology]:
    paths = runtime_paths()
    if reason := paths.missing():
        skip_or_fail(f"real Dapr runtime tier: {reason}")
    try:
        import psycopg

        psycopg.connect(SERVER_URL, connect_timeout=3).close()
    except Exception as err:
        skip_or_fail(f"real Dapr runtime tier: PostgreSQL at {SERVER_URL} is down ({err})")
    name = f"todo_dapr_tier_{os.getpid()}"
    with scratch_database(SERVER_URL, name) as database_url:
        workdir = tempdir("todo-dapr-tier-")
        topo = Topology(
            workdir=workdir,
            database_url=database_url,
            redis_url=REDIS_URL,
            app_env={
                "HANDLER_MAX_ATTEMPTS": "3",
                "DEDUP_TTL_SECONDS": "3600",
                "REMINDER_JOB_RETRY_SECONDS": "2",
                "OUTBOX_POLL_SECONDS": "1",
                # Every tier user signs in from 127.0.0.1 (the limits are tested in
                # tests/accounts).
                "RATE_LIMIT_CREDENTIALS": "1000/minute",
                "RATE_LIMIT_SIGNUPS": "1000/hour",
                # Webhooks reach the tests' receiver on 127.0.0.1, and retry quickly.
                "WEBHOOKS_ALLOW_PRIVATE_TARGETS": "true",
                "WEBHOOK_BACKOFF_SECONDS": "1",
                "WEBHOOK_POLL_SECONDS": "1",
            },
        )
        try:
            topo.start()
        except Exception:
            for process in topo.processes():
                print(f"--- {process.name} ---\n{process.tail(60)}")
            topo.stop()
            raise
        try:
            yield topo
        finally:
            topo.stop()
            if os.environ.get("KEEP_DAPR_TIER_LOGS") != "1":
                import shutil

                shutil.rmtree(workdir, ignore_errors=True)
            else:
                print(f"dapr tier logs kept in {topo.logs}")


# -- the database, read directly -------------------------------------------------------------


@dataclass
class Database:
    url: str

    def rows(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            return list(conn.execute(sql, params).fetchall())

    def value(self, sql: str, *params: Any) -> Any:
        rows = self.rows(sql, *params)
        return rows[0][0] if rows else None


@pytest.fixture(scope="session")
def database(topology: Topology) -> Database:
    return Database(topology.database_url)


# -- users and the API ------------------------------------------------------------------------


@dataclass
class TierUser:
    username: str
    id: int
    api: httpx.Client
    base_url: str
    cookies: dict[str, str] = field(default_factory=dict)


def create_user(topology: Topology, database: Database, username: str) -> TierUser:
    topology.manage(
        "shell",
        "-c",
        "from todo_project.accounts.models import User; "
        f"User.objects.create_user({username!r}, password={PASSWORD!r}, timezone='Europe/Berlin')",
    )
    user_id = database.value("SELECT id FROM accounts_user WHERE username = %s", username)
    api = httpx.Client(base_url=f"{topology.web_url}/api", timeout=20)
    token = api.post("/auth/token", json={"username": username, "password": PASSWORD})
    assert token.status_code == 200, token.text
    api.headers["Authorization"] = f"Bearer {token.json()['access']}"
    return TierUser(username=username, id=int(user_id), api=api, base_url=topology.web_url)


@pytest.fixture
def tier_user(topology: Topology, database: Database) -> TierUser:
    return create_user(topology, database, f"u{uuid.uuid4().hex[:10]}")


def browser_session(topology: Topology, username: str) -> dict[str, str]:
    """Log in through the HTML form (CSRF included) and return the session cookies."""
    with httpx.Client(base_url=topology.web_url, timeout=20) as client:
        page = client.get("/accounts/login/")
        csrf = client.cookies["csrftoken"]
        answer = client.post(
            "/accounts/login/",
            data={"username": username, "password": PASSWORD, "csrfmiddlewaretoken": csrf},
            headers={"Referer": f"{topology.web_url}/accounts/login/"},
        )
        assert answer.status_code in {302, 303}, (page.status_code, answer.text[:500])
        return dict(client.cookies.items())


class LiveSocket:
    """A WebSocket on /ws/ in a thread of its own, keeping every frame it receives."""

    def __init__(
        self, topology: Topology, cookies: dict[str, str], view: str | None = None
    ) -> None:
        """`view`: the list query the socket says it shows, as a page does on connect (the
        consumer then places task rows by it: tasks.live); None says nothing (header
        counts only)."""
        self.url = topology.web_url.replace("http://", "ws://") + "/ws/"
        self.view = view
        self.headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}
        self.origin = topology.web_url
        self.frames: list[tuple[float, str]] = []
        self.opened = threading.Event()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        from websockets.sync.client import connect

        with connect(
            self.url, additional_headers=self.headers, origin=self.origin, open_timeout=20
        ) as socket:
            if self.view is not None:
                socket.send(json.dumps({"view": self.view, "rows": []}))
            self.opened.set()
            while not self.stopping.is_set():
                with contextlib.suppress(TimeoutError):
                    frame = socket.recv(timeout=0.2)
                    self.frames.append((time.time(), str(frame)))

    def __enter__(self) -> LiveSocket:
        self.thread.start()
        assert self.opened.wait(20), "the WebSocket did not open"
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self.thread.join(timeout=5)

    def wait_for(self, needle: str, *, timeout: float = 20) -> tuple[float, str]:
        def found() -> tuple[float, str] | None:
            return next(((t, f) for t, f in list(self.frames) if needle in f), None)

        return wait_until(found, timeout=timeout, what=f"a WebSocket frame with {needle!r}")


# -- Kafka, read directly ---------------------------------------------------------------------


@dataclass
class Record:
    topic: str
    partition: int
    offset: int
    key: str | None
    value: bytes
    timestamp_ms: int

    def cloudevent(self) -> dict[str, Any]:
        """The CloudEvent the record holds ({} for anything else, e.g. a poison message)."""
        try:
            value = json.loads(self.value)
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}


class KafkaReader:
    """Reads whole topics from the beginning with a consumer group of its own."""

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap

    def records(self, topic: str, *, idle: float = 1.0, timeout: float = 20) -> list[Record]:
        from confluent_kafka import Consumer, TopicPartition

        consumer = Consumer(
            {
                "bootstrap.servers": self.bootstrap,
                "group.id": f"tier-reader-{uuid.uuid4().hex}",
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
            }
        )
        try:
            metadata = consumer.list_topics(topic, timeout=10)
            partitions = list(metadata.topics[topic].partitions)
            consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
            ends = {
                p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
                for p in partitions
            }
            out: list[Record] = []
            positions = dict.fromkeys(partitions, 0)
            deadline = time.monotonic() + timeout
            while any(positions[p] < ends[p] for p in partitions) and time.monotonic() < deadline:
                message = consumer.poll(idle)
                if message is None or message.error():
                    continue
                positions[message.partition()] = message.offset() + 1
                key = message.key()
                out.append(
                    Record(
                        topic=topic,
                        partition=message.partition(),
                        offset=message.offset(),
                        key=key.decode() if key is not None else None,
                        value=message.value() or b"",
                        timestamp_ms=message.timestamp()[1],
                    )
                )
            return out
        finally:
            consumer.close()

    def wait_for(
        self,
        topic: str,
        predicate: Callable[[Record], bool],
        *,
        count: int = 1,
        timeout: float = 30,
    ) -> list[Record]:
        def matching() -> list[Record] | None:
            found = [r for r in self.records(topic) if predicate(r)]
            return found if len(found) >= count else None

        return wait_until(
            matching, timeout=timeout, what=f"{count} record(s) on {topic}", interval=0.5
        )

    def produce(self, topic: str, value: bytes, *, key: str | None = None) -> None:
        from confluent_kafka import Producer

        producer = Producer({"bootstrap.servers": self.bootstrap})
        producer.produce(topic, value=value, key=key)
        assert producer.flush(10) == 0


@pytest.fixture(scope="session")
def kafka(topology: Topology) -> KafkaReader:
    return KafkaReader(topology.kafka_bootstrap)


def event_ids_of(database: Database, task_id: int, topic: str) -> list[str]:
    rows = database.rows(
        "SELECT event_id::text FROM eventbus_outboxmessage "
        "WHERE topic = %s AND envelope->'payload'->>'task_id' = %s ORDER BY id",
        topic,
        str(task_id),
    )
    return [row[0] for row in rows]


def sidecar_get(topology: Topology, app_id: str, path: str) -> httpx.Response:
    return httpx.get(
        f"{topology.sidecar_url(app_id)}{path}",
        headers={"dapr-api-token": topology.dapr_api_token},
        timeout=10,
    )


__all__ = [
    "WEB_APP_ID",
    "WORKER_APP_ID",
    "Database",
    "KafkaReader",
    "LiveSocket",
    "TierUser",
    "ZipkinCollector",
    "browser_session",
    "create_user",
    "event_ids_of",
    "sidecar_get",
]
