"""Tracing, metrics, secrets and the job route on the real runtime."""

from __future__ import annotations

import json
import secrets

import httpx

from tests.distributed.conftest import (
    Database,
    KafkaReader,
    TierUser,
    ZipkinCollector,
    event_ids_of,
)
from tests.distributed.topology import WEB_APP_ID, WORKER_APP_ID, Topology, wait_until
from todo_project.dapr_secrets import read_secret


def test_one_trace_from_the_request_through_the_cloudevent_to_the_worker_log(
    topology: Topology,
    database: Database,
    kafka: KafkaReader,
    zipkin: ZipkinCollector,
    tier_user: TierUser,
) -> None:
    # Both relays race for a fresh row (the web's wakes on its commit, the worker's on
    # NOTIFY), and the trace is whole either way. With the worker stopped for the request
    # the web's sidecar publishes, so the trace surely crosses both sidecars.
    trace_id = secrets.token_hex(16)
    traceparent = f"00-{trace_id}-{secrets.token_hex(8)}-01"
    topology.worker.stop()
    try:
        created = tier_user.api.post(
            "/todos", json={"title": "traced"}, headers={"traceparent": traceparent}
        )
        assert created.status_code == 201
        (event_id,) = event_ids_of(database, created.json()["id"], "task-events")
        (record,) = kafka.wait_for("task-events", lambda r: r.cloudevent().get("id") == event_id)
    finally:
        topology.start_worker()
    cloudevent = record.cloudevent()
    assert cloudevent["source"] == WEB_APP_ID
    assert cloudevent["traceid"].split("-")[1] == trace_id
    assert cloudevent["traceparent"].split("-")[1] == trace_id

    def worker_lines() -> list[dict[str, object]]:
        lines = []
        for line in topology.worker.log_text().splitlines():
            if event_id in line and line.startswith("{"):
                lines.append(json.loads(line))
        return lines

    lines = wait_until(worker_lines, timeout=20, what="the worker's log line for the event")
    assert {line["trace_id"] for line in lines} == {trace_id}

    def services() -> set[str]:
        return {
            str(span.get("localEndpoint", {}).get("serviceName"))
            for span in zipkin.for_trace(trace_id)
        }

    # daprd batches spans for a few seconds before it exports them.
    wait_until(
        lambda: {WEB_APP_ID, WORKER_APP_ID} <= services(),
        timeout=30,
        what="spans from both sidecars",
        interval=0.5,
    )
    names = {str(span.get("name")) for span in zipkin.for_trace(trace_id)}
    assert "pubsub/task-events" in names  # the worker's sidecar delivering the event


def test_daprd_serves_prometheus_metrics(topology: Topology) -> None:
    for app_id in (WEB_APP_ID, WORKER_APP_ID):
        text = httpx.get(topology.metrics_url(app_id), timeout=10).text
        assert "dapr_runtime_component_loaded" in text
        assert f'app_id="{app_id}"' in text
    worker = httpx.get(topology.metrics_url(WORKER_APP_ID), timeout=10).text
    assert "dapr_component_pubsub_ingress_count" in worker


def test_the_apps_read_the_database_url_through_the_dapr_secrets_api(
    topology: Topology,
) -> None:
    for process in (topology.web, topology.worker):
        assert "DATABASE_URL" not in process.env
        assert process.env["DATABASE_URL_SECRET"] == "database-url"
    env = {
        "DAPR_HTTP_PORT": str(topology.ports.sidecar(WEB_APP_ID)["http"]),
        "DAPR_API_TOKEN": topology.dapr_api_token,
    }
    assert read_secret("localsecretstore", "database-url", environ=env) == topology.database_url
    # The app is up and talking to that database, so the URL did come from the sidecar.
    assert httpx.get(f"{topology.web_url}/readyz", timeout=10).json()["checks"]["database"] == "ok"


def test_job_triggers_are_served_only_on_the_worker_app_channel_with_the_app_token(
    topology: Topology, tier_user: TierUser
) -> None:
    assert httpx.post(f"{topology.web_url}/job/reminder-task-1", timeout=10).status_code == 404
    assert httpx.post(f"{topology.worker_url}/job/reminder-task-1", timeout=10).status_code == 401
    wrong = httpx.post(
        f"{topology.worker_url}/job/reminder-task-1",
        headers={"dapr-api-token": "guess"},
        timeout=10,
    )
    assert wrong.status_code == 401
    right = httpx.post(
        f"{topology.worker_url}/job/reminder-task-1",
        headers={"dapr-api-token": topology.app_api_token},
        content=b"{}",
        timeout=10,
    )
    assert right.status_code == 200
    # The public web app has no route to anything on the app channel but probes.
    assert httpx.get(f"{topology.worker_url}/api/todos", timeout=10).status_code == 404
