"""The chart as real helm renders it, and the schemas its objects are checked against.

Shared by the tests in tests/helm and by `python -m tests.helm.chart` (what
`make chart-check` runs). The tools are the pinned ones of helm/tools.env, installed into
.runtime/ by `make chart-tools`:

- helm renders with `helm install --dry-run=client -o json`, which needs no cluster and
  gives the manifests, the hooks and NOTES.txt in one answer;
- built-in kinds are validated with kubernetes-validate (strict: unknown fields are
  errors) for each Kubernetes minor of KUBERNETES_VERSIONS;
- Dapr kinds against the CRDs of the Dapr module we build daprd from, Prometheus Operator
  kinds against that operator's CRDs, both as JSON Schema (unknown fields are errors, as
  `kubectl apply` with strict field validation says);
- Strimzi kinds with validators compiled from Strimzi's CRD schemas (helm/validate-strimzi.mjs).
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "helm" / "todo"
SCENARIO_DIR = Path(__file__).resolve().parent / "scenarios"
RUNTIME = Path(os.environ.get("RUNTIME_DIR", ROOT / ".runtime"))
RELEASE = "todo"
NAMESPACE = "todo"


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines of a shell file (comments and quotes as the shell reads them)."""
    found: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        found[key] = " ".join(shlex.split(value))
    return found


TOOLS = read_env_file(ROOT / "helm" / "tools.env")
DAPR = read_env_file(ROOT / "dapr" / "runtime.env")
KUBERNETES_VERSIONS = TOOLS["KUBERNETES_VERSIONS"].split()
HELM = RUNTIME / f"helm-{TOOLS['HELM_VERSION']}" / "bin" / "helm"
DAPR_CRDS = RUNTIME / f"dapr-crds-{DAPR['DAPR_VERSION']}"
PROMETHEUS_CRDS = RUNTIME / f"prometheus-operator-{TOOLS['PROMETHEUS_OPERATOR_VERSION']}"
STRIMZI_MODELS = RUNTIME / f"strimzi-models-{TOOLS['STRIMZI_MODELS_VERSION']}"
STRIMZI_VALIDATOR = ROOT / "helm" / "validate-strimzi.mjs"


def missing_tools() -> list[str]:
    """What `make chart-tools` would provide."""
    missing = []
    if not HELM.exists():
        missing.append(f"helm {TOOLS['HELM_VERSION']} ({HELM})")
    if not PROMETHEUS_CRDS.joinpath(".complete").exists():
        missing.append(f"Prometheus Operator CRDs ({PROMETHEUS_CRDS})")
    if not STRIMZI_MODELS.joinpath(".complete").exists():
        missing.append(f"Strimzi validators ({STRIMZI_MODELS})")
    if not DAPR_CRDS.joinpath(".complete").exists():
        missing.append(f"Dapr CRDs ({DAPR_CRDS})")
    if shutil.which("node") is None:
        missing.append("node")
    return missing


# ------------------------------------------------------------------------------ scenarios


def scenario_names() -> list[str]:
    return sorted(p.stem for p in SCENARIO_DIR.glob("*.yaml"))


def scenario_args(name: str) -> list[str]:
    """The values files of a scenario: its first comment line may name an overlay of the
    chart (`# overlay: values-cloud.yaml`) applied before the scenario's own file."""
    path = SCENARIO_DIR / f"{name}.yaml"
    args: list[str] = []
    first = path.read_text().splitlines()[0]
    if first.startswith("# overlay:"):
        args += ["-f", str(CHART / first.split(":", 1)[1].strip())]
    return [*args, "-f", str(path)]


class HelmFailed(Exception):
    """helm refused: the message is its stderr."""


def helm(*args: str) -> str:
    env = {
        **os.environ,
        "HELM_CACHE_HOME": str(RUNTIME / "helm-home" / "cache"),
        "HELM_CONFIG_HOME": str(RUNTIME / "helm-home" / "config"),
        "HELM_DATA_HOME": str(RUNTIME / "helm-home" / "data"),
        "KUBECONFIG": os.devnull,
    }
    result = subprocess.run(
        [str(HELM), *args], capture_output=True, text=True, env=env, check=False, timeout=120
    )
    if result.returncode != 0:
        raise HelmFailed(result.stderr.strip() or result.stdout.strip())
    return result.stdout


@dataclass
class Rendered:
    """One release as `helm install` would send it: manifests and hooks, parsed."""

    name: str
    values: dict[str, Any]
    notes: str
    docs: list[dict[str, Any]] = field(default_factory=list)
    text: str = ""

    def all(self, kind: str) -> list[dict[str, Any]]:
        return [d for d in self.docs if d.get("kind") == kind]

    def one(self, kind: str, name: str | None = None) -> dict[str, Any]:
        found = [d for d in self.all(kind) if name is None or d["metadata"]["name"] == name]
        assert len(found) == 1, f"{self.name}: expected one {kind} {name or ''}, found {len(found)}"
        return found[0]

    def deployment(self, component: str) -> dict[str, Any]:
        return self.one("Deployment", f"todo-{component}")

    def pod(self, component: str) -> dict[str, Any]:
        spec: dict[str, Any] = self.deployment(component)["spec"]["template"]["spec"]
        return spec

    def container(self, component: str) -> dict[str, Any]:
        container: dict[str, Any] = self.pod(component)["containers"][0]
        return container

    def component(self, name: str) -> dict[str, Any]:
        return self.one("Component", name)

    def hooks(self) -> list[dict[str, Any]]:
        return [d for d in self.docs if "helm.sh/hook" in d["metadata"].get("annotations", {})]

    def secret_names(self) -> set[str]:
        names = {d["metadata"]["name"] for d in self.all("Secret")}
        for existing in (
            self.values["secrets"]["existingSecret"],
            self.values["dapr"]["apiToken"]["existingSecret"],
            self.values["dapr"]["appToken"]["existingSecret"],
        ):
            if existing:
                names.add(existing)
        return names

    def configmap_data(self) -> dict[str, str]:
        data: dict[str, str] = self.one("ConfigMap", "todo")["data"]
        return data


def render_args(*args: str, name: str = "custom") -> Rendered:
    answer = json.loads(
        helm(
            "install",
            RELEASE,
            str(CHART),
            "--namespace",
            NAMESPACE,
            "--dry-run=client",
            "--output",
            "json",
            *args,
        )
    )
    texts = [answer["manifest"], *(hook["manifest"] for hook in answer.get("hooks", []))]
    docs = [d for text in texts for d in yaml.safe_load_all(text) if d]
    return Rendered(
        name=name,
        values=effective_values(args),
        notes=answer["info"].get("notes", ""),
        docs=docs,
        text="\n---\n".join(texts),
    )


def effective_values(args: Iterable[str]) -> dict[str, Any]:
    """values.yaml merged with the -f files of args, as helm merges them (--set values
    are not followed: the scenarios are files)."""
    merged = yaml.safe_load((CHART / "values.yaml").read_text())
    items = list(args)
    for flag, value in itertools.pairwise(items):
        if flag == "-f":
            merged = deep_merge(merged, yaml.safe_load(Path(value).read_text()) or {})
    return merged


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    result = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = deep_merge(result[key], value)
        else:
            result[key] = value
    return result


@functools.cache
def render(name: str) -> Rendered:
    return render_args(*scenario_args(name), name=name)


# ------------------------------------------------------------------------------- schemas


def _strict(schema: Any) -> Any:
    """An OpenAPI v3 CRD schema as JSON Schema: `nullable` allows null, and an object with
    declared properties refuses the others unless it preserves unknown fields."""
    if isinstance(schema, list):
        return [_strict(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _strict(v) for k, v in schema.items()}
    if out.pop("nullable", False) and "type" in out:
        out["type"] = [out["type"], "null"]
    if (
        "properties" in out
        and "additionalProperties" not in out
        and not out.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


@functools.cache
def crd_schemas() -> dict[tuple[str, str], dict[str, Any]]:
    """(apiVersion, kind) -> JSON Schema, from the Dapr and Prometheus Operator CRDs."""
    schemas: dict[tuple[str, str], dict[str, Any]] = {}
    files = sorted(DAPR_CRDS.glob("*.yaml")) + sorted(PROMETHEUS_CRDS.glob("*.yaml"))
    for path in files:
        for crd in yaml.safe_load_all(path.read_text()):
            if not crd or crd.get("kind") != "CustomResourceDefinition":
                continue
            group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
            for version in crd["spec"]["versions"]:
                schema = version["schema"]["openAPIV3Schema"]
                schemas[(f"{group}/{version['name']}", kind)] = _strict(schema)
    return schemas


def strimzi_errors(docs: list[dict[str, Any]]) -> list[str]:
    if not docs:
        return []
    result = subprocess.run(
        ["node", str(STRIMZI_VALIDATOR), str(STRIMZI_MODELS)],
        input=json.dumps(docs),
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    if result.returncode not in (0, 1):
        raise RuntimeError(f"validate-strimzi.mjs failed: {result.stderr}")
    errors: list[str] = json.loads(result.stdout)
    return errors


def label(doc: dict[str, Any]) -> str:
    return f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"


def schema_errors(docs: list[dict[str, Any]], kubernetes_version: str) -> list[str]:
    """Every way the objects break their schema; empty when all are valid."""
    errors: list[str] = []
    strimzi: list[dict[str, Any]] = []
    for doc in docs:
        api_version = doc.get("apiVersion", "")
        if api_version.startswith("kafka.strimzi.io/"):
            strimzi.append(doc)
            continue
        crd = crd_schemas().get((api_version, doc.get("kind", "")))
        if crd is not None:
            validator = jsonschema.Draft7Validator(crd)
            errors += [
                f"{label(doc)}: {'/'.join(map(str, e.absolute_path))}: {e.message}"
                for e in validator.iter_errors(doc)
            ]
            continue
        try:
            kubernetes_validate.validate(doc, kubernetes_version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            errors.append(f"{label(doc)} (Kubernetes {kubernetes_version}): {exc.message}")
        except kubernetes_validate.SchemaNotFoundError:
            errors.append(
                f"{label(doc)}: no schema for {api_version} in Kubernetes "
                f"{kubernetes_version} or the CRDs we check against"
            )
    return errors + strimzi_errors(strimzi)


# ---------------------------------------------------------------------- make chart-check


def check() -> Iterator[str]:
    """Lint, render and validate every scenario; yields one line per step, raises on the
    first failure."""
    for name in scenario_names():
        helm("lint", "--strict", str(CHART), "--namespace", NAMESPACE, *scenario_args(name))
        rendered = render(name)
        for version in KUBERNETES_VERSIONS:
            errors = schema_errors(rendered.docs, version)
            if errors:
                raise AssertionError(f"{name} on Kubernetes {version}:\n" + "\n".join(errors))
        kinds = sorted({d["kind"] for d in rendered.docs})
        yield (
            f"{name}: helm lint --strict OK; {len(rendered.docs)} objects valid on "
            f"Kubernetes {', '.join(KUBERNETES_VERSIONS)} ({', '.join(kinds)})"
        )


def main() -> int:
    missing = missing_tools()
    if missing:
        print("chart-check: missing " + "; ".join(missing) + " (make chart-tools)")
        return 1
    try:
        for line in check():
            print("chart-check:", line)
    except (HelmFailed, AssertionError) as exc:
        print(f"chart-check: FAILED\n{exc}")
        return 1
    print("chart-check: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
