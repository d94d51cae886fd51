"""What the cluster would receive from the chart, as real helm renders it (tests/helm/chart.py),
and its agreement with the app: names, scopes, ports, probes, secrets, hooks, policies."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.urls import resolve

from tests.helm import chart
from tests.helm.chart import CHART, ROOT, HelmFailed, Rendered, render, render_args

WEB_APP_ID = "todo-web"
WORKER_APP_ID = "todo-worker"
PUBSUB_NAME = "pubsub"
STATESTORE_NAME = "statestore"
WORKER_PORT = 8001
WEB_PORT = 8000
METRICS_PORT = 9102
DATABASE_URL = "postgres://todo:todo@postgres:5432/todo"
APP_POD_COMPONENTS = ("web", "worker")


def values(name: str = "values.yaml") -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((CHART / name).read_text())
    return loaded


def env_of(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in container.get("env", [])}


def metadata_of(component: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["name"]: item for item in component["spec"]["metadata"]}


def pod_specs(rendered: Rendered) -> dict[str, dict[str, Any]]:
    """Every pod template of the release (Deployments, Jobs) and every bare Pod."""
    pods = {}
    for doc in rendered.docs:
        if doc["kind"] in {"Deployment", "Job"}:
            pods[f"{doc['kind']}/{doc['metadata']['name']}"] = doc["spec"]["template"]
        elif doc["kind"] == "Pod":
            pods[f"Pod/{doc['metadata']['name']}"] = doc
    return pods


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """A Kubernetes label selector (matchLabels and In expressions) against pod labels."""
    match_labels = selector.get(
        "matchLabels", selector if "matchExpressions" not in selector else {}
    )
    if not all(labels.get(k) == v for k, v in match_labels.items()):
        return False
    for expression in selector.get("matchExpressions", []):
        assert expression["operator"] == "In", expression
        if labels.get(expression["key"]) not in expression["values"]:
            return False
    return True


def pod_labels(rendered: Rendered, component: str) -> dict[str, str]:
    labels: dict[str, str] = rendered.deployment(component)["spec"]["template"]["metadata"][
        "labels"
    ]
    return labels


# ----------------------------------------------------------------- chart and values files


def test_chart_yaml_is_a_helm3_application_chart() -> None:
    meta = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert meta["apiVersion"] == "v2"
    assert meta["name"] == "todo"
    assert meta["type"] == "application"
    assert re.fullmatch(r"\d+\.\d+\.\d+", meta["version"])
    oldest = chart.KUBERNETES_VERSIONS[0].rsplit(".", 1)[0]
    assert meta["kubeVersion"] == f">={oldest}.0-0", "the oldest minor the schemas check"


def test_every_value_in_values_yaml_is_documented() -> None:
    """Each key has a comment above it (or inline). A `# --` comment documents the
    whole subtree below its key (helm-docs convention); plain `#` section comments
    require every child to be documented."""
    lines = (CHART / "values.yaml").read_text().splitlines()
    undocumented = []
    documented_subtree_indent: int | None = None
    for number, line in enumerate(lines):
        match = re.match(r"^(\s*)([A-Za-z0-9_.-]+):", line)
        if not match or line.lstrip().startswith("#"):
            continue
        indent = len(match.group(1))
        if documented_subtree_indent is not None:
            if indent > documented_subtree_indent:
                continue
            documented_subtree_indent = None
        previous = next(
            (lines[i].strip() for i in range(number - 1, -1, -1) if lines[i].strip()), ""
        )
        if not (previous.startswith("#") or " # " in line):
            undocumented.append(f"line {number + 1}: {line.strip()}")
            continue
        comment_start = number - 1
        while comment_start > 0 and lines[comment_start - 1].strip().startswith("#"):
            comment_start -= 1
        if lines[comment_start].strip().startswith("# --"):
            documented_subtree_indent = indent
    assert not undocumented, "values without a comment:\n" + "\n".join(undocumented)


# ------------------------------------------------------------------------- rendered chart


def test_objects_have_unique_dns_names_and_the_release_labels(rendered: Rendered) -> None:
    seen = set()
    for doc in rendered.docs:
        name = doc["metadata"]["name"]
        assert re.fullmatch(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?", name), name
        assert len(name) <= 63, name
        key = (doc["kind"], name)
        assert key not in seen, f"duplicate {key}"
        seen.add(key)
        assert doc["metadata"]["labels"]["app.kubernetes.io/instance"] == "todo", key


def test_rendered_output_has_no_scientific_notation_or_missing_values(rendered: Rendered) -> None:
    assert not re.search(r"\b\d\.?\d*e\+\d\d\b", rendered.text), "float64 formatting leaked"
    assert "<no value>" not in rendered.text


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("secrets.databaseUrl", "secrets.databaseUrl is required"),
        ("dapr.pubsub.brokers", "dapr.pubsub.brokers is required"),
        ("dapr.statestore.redis.host", "dapr.statestore.redis.host is required"),
    ],
)
def test_chart_refuses_to_render_without_its_external_services(missing: str, message: str) -> None:
    with pytest.raises(HelmFailed, match=re.escape(message)):
        render_args(*chart.scenario_args("default"), "--set", f"{missing}=")


def test_notes_render_with_the_release_namespace(rendered: Rendered) -> None:
    assert "namespace todo" in rendered.notes


def test_every_pod_runs_restricted(rendered: Rendered) -> None:
    """The `restricted` Pod Security Standard, for every pod the chart creates: non-root,
    RuntimeDefault seccomp, no privilege escalation, all capabilities dropped, and a
    read-only root filesystem with an emptyDir wherever the app writes (/tmp)."""
    pods = pod_specs(rendered)
    assert pods
    for where, pod in pods.items():
        spec = pod["spec"]
        assert spec["securityContext"]["runAsNonRoot"] is True, where
        assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", where
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        for container in spec["containers"]:
            security = container["securityContext"]
            assert security["allowPrivilegeEscalation"] is False, where
            assert security["capabilities"]["drop"] == ["ALL"], where
            assert security["readOnlyRootFilesystem"] is True, where
            assert container["resources"]["requests"], where
            assert container["resources"]["limits"], where
            for mount in container.get("volumeMounts", []):
                assert "emptyDir" in volumes[mount["name"]], (where, mount)


def test_app_pods_run_as_the_image_user_with_a_writable_tmp(rendered: Rendered) -> None:
    for where, pod in pod_specs(rendered).items():
        if pod["spec"]["containers"][0]["image"] != f"todo:{values_app_version()}":
            continue
        assert pod["spec"]["securityContext"]["runAsUser"] == 10001, where
        assert pod["spec"]["securityContext"]["runAsGroup"] == 10001, where
        mounts = {m["mountPath"] for m in pod["spec"]["containers"][0]["volumeMounts"]}
        assert "/tmp" in mounts, where


def values_app_version() -> str:
    version: str = yaml.safe_load((CHART / "Chart.yaml").read_text())["appVersion"]
    return version


def test_no_image_comes_from_bitnami_or_floats_on_latest(rendered: Rendered) -> None:
    for where, pod in pod_specs(rendered).items():
        for container in pod["spec"]["containers"]:
            image = container["image"]
            assert "bitnami" not in image, (where, image)
            assert ":" in image and not image.endswith(":latest"), (where, image)


@pytest.mark.parametrize(("component", "port"), [("web", WEB_PORT), ("worker", WORKER_PORT)])
def test_probes_hit_the_health_routes_on_a_declared_port(
    rendered: Rendered, component: str, port: int
) -> None:
    container = rendered.container(component)
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    for probe in ("livenessProbe", "readinessProbe"):
        assert ports[container[probe]["httpGet"]["port"]] == port


def test_web_runs_daphne_on_the_app_and_metrics_ports(rendered: Rendered) -> None:
    container = rendered.container("web")
    args = container["args"]
    assert args[0] == "daphne"
    assert args[-1] == "todo_project.asgi:application"
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert args[args.index("--port") + 1] == str(ports["http"]) == str(WEB_PORT)
    assert args[args.index("--endpoint") + 1] == f"tcp:port={ports['metrics']}:interface=0.0.0.0"
    assert env_of(container)["METRICS_PORT"]["value"] == str(ports["metrics"]) == str(METRICS_PORT)


def test_worker_runs_the_worker_command(rendered: Rendered) -> None:
    assert rendered.container("worker")["args"] == ["python", "manage.py", "worker"]
    for component in APP_POD_COMPONENTS:
        # `args` keeps the image's tini ENTRYPOINT; `command` would replace it.
        assert "command" not in rendered.container(component)


@pytest.mark.parametrize("component", APP_POD_COMPONENTS)
def test_references_to_secrets_and_configmaps_resolve(rendered: Rendered, component: str) -> None:
    container = rendered.container(component)
    secrets_ = rendered.secret_names()
    configmaps = {d["metadata"]["name"] for d in rendered.all("ConfigMap")}
    for source in container["envFrom"]:
        assert source["configMapRef"]["name"] in configmaps
    for env in container["env"]:
        ref = env.get("valueFrom", {}).get("secretKeyRef")
        if ref:
            assert ref["name"] in secrets_, env


def test_chart_created_secret_holds_the_keys_the_pods_read() -> None:
    rendered = render("default")
    secret = rendered.one("Secret", "todo-secrets")
    assert {"SECRET_KEY", "DATABASE_URL", "JWT_SIGNING_KEY"} <= secret["data"].keys()
    # Read by the state store component: present even when empty.
    assert secret["data"]["REDIS_PASSWORD"] == ""
    assert base64.b64decode(secret["data"]["DATABASE_URL"]).decode() == DATABASE_URL
    for component in APP_POD_COMPONENTS:
        for env in rendered.container(component)["env"]:
            ref = env.get("valueFrom", {}).get("secretKeyRef")
            if ref and ref["name"] == "todo-secrets" and not ref.get("optional"):
                assert ref["key"] in secret["data"], ref
    for component in rendered.all("Component"):
        for item in component["spec"]["metadata"]:
            if "secretKeyRef" in item and item["secretKeyRef"]["name"] == "todo-secrets":
                assert item["secretKeyRef"]["key"] in secret["data"], item


def test_every_secret_can_come_from_an_existing_secret() -> None:
    rendered = render_args(
        *chart.scenario_args("default"),
        "--set",
        "secrets.existingSecret=ops-app",
        "--set",
        "dapr.apiToken.existingSecret=ops-api-token",
        "--set",
        "dapr.appToken.existingSecret=ops-app-token",
    )
    assert rendered.all("Secret") == [], "nothing generated when every secret is given"
    refs = {
        env["valueFrom"]["secretKeyRef"]["name"]
        for component in APP_POD_COMPONENTS
        for env in rendered.container(component)["env"]
        if "secretKeyRef" in env.get("valueFrom", {})
    }
    assert refs == {"ops-app", "ops-api-token", "ops-app-token"}
    annotations = rendered.deployment("worker")["spec"]["template"]["metadata"]["annotations"]
    assert annotations["dapr.io/api-token-secret"] == "ops-api-token"
    assert annotations["dapr.io/app-token-secret"] == "ops-app-token"


@pytest.mark.parametrize("scenario", ["minikube", "cloud"])
def test_overlays_use_an_existing_secret_and_create_none(scenario: str) -> None:
    rendered = render(scenario)
    assert rendered.values["secrets"]["existingSecret"] == "todo-secrets"
    created = {d["metadata"]["name"] for d in rendered.all("Secret")}
    assert created == {"todo-dapr-api-token", "todo-dapr-app-token"}


def settings_under(env: dict[str, str]) -> tuple[dict[str, Any], set[str]]:
    """Django's settings as a pod with this environment gets them, and every environment
    variable settings.py (and what it imports) read on the way."""
    script = """
import json, os, sys
read = set()
environ_type = type(os.environ)
original = environ_type.__getitem__
def recording(self, key):
    read.add(key)
    return original(self, key)
environ_type.__getitem__ = recording
import django
django.setup()
from django.conf import settings
names = ["EVENT_BACKEND", "RUN_EMBEDDED_WORKER", "WORKER_HOST", "WORKER_PORT", "METRICS_PORT",
         "DAPR_PUBSUB_NAME", "DAPR_STATESTORE_NAME", "DEBUG", "SECURE_HSTS_SECONDS",
         "WORKER_CONCURRENCY", "HANDLER_MAX_ATTEMPTS", "REMINDER_JOB_RETRY_SECONDS",
         "REMINDER_JOB_MAX_RETRIES", "OUTBOX_RETENTION_DAYS", "ALLOWED_HOSTS"]
print(json.dumps({"settings": {n: getattr(settings, n) for n in names}, "read": sorted(read)}))
"""
    base = {k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ}
    result = subprocess.run(
        [sys.executable, "-c", script],
        env={**base, "DJANGO_SETTINGS_MODULE": "todo_project.settings", **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    return answer["settings"], set(answer["read"])


def test_the_app_reads_every_setting_the_chart_gives_it() -> None:
    rendered = render("default")
    container = rendered.container("web")
    env = dict(rendered.configmap_data())
    for name, item in env_of(container).items():
        env[name] = item.get("value", "x").replace("$(POD_IP)", "10.0.0.7")
    env["DATABASE_URL"] = DATABASE_URL
    env["REDIS_URL"] = "redis://redis:6379/0"
    env["SECRET_KEY"] = "k" * 50
    settings, read = settings_under(env)
    assert settings["EVENT_BACKEND"] == "dapr"
    assert settings["RUN_EMBEDDED_WORKER"] is False
    assert settings["WORKER_HOST"] == "0.0.0.0"
    assert settings["WORKER_PORT"] == WORKER_PORT
    assert settings["METRICS_PORT"] == METRICS_PORT
    assert settings["DAPR_PUBSUB_NAME"] == PUBSUB_NAME
    assert settings["DAPR_STATESTORE_NAME"] == STATESTORE_NAME
    assert settings["DEBUG"] is False
    assert settings["SECURE_HSTS_SECONDS"] == 31536000
    worker = values()["worker"]
    assert settings["WORKER_CONCURRENCY"] == worker["concurrency"]
    assert settings["HANDLER_MAX_ATTEMPTS"] == worker["handlerMaxAttempts"]
    assert settings["REMINDER_JOB_RETRY_SECONDS"] == worker["reminderJobs"]["retrySeconds"]
    assert settings["REMINDER_JOB_MAX_RETRIES"] == worker["reminderJobs"]["maxRetries"]
    assert "10.0.0.7" in settings["ALLOWED_HOSTS"]
    # Read by the Python runtime or the Dapr SDK rather than settings.py.
    not_settings = {"PYTHONDONTWRITEBYTECODE", "POD_IP", "DAPR_API_TOKEN"}
    unread = sorted(set(env) - read - not_settings)
    assert not unread, f"the chart sets variables the app never reads: {unread}"


def test_app_settings_defaults_match_the_chart() -> None:
    settings, _ = settings_under({})
    assert settings["DAPR_PUBSUB_NAME"] == values()["dapr"]["pubsub"]["name"] == PUBSUB_NAME
    assert settings["DAPR_STATESTORE_NAME"] == values()["dapr"]["statestore"]["name"]
    assert settings["WORKER_PORT"] == values()["worker"]["port"] == WORKER_PORT
    assert values()["web"]["port"] == WEB_PORT


def test_allowed_hosts_cover_ingress_service_and_pod_ip(rendered: Rendered) -> None:
    hosts = env_of(rendered.container("web"))["ALLOWED_HOSTS"]["value"].split(",")
    assert "$(POD_IP)" in hosts
    assert "todo" in hosts
    for rule in rendered.values["ingress"]["hosts"]:
        assert rule["host"] in hosts
    # $(POD_IP) only expands when POD_IP is declared before ALLOWED_HOSTS.
    names = [e["name"] for e in rendered.container("web")["env"]]
    assert names.index("POD_IP") < names.index("ALLOWED_HOSTS")


def test_csrf_origins_follow_the_ingress_scheme(rendered: Rendered) -> None:
    origins = rendered.configmap_data()["CSRF_TRUSTED_ORIGINS"].split(",")
    scheme = "https" if rendered.values["ingress"]["tls"] else "http"
    for rule in rendered.values["ingress"]["hosts"]:
        assert f"{scheme}://{rule['host']}" in origins


def test_the_site_url_is_the_first_ingress_host_unless_set(rendered: Rendered) -> None:
    """Links in e-mails and calendar feed addresses (SITE_URL)."""
    site_url = rendered.configmap_data()["SITE_URL"]
    if rendered.values["config"]["siteUrl"]:
        assert site_url == rendered.values["config"]["siteUrl"]
    elif rendered.values["ingress"]["enabled"]:
        scheme = "https" if rendered.values["ingress"]["tls"] else "http"
        assert site_url == f"{scheme}://{rendered.values['ingress']['hosts'][0]['host']}"


# --------------------------------------------------------------------------------- Dapr


def test_dapr_annotations_identify_the_apps(rendered: Rendered) -> None:
    config_name = rendered.one("Configuration")["metadata"]["name"]
    web = rendered.deployment("web")["spec"]["template"]["metadata"]["annotations"]
    worker = rendered.deployment("worker")["spec"]["template"]["metadata"]["annotations"]
    assert web["dapr.io/enabled"] == worker["dapr.io/enabled"] == "true"
    assert web["dapr.io/app-id"] == WEB_APP_ID
    assert worker["dapr.io/app-id"] == WORKER_APP_ID
    assert "dapr.io/app-port" not in web, "web publishes only: no app channel"
    assert worker["dapr.io/app-port"] == str(WORKER_PORT)
    assert worker["dapr.io/app-protocol"] == "http"
    for pod_annotations in (web, worker):
        assert pod_annotations["dapr.io/config"] == config_name
        assert pod_annotations["dapr.io/enable-metrics"] == "true"
        assert pod_annotations["dapr.io/metrics-port"] == "9090"
        assert pod_annotations["dapr.io/log-as-json"] == "true"
        assert pod_annotations["dapr.io/sidecar-seccomp-profile-type"] == "RuntimeDefault"
        assert pod_annotations["dapr.io/api-token-secret"] in rendered.secret_names()
    assert worker["dapr.io/app-token-secret"] in rendered.secret_names()


def test_pods_without_a_sidecar_say_so(rendered: Rendered) -> None:
    for where, pod in pod_specs(rendered).items():
        if where.startswith(("Job/", "Pod/")):
            assert pod["metadata"]["annotations"]["dapr.io/enabled"] == "false", where


def test_api_and_app_tokens_reach_the_app(rendered: Rendered) -> None:
    web_env, worker_env = env_of(rendered.container("web")), env_of(rendered.container("worker"))
    annotations = rendered.deployment("worker")["spec"]["template"]["metadata"]["annotations"]
    for env in (web_env, worker_env):
        ref = env["DAPR_API_TOKEN"]["valueFrom"]["secretKeyRef"]
        assert (ref["name"], ref["key"]) == (annotations["dapr.io/api-token-secret"], "token")
    ref = worker_env["APP_API_TOKEN"]["valueFrom"]["secretKeyRef"]
    assert (ref["name"], ref["key"]) == (annotations["dapr.io/app-token-secret"], "token")
    assert "APP_API_TOKEN" not in web_env


def test_components_have_the_names_types_and_scopes_the_app_expects(rendered: Rendered) -> None:
    pubsub = rendered.component(PUBSUB_NAME)
    assert pubsub["spec"]["type"] == "pubsub.kafka"
    assert pubsub["spec"]["version"] == "v1"
    assert sorted(pubsub["scopes"]) == sorted([WEB_APP_ID, WORKER_APP_ID])
    statestore = rendered.component(STATESTORE_NAME)
    assert statestore["scopes"] == [WORKER_APP_ID]
    kind = rendered.values["dapr"]["statestore"]["type"]
    assert statestore["spec"]["type"] == f"state.{kind}"
    assert statestore["spec"]["version"] == ("v2" if kind == "postgresql" else "v1")
    for component in rendered.all("Component"):
        assert component["scopes"], component["metadata"]["name"]
        assert set(component["scopes"]) <= {WEB_APP_ID, WORKER_APP_ID}


def test_pubsub_metadata_is_complete(rendered: Rendered) -> None:
    meta = metadata_of(rendered.component(PUBSUB_NAME))
    assert meta["brokers"]["value"]
    assert meta["version"]["value"] == "3.9.0", "Kafka 4 refuses Dapr's default 2.0.0"
    auth = meta["authType"]["value"]
    if auth == "password":
        assert meta["saslMechanism"]["value"] in {"SHA-512", "SHA-256", "PLAIN"}
        for key in ("saslUsername", "saslPassword"):
            assert "secretKeyRef" in meta[key]


def test_component_secret_references_use_the_app_secret_and_a_secret_store(
    rendered: Rendered,
) -> None:
    store = rendered.values["dapr"]["secretStore"]["name"]
    for component in rendered.all("Component"):
        refs = [m["secretKeyRef"] for m in component["spec"]["metadata"] if "secretKeyRef" in m]
        if refs:
            assert component["auth"]["secretStore"] == store
        for ref in refs:
            assert ref["name"] in rendered.secret_names()


def test_configuration_traces_to_zipkin_and_enables_metrics(rendered: Rendered) -> None:
    spec = rendered.one("Configuration", "todo-config")["spec"]
    assert spec["metrics"]["enabled"] is True
    assert 0 <= float(spec["tracing"]["samplingRate"]) <= 1
    if rendered.values["zipkin"]["enabled"]:
        service = rendered.one("Service", "todo-zipkin")
        endpoint = spec["tracing"]["zipkin"]["endpointAddress"]
        assert f"//{service['metadata']['name']}.todo.svc" in endpoint
        assert endpoint.endswith(":9411/api/v2/spans")


def test_resiliency_retries_both_pubsub_directions_and_the_state_store(rendered: Rendered) -> None:
    spec = rendered.one("Resiliency")["spec"]
    targets = spec["targets"]["components"]
    assert targets[PUBSUB_NAME]["outbound"]["retry"] in spec["policies"]["retries"]
    assert targets[PUBSUB_NAME]["inbound"]["retry"] in spec["policies"]["retries"]
    assert targets[STATESTORE_NAME]["outbound"]["retry"] in spec["policies"]["retries"]


def test_secret_store_is_the_builtin_one_unless_explicitly_created(rendered: Rendered) -> None:
    stores = [c for c in rendered.all("Component") if c["spec"]["type"].startswith("secretstores.")]
    if rendered.values["dapr"]["secretStore"]["create"]:
        assert [s["metadata"]["name"] for s in stores] == [
            rendered.values["dapr"]["secretStore"]["name"]
        ]
    else:
        assert stores == []
        assert rendered.values["dapr"]["secretStore"]["name"] == "kubernetes"


def test_secret_store_rbac_is_read_only_on_secrets_in_the_namespace(rendered: Rendered) -> None:
    role = rendered.one("Role")
    assert role["rules"] == [
        {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list"]}
    ]
    assert rendered.all("ClusterRole") == []
    assert rendered.all("ClusterRoleBinding") == []
    binding = rendered.one("RoleBinding")
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    assert binding["subjects"][0]["name"] == rendered.one("ServiceAccount")["metadata"]["name"]


def dapr_folder_components() -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for path in sorted((ROOT / "dapr").rglob("*.yaml")):
        docs.extend(d for d in yaml.safe_load_all(path.read_text()) if d)
    return [d for d in docs if d.get("kind") == "Component"]


def test_local_dapr_components_agree_with_the_chart() -> None:
    in_chart = {c["metadata"]["name"]: c for c in render("default").all("Component")}
    local = {c["metadata"]["name"]: c for c in dapr_folder_components()}
    for name in (PUBSUB_NAME, STATESTORE_NAME):
        assert local[name]["spec"]["type"] == in_chart[name]["spec"]["type"], name
        assert sorted(local[name]["scopes"]) == sorted(in_chart[name]["scopes"]), name


# ------------------------------------------------------------------- web tier resources


def test_service_ingress_and_pdb_select_the_web_pods(rendered: Rendered) -> None:
    labels = pod_labels(rendered, "web")
    service = rendered.one("Service", "todo")
    assert selects(service["spec"]["selector"], labels)
    assert not selects(service["spec"]["selector"], pod_labels(rendered, "worker"))
    pdb = rendered.one("PodDisruptionBudget", "todo-web")
    assert selects(pdb["spec"]["selector"], labels)


def test_the_ingress_never_reaches_the_metrics_port(rendered: Rendered) -> None:
    service = rendered.one("Service", "todo")
    ports = {p["name"]: p for p in service["spec"]["ports"]}
    assert ports["http"]["targetPort"] == "http"
    assert ports["metrics"]["targetPort"] == "metrics"
    for rule in rendered.one("Ingress")["spec"]["rules"]:
        for path in rule["http"]["paths"]:
            assert path["backend"]["service"] == {"name": "todo", "port": {"name": "http"}}


def test_hpa_targets_the_web_deployment_when_enabled(rendered: Rendered) -> None:
    hpas = rendered.all("HorizontalPodAutoscaler")
    if not rendered.values["web"]["autoscaling"]["enabled"]:
        assert hpas == []
        return
    (hpa,) = hpas
    assert hpa["spec"]["scaleTargetRef"]["name"] == "todo-web"
    assert "replicas" not in rendered.deployment("web")["spec"]


def test_migration_job_is_a_pre_install_and_pre_upgrade_hook(rendered: Rendered) -> None:
    job = rendered.one("Job", "todo-migrate")
    annotations = job["metadata"]["annotations"]
    assert annotations["helm.sh/hook"] == "pre-install,pre-upgrade"
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["args"] == ["python", "manage.py", "migrate", "--noinput"]
    # Everything the Job reads exists before it: hooks with a lower weight, or an
    # existing Secret.
    weight = int(annotations["helm.sh/hook-weight"])
    hook_objects = {
        (d["kind"], d["metadata"]["name"]): int(d["metadata"]["annotations"]["helm.sh/hook-weight"])
        for d in rendered.hooks()
        if d is not job and "helm.sh/hook-weight" in d["metadata"]["annotations"]
    }
    configmap = container["envFrom"][0]["configMapRef"]["name"]
    assert hook_objects[("ConfigMap", configmap)] < weight
    existing = rendered.values["secrets"]["existingSecret"]
    for env in container["env"]:
        ref = env.get("valueFrom", {}).get("secretKeyRef")
        if ref:
            assert ref["name"] == existing or hook_objects[("Secret", ref["name"])] < weight


def test_helm_test_runs_the_smoke_test_against_the_web_service(rendered: Rendered) -> None:
    (pod,) = [d for d in rendered.hooks() if d["metadata"]["annotations"]["helm.sh/hook"] == "test"]
    assert pod["kind"] == "Pod"
    assert pod["spec"]["restartPolicy"] == "Never"
    args = pod["spec"]["containers"][0]["args"]
    assert args[:3] == ["python", "manage.py", "smoke_test"]
    service = rendered.one("Service", "todo")
    port = next(p["port"] for p in service["spec"]["ports"] if p["name"] == "http")
    assert args[args.index("--url") + 1] == f"http://todo.todo.svc:{port}"
    env = env_of(pod["spec"]["containers"][0])
    assert env["DATABASE_URL"]["valueFrom"]["secretKeyRef"]["name"] in rendered.secret_names()


# ------------------------------------------------------------- policies and monitoring


def test_network_policies_let_in_only_what_each_pod_serves() -> None:
    rendered = render("all-on")
    policies = {p["metadata"]["name"]: p for p in rendered.all("NetworkPolicy")}
    web = policies["todo-web"]
    assert selects(web["spec"]["podSelector"], pod_labels(rendered, "web"))
    web_ports = {p["name"] for p in rendered.container("web")["ports"]} | {9090}
    served = {port["port"] for rule in web["spec"]["ingress"] for port in rule["ports"]}
    assert served <= web_ports
    assert "http" in served and "metrics" in served
    worker = policies["todo-worker"]
    assert selects(worker["spec"]["podSelector"], pod_labels(rendered, "worker"))
    assert {p["port"] for r in worker["spec"]["ingress"] for p in r["ports"]} == {"app", 9090}
    jobs = policies["todo-jobs"]
    assert jobs["spec"]["policyTypes"] == ["Ingress"] and "ingress" not in jobs["spec"]
    for where, pod in pod_specs(rendered).items():
        if where.startswith(("Job/", "Pod/")):
            assert selects(jobs["spec"]["podSelector"], pod["metadata"]["labels"]), where
    redis = policies["todo-redis"]
    (rule,) = redis["spec"]["ingress"]
    (peer,) = rule["from"]
    assert selects(peer["podSelector"], pod_labels(rendered, "web"))
    assert selects(peer["podSelector"], pod_labels(rendered, "worker"))
    assert not selects(peer["podSelector"], pod_labels(rendered, "redis"))
    egress = policies["todo-egress"]
    assert any(
        peer.get("ipBlock", {}).get("cidr") == "10.20.0.0/16"
        for rule in egress["spec"]["egress"]
        for peer in rule["to"]
    ), "the operator's extra egress rules are kept"


def test_no_network_policy_unless_asked() -> None:
    assert render("default").all("NetworkPolicy") == []


def test_service_monitor_scrapes_a_metrics_port_of_the_web_and_worker_services() -> None:
    rendered = render("all-on")
    monitor = rendered.one("ServiceMonitor")
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["path"] == "/metrics"
    scraped = [
        s
        for s in rendered.all("Service")
        if selects(monitor["spec"]["selector"], s["metadata"]["labels"])
    ]
    assert {s["metadata"]["name"] for s in scraped} == {"todo", "todo-worker"}
    for service in scraped:
        assert endpoint["port"] in {p["name"] for p in service["spec"]["ports"]}
    worker_port = next(
        p for p in rendered.one("Service", "todo-worker")["spec"]["ports"] if p["name"] == "metrics"
    )
    assert worker_port["targetPort"] == "app"
    # The PodMonitor is left with the sidecars.
    pod_monitor = rendered.one("PodMonitor")
    assert [e["port"] for e in pod_monitor["spec"]["podMetricsEndpoints"]] == ["dapr-metrics"]


def test_podmonitor_alone_scrapes_the_app_and_sidecar_ports() -> None:
    rendered = render("cloud")
    monitor = rendered.one("PodMonitor")
    ports = {e["port"] for e in monitor["spec"]["podMetricsEndpoints"]}
    container_ports = {
        p["name"] for c in APP_POD_COMPONENTS for p in rendered.container(c)["ports"]
    }
    assert ports == {"metrics", "app", "dapr-metrics"}
    assert ports - {"dapr-metrics"} <= container_ports


# --------------------------------------------------------------------------- overlays


def test_minikube_runs_kafka_redis_and_zipkin_in_cluster() -> None:
    rendered = render("minikube")
    kafka = rendered.one("Kafka", "todo-kafka")
    pool = rendered.one("KafkaNodePool")
    assert pool["metadata"]["labels"]["strimzi.io/cluster"] == "todo-kafka"
    assert sorted(pool["spec"]["roles"]) == ["broker", "controller"]
    listener = kafka["spec"]["kafka"]["listeners"][0]
    meta = metadata_of(rendered.component(PUBSUB_NAME))
    assert meta["brokers"]["value"] == f"todo-kafka-kafka-bootstrap:{listener['port']}"
    assert meta["authType"]["value"] == "none"
    redis = rendered.one("Service", "todo-redis")
    assert env_of(rendered.container("web"))["REDIS_URL"]["value"] == "redis://todo-redis:6379/0"
    state = metadata_of(rendered.component(STATESTORE_NAME))
    assert state["redisHost"]["value"] == f"{redis['metadata']['name']}:6379"
    assert "tls" not in rendered.one("Ingress")["spec"]
    assert rendered.configmap_data()["SECURE_COOKIES"] == "false"
    assert rendered.container("web")["imagePullPolicy"] == "Never"


def test_strimzi_topics_cover_every_topic_and_its_dead_letter_topic() -> None:
    rendered = render("minikube")
    topics = {t["metadata"]["name"]: t for t in rendered.all("KafkaTopic")}
    spec = values()["kafka"]["strimzi"]["topics"]
    names = ["task-events", "reminders", "task-updates"]
    assert set(topics) == {*names, *(f"{n}-dlq" for n in names)}
    for name in names:
        live, dead = topics[name]["spec"], topics[f"{name}-dlq"]["spec"]
        assert live["partitions"] == spec["partitions"]
        assert live["config"]["retention.ms"] == spec["retentionMs"]
        assert dead["partitions"] == spec["deadLetterPartitions"]
        assert dead["config"]["retention.ms"] == spec["deadLetterRetentionMs"]
        assert topics[name]["metadata"]["labels"]["strimzi.io/cluster"] == "todo-kafka"


def test_the_chart_creates_the_topics_the_app_uses() -> None:
    from todo_project.eventbus.envelope import TOPICS

    assert sorted(values()["kafka"]["strimzi"]["topics"]["names"]) == sorted(TOPICS)


def test_cloud_uses_external_kafka_over_sasl_tls_and_serves_tls() -> None:
    rendered = render("cloud")
    assert rendered.all("Kafka") == []
    assert {d["metadata"]["name"] for d in rendered.all("Deployment")} == {
        "todo-web",
        "todo-worker",
    }
    meta = metadata_of(rendered.component(PUBSUB_NAME))
    assert meta["authType"]["value"] == "password"
    assert "disableTls" not in meta
    assert rendered.component(STATESTORE_NAME)["spec"]["type"] == "state.postgresql"
    ingress = rendered.one("Ingress")
    assert ingress["spec"]["tls"][0]["hosts"] == [ingress["spec"]["rules"][0]["host"]]
    assert "cert-manager.io/cluster-issuer" in ingress["metadata"]["annotations"]
    assert rendered.one("HorizontalPodAutoscaler")["spec"]["minReplicas"] >= 2
    assert rendered.one("PodDisruptionBudget", "todo-web")["spec"]["minAvailable"] == 1
    for component in APP_POD_COMPONENTS:
        spread = rendered.pod(component)["topologySpreadConstraints"]
        assert {c["topologyKey"] for c in spread} >= {"topology.kubernetes.io/zone"}
        for constraint in spread:
            assert selects(constraint["labelSelector"], pod_labels(rendered, component))
            other = "worker" if component == "web" else "web"
            assert not selects(constraint["labelSelector"], pod_labels(rendered, other))


# ----------------------------------------------------------- routes served by the app


@pytest.mark.parametrize("route", ["/healthz", "/readyz", "/metrics"])
def test_probe_and_metrics_routes_are_served_by_the_web_app(route: str) -> None:
    assert resolve(route).url_name


@pytest.mark.parametrize("route", ["/healthz", "/readyz", "/metrics", "/job/reminder-task-1"])
def test_probe_and_job_routes_are_served_by_the_worker_app_channel(route: str) -> None:
    assert resolve(route, urlconf="todo_project.eventbus.app_channel_urls").url_name


def test_chart_check_script_runs_the_checks(tmp_path: Path) -> None:
    script = ROOT / "helm" / "chart-check.sh"
    result = subprocess.run(
        ["bash", str(script)],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
        env={**os.environ, "PYTHON": sys.executable},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for name in chart.scenario_names():
        assert f"chart-check: {name}: helm lint --strict OK" in result.stdout
    assert "chart-check: OK" in result.stdout
