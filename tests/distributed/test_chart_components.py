"""The chart's Dapr resources, rendered by helm, loaded by the real daprd.

Each sidecar of the chart (todo-web, todo-worker) starts with exactly the Components,
Configuration and Resiliency `helm template` gives, against the tier's Kafka, Redis and
PostgreSQL. Kubernetes' built-in `kubernetes` secret store is stood in for by a local file
store of the same name holding the Secrets the chart renders, with the same names and keys.
Each component must initialise, a publish must reach Kafka, and a state write must go
through; the scopes must hold (the web sidecar has no state store)."""

from __future__ import annotations

import base64
import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.conftest import skip_or_fail
from tests.distributed.conftest import KafkaReader
from tests.distributed.topology import (
    WEB_APP_ID,
    WORKER_APP_ID,
    Process,
    Topology,
    free_port,
    tempdir,
    wait_until,
)
from tests.helm import chart

API_TOKEN = "chart-sidecar-token"
#: A Secret of the namespace the apps have no business reading (the Configuration's
#: secret scopes must deny it).
DECOY_SECRET = "someone-elses-secret"


@dataclass
class Sidecar:
    app_id: str
    process: Process
    http_port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def call(self, method: str, path: str, **kw: Any) -> httpx.Response:
        return httpx.request(
            method, self.url + path, headers={"dapr-api-token": API_TOKEN}, timeout=15, **kw
        )

    def metadata(self) -> dict[str, Any]:
        answer: dict[str, Any] = self.call("GET", "/v1.0/metadata").json()
        return answer


def render_dapr_resources(topology: Topology, *extra: str) -> chart.Rendered:
    redis = topology.redis_url.split("//", 1)[1].split("/", 1)[0]
    return chart.render_args(
        "-f", str(chart.SCENARIO_DIR / "default.yaml"),
        "--set", f"dapr.pubsub.brokers={topology.kafka_bootstrap}",
        "--set", f"dapr.statestore.redis.host={redis}",
        "--set", f"secrets.databaseUrl={topology.database_url}",
        *extra,
    )  # fmt: skip


def write_resources(rendered: chart.Rendered, folder: Path) -> Path:
    """The chart's Dapr objects as files daprd reads, plus the secret store stand-in;
    returns the Configuration file."""
    resources = folder / "resources"
    resources.mkdir(parents=True)
    secrets = {
        secret["metadata"]["name"]: {
            key: base64.b64decode(value).decode() for key, value in secret["data"].items()
        }
        for secret in rendered.all("Secret")
    }
    secrets[DECOY_SECRET] = {"password": "not for todo"}
    secrets_file = folder / "kubernetes-secrets.json"
    secrets_file.write_text(json.dumps(secrets))
    stand_in = {
        "apiVersion": "dapr.io/v1alpha1",
        "kind": "Component",
        "metadata": {"name": rendered.values["dapr"]["secretStore"]["name"]},
        "spec": {
            "type": "secretstores.local.file",
            "version": "v1",
            "metadata": [
                {"name": "secretsFile", "value": str(secrets_file)},
                {"name": "multiValued", "value": "true"},
            ],
        },
    }
    docs = [*rendered.all("Component"), *rendered.all("Resiliency"), stand_in]
    for doc in docs:
        path = resources / f"{doc['kind'].lower()}-{doc['metadata']['name']}.yaml"
        path.write_text(yaml.safe_dump(doc))
    config = folder / "configuration.yaml"
    config.write_text(yaml.safe_dump(rendered.one("Configuration")))
    return config


def start_sidecar(topology: Topology, app_id: str, folder: Path, config: Path) -> Sidecar:
    ports = {name: free_port() for name in ("http", "grpc", "internal", "metrics")}
    argv = [
        str(topology.paths.daprd),
        f"--app-id={app_id}",
        f"--dapr-http-port={ports['http']}",
        f"--dapr-grpc-port={ports['grpc']}",
        f"--dapr-internal-grpc-port={ports['internal']}",
        f"--metrics-port={ports['metrics']}",
        f"--resources-path={folder / 'resources'}",
        f"--config={config}",
        f"--scheduler-host-address=127.0.0.1:{topology.ports.scheduler}",
        "--placement-host-address=",
        "--dapr-listen-addresses=127.0.0.1",
        "--log-level=info",
    ]
    env = {**os.environ, "DAPR_API_TOKEN": API_TOKEN}
    process = Process(f"chart-{app_id}", argv, env=env, cwd=folder, log_dir=folder).start()
    sidecar = Sidecar(app_id, process, ports["http"])

    def healthy() -> bool:
        process.check_alive()
        try:
            return sidecar.call("GET", "/v1.0/healthz").status_code == 204
        except httpx.HTTPError:
            return False

    try:
        wait_until(healthy, timeout=60, what=f"daprd {app_id} with the chart's resources")
    except Exception:
        print(process.tail(80))
        process.stop()
        raise
    return sidecar


@pytest.fixture(params=["redis", "postgresql"])
def chart_sidecars(
    request: pytest.FixtureRequest, topology: Topology
) -> Iterator[tuple[chart.Rendered, dict[str, Sidecar]]]:
    if missing := chart.missing_tools():
        skip_or_fail("chart tools missing: " + "; ".join(missing) + " (make chart-tools)")
    rendered = render_dapr_resources(topology, "--set", f"dapr.statestore.type={request.param}")
    folder = tempdir(f"todo-chart-{request.param}-")
    config = write_resources(rendered, folder)
    sidecars: dict[str, Sidecar] = {}
    try:
        for app_id in (WEB_APP_ID, WORKER_APP_ID):
            sidecars[app_id] = start_sidecar(topology, app_id, folder, config)
        yield rendered, sidecars
    finally:
        for sidecar in sidecars.values():
            sidecar.process.stop()


def loaded_components(sidecar: Sidecar) -> dict[str, str]:
    return {c["name"]: c["type"] for c in sidecar.metadata().get("components", [])}


def test_each_sidecar_loads_the_components_scoped_to_it_and_the_resiliency(
    chart_sidecars: tuple[chart.Rendered, dict[str, Sidecar]],
) -> None:
    rendered, sidecars = chart_sidecars
    resiliency = rendered.one("Resiliency")["metadata"]["name"]
    for app_id, sidecar in sidecars.items():
        expected = {
            c["metadata"]["name"]: c["spec"]["type"]
            for c in rendered.all("Component")
            if app_id in c["scopes"]
        }
        assert ("statestore" in expected) is (app_id == WORKER_APP_ID)
        loaded = loaded_components(sidecar)
        for name, kind in expected.items():
            assert loaded.get(name) == kind, f"{app_id}: {name} did not load: {loaded}"
        assert "statestore" in loaded if app_id == WORKER_APP_ID else "statestore" not in loaded
        log = sidecar.process.log_text()
        assert f"Loading Resiliency configuration: {resiliency}" in log, app_id
        errors = [line for line in log.splitlines() if "level=error" in line]
        assert errors == [], f"{app_id}: daprd logged errors with the chart's resources"


def test_the_configuration_lets_the_apps_read_their_secret_only(
    chart_sidecars: tuple[chart.Rendered, dict[str, Sidecar]],
) -> None:
    rendered, sidecars = chart_sidecars
    store = rendered.values["dapr"]["secretStore"]["name"]
    app_secret = rendered.one("Secret", "todo-secrets")
    for sidecar in sidecars.values():
        allowed = sidecar.call("GET", f"/v1.0/secrets/{store}/todo-secrets")
        assert allowed.status_code == 200, allowed.text
        assert set(allowed.json()) == set(app_secret["data"])
        denied = sidecar.call("GET", f"/v1.0/secrets/{store}/{DECOY_SECRET}")
        assert denied.status_code == 403, denied.text


def test_a_publish_through_the_web_sidecar_reaches_kafka(
    chart_sidecars: tuple[chart.Rendered, dict[str, Sidecar]], kafka: KafkaReader
) -> None:
    _, sidecars = chart_sidecars
    marker = f"chart-{uuid.uuid4()}"
    answer = sidecars[WEB_APP_ID].call(
        "POST", "/v1.0/publish/pubsub/task-events", json={"marker": marker}
    )
    assert answer.status_code == 204, answer.text
    (record,) = kafka.wait_for("task-events", lambda r: marker.encode() in r.value)
    assert json.loads(record.value)["data"] == {"marker": marker}


def test_a_state_write_through_the_worker_sidecar_goes_through(
    chart_sidecars: tuple[chart.Rendered, dict[str, Sidecar]],
) -> None:
    rendered, sidecars = chart_sidecars
    worker, web = sidecars[WORKER_APP_ID], sidecars[WEB_APP_ID]
    key = f"chart-check-{uuid.uuid4().hex}"
    saved = worker.call("POST", "/v1.0/state/statestore", json=[{"key": key, "value": "ok"}])
    assert saved.status_code == 204, saved.text
    read = worker.call("GET", f"/v1.0/state/statestore/{key}")
    assert (read.status_code, read.json()) == (200, "ok")
    refused = web.call("GET", f"/v1.0/state/statestore/{key}")
    assert refused.status_code >= 400, "the state store is scoped to the worker"
    assert rendered.component("statestore")["scopes"] == [WORKER_APP_ID]
