"""The chart against real schemas: helm lint --strict, the Kubernetes API schemas, the CRDs
of Dapr, the Prometheus Operator and Strimzi, and the chart's own values.schema.json."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from tests.helm import chart
from tests.helm.chart import CHART, ROOT, HelmFailed, render, render_args, schema_errors


@pytest.mark.parametrize("scenario", chart.scenario_names())
def test_helm_lint_strict_passes(scenario: str) -> None:
    chart.helm(
        "lint",
        "--strict",
        str(CHART),
        "--namespace",
        chart.NAMESPACE,
        *chart.scenario_args(scenario),
    )


@pytest.mark.parametrize("version", chart.KUBERNETES_VERSIONS)
@pytest.mark.parametrize("scenario", chart.scenario_names())
def test_every_rendered_object_is_valid(scenario: str, version: str) -> None:
    assert schema_errors(render(scenario).docs, version) == []


def first(rendered_kind: str, scenario: str = "all-on") -> dict[str, Any]:
    return copy.deepcopy(render(scenario).all(rendered_kind)[0])


BROKEN: dict[str, tuple[str, Any]] = {
    # kind: (dotted path to set, value), each a mistake the schemas must catch.
    "Deployment": ("spec.template.spec.containers.0.imagePullPolice", "Always"),
    "Service": ("spec.ports.0.port", "eighty"),
    "NetworkPolicy": ("spec.policyTypes", "Ingress"),
    "Component": ("spec.metadata.0.valueFrom", "x"),
    "Resiliency": ("spec.policies.retries.publish.initialInterval", "100ms"),
    "Configuration": ("spec.tracing.samplingRate", 1),
    "ServiceMonitor": ("spec.endpoints.0.interval", 30),
    "PodMonitor": ("spec.podMetricsEndpoints.0.scrapeEvery", "30s"),
    "KafkaTopic": ("spec.partitions", "three"),
}


def set_path(doc: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    node: Any = doc
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if isinstance(node, list):
        node[int(leaf)] = value
    else:
        node[leaf] = value


@pytest.mark.parametrize("kind", sorted(BROKEN))
def test_the_schemas_catch_a_broken_object_of_each_family(kind: str) -> None:
    doc = first(kind)
    assert schema_errors([doc], chart.KUBERNETES_VERSIONS[-1]) == []
    set_path(doc, *BROKEN[kind])
    errors = schema_errors([doc], chart.KUBERNETES_VERSIONS[-1])
    assert errors and all(e.startswith(f"{kind}/") for e in errors), errors


def local_dapr_resources() -> Iterator[dict[str, Any]]:
    for path in sorted((ROOT / "dapr").rglob("*.yaml")):
        yield from (d for d in yaml.safe_load_all(path.read_text()) if d)


def test_the_local_dapr_resources_are_valid_too() -> None:
    docs = list(local_dapr_resources())
    assert {d["kind"] for d in docs} >= {"Component", "Configuration", "Resiliency"}
    assert schema_errors(docs, chart.KUBERNETES_VERSIONS[-1]) == []


# ------------------------------------------------------------------- values.schema.json


def schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((CHART / "values.schema.json").read_text())
    return loaded


def leaf_paths(tree: dict[str, Any], prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for key, value in tree.items():
        if isinstance(value, dict) and value:
            yield from leaf_paths(value, (*prefix, key))
        else:
            yield (*prefix, key)


def schema_node(path: tuple[str, ...]) -> dict[str, Any] | None:
    node: dict[str, Any] = schema()
    for key in path:
        properties = node.get("properties")
        if properties is None:
            return node  # a free-form mapping (labels, resources, selectors, ...)
        if key not in properties:
            return None
        node = properties[key]
    return node


def test_the_schema_declares_every_value() -> None:
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    undeclared = [".".join(p) for p in leaf_paths(values) if schema_node(p) is None]
    assert undeclared == []


def test_the_schema_refuses_unknown_keys_in_every_declared_mapping() -> None:
    def open_mappings(node: dict[str, Any], path: str) -> Iterator[str]:
        if "properties" in node:
            if node.get("additionalProperties") is not False:
                yield path
            for key, child in node["properties"].items():
                yield from open_mappings(child, f"{path}.{key}")

    assert list(open_mappings(schema(), "")) == []


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("web.replicaCont=2", "additional properties 'replicaCont' not allowed"),
        ("dapr.pubsub.authType=sasl", "value must be one of 'none', 'password', 'mtls', 'oidc'"),
        ("web.port=http", "got string, want integer"),
        ("dapr.statestore.type=mysql", "value must be one of 'redis', 'postgresql'"),
        ("image.pullPolicy=Sometimes", "value must be one of"),
        ("config.extraCsrfTrustedOrigins[0]=todo.example.com", "does not match pattern"),
        ("secrets.databaseUrl=mysql://db/todo", "does not match pattern"),
        ("dapr.configuration.tracing.samplingRate=2", "/dapr/configuration/tracing/samplingRate"),
    ],
)
def test_the_schema_refuses_wrong_values_at_install_time(setting: str, message: str) -> None:
    with pytest.raises(HelmFailed, match=re.escape(message)):
        render_args(*chart.scenario_args("default"), "--set", setting)


# ------------------------------------------------------------------ fail-fast validations


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (["config.debug=true"], "config.debug=true with ingress.enabled"),
        (["web.metricsPort=8000"], "web.metricsPort must differ from web.port"),
        (
            ["dapr.appToken.enabled=false"],
            "the worker refuses to run in Dapr mode without the app token",
        ),
        (
            ["dapr.secretStore.create=true"],
            "dapr.secretStore.create=true needs a dapr.secretStore.name",
        ),
        (
            ["dapr.pubsub.authType=password"],
            "dapr.pubsub.authType=password needs secrets.kafkaSaslUsername",
        ),
        (
            ["kafka.strimzi.enabled=true", "kafka.strimzi.topics.replicas=3"],
            "kafka.strimzi.topics.replicas (3) cannot exceed kafka.strimzi.replicas (1)",
        ),
        (
            [
                "web.autoscaling.enabled=true",
                "web.autoscaling.minReplicas=5",
                "web.autoscaling.maxReplicas=3",
            ],
            "web.autoscaling.minReplicas cannot exceed web.autoscaling.maxReplicas",
        ),
        (["web.pdb.minAvailable=1"], "web.pdb.minAvailable (1) must be below the web replicas (1)"),
        (
            [
                "metrics.podMonitor.enabled=true",
                "metrics.serviceMonitor.enabled=true",
                "dapr.enableMetrics=false",
            ],
            "turn one of them off",
        ),
    ],
)
def test_unsafe_combinations_are_refused_with_the_value_to_change(
    settings: list[str], message: str
) -> None:
    args = [arg for setting in settings for arg in ("--set", setting)]
    with pytest.raises(HelmFailed, match=re.escape(message)):
        render_args(*chart.scenario_args("default"), *args)


def test_the_sasl_check_is_satisfied_by_the_credentials_or_an_existing_secret() -> None:
    given = ["--set", "dapr.pubsub.authType=password"]
    render_args(
        *chart.scenario_args("default"),
        *given,
        "--set",
        "secrets.kafkaSaslUsername=u",
        "--set",
        "secrets.kafkaSaslPassword=p",
    )
    render_args(*chart.scenario_args("default"), *given, "--set", "secrets.existingSecret=ops")
