#!/usr/bin/env bash
# Lint and render the Helm chart with every values file, then validate the manifests
# against the Kubernetes schemas. Run by `make chart-check`; the structural tests in
# tests/helm run everywhere, this script only where a helm binary exists.
set -euo pipefail

case "${BASH_SOURCE[0]}" in
  */*) here="$(cd "${BASH_SOURCE[0]%/*}" && pwd)" ;;
  *) here="$(pwd)" ;;
esac
chart="$here/todo"

if ! command -v helm >/dev/null 2>&1; then
  echo "chart-check: helm is not on PATH; skipping helm lint/template and schema validation."
  echo "chart-check: the structural checks still run in the test suite (pytest tests/helm)."
  exit 0
fi

# values.yaml alone names no database, Kafka or Redis (the chart refuses to render
# without them); the overlay files provide them.
default_args=(
  --set secrets.databaseUrl=postgres://todo:todo@postgres:5432/todo
  --set secrets.redisUrl=redis://redis:6379/0
  --set dapr.pubsub.brokers=kafka:9092
  --set dapr.statestore.redis.host=redis:6379
)

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

render() {
  local name="$1"
  shift
  echo "== helm lint ($name)"
  helm lint --strict "$chart" "$@"
  echo "== helm template ($name)"
  helm template todo "$chart" --namespace todo "$@" >"$out/$name.yaml"
}

render default "${default_args[@]}"
render minikube -f "$chart/values-minikube.yaml"
render cloud -f "$chart/values-cloud.yaml"
# Every optional template switched on at once.
render all-on "${default_args[@]}" \
  --set kafka.strimzi.enabled=true --set redis.enabled=true --set zipkin.enabled=true \
  --set metrics.podMonitor.enabled=true --set web.autoscaling.enabled=true \
  --set worker.pdb.enabled=true --set dapr.secretStore.create=true \
  --set dapr.secretStore.name=todo-secretstore --set ingress.certManager.enabled=true

if command -v kubeconform >/dev/null 2>&1; then
  echo "== kubeconform"
  # Dapr, Strimzi and Prometheus Operator kinds have no schema in the default catalogue:
  # use the community CRD catalogue when reachable, and never fail on a missing schema.
  kubeconform -strict -summary -ignore-missing-schemas \
    -schema-location default \
    -schema-location 'https://raw.githubusercontent.com/datreeio/CRDs-catalog/main/{{.Group}}/{{.ResourceKind}}_{{.ResourceAPIVersion}}.json' \
    "$out"/*.yaml
elif command -v kubectl >/dev/null 2>&1 && kubectl version --request-timeout=5s >/dev/null 2>&1; then
  # A reachable cluster validates against its real schemas, CRDs included (Dapr from
  # `dapr init -k`; the Strimzi and Prometheus Operator CRDs only where installed).
  echo "== kubectl apply --dry-run=server"
  for file in "$out"/*.yaml; do
    kubectl apply --dry-run=server -f "$file" >/dev/null
  done
else
  echo "chart-check: no kubeconform and no reachable cluster for kubectl; skipped schema validation."
fi

echo "chart-check: OK"
