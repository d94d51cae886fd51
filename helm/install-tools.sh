#!/usr/bin/env bash
# Installs the pinned chart-checking tools of helm/tools.env into the git-ignored .runtime/:
# helm (built from the Go module proxy), the CRDs of the Dapr we build (dapr/runtime.env)
# and of the Prometheus Operator (from their Go modules), and the Strimzi CRD validators
# (npm). A second run finds them in place and does nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=helm/tools.env
. helm/tools.env
# shellcheck source=dapr/runtime.env
. dapr/runtime.env
RUNTIME_DIR="${RUNTIME_DIR:-$PWD/.runtime}"
HELM_DIR="$RUNTIME_DIR/helm-$HELM_VERSION"
PROM_DIR="$RUNTIME_DIR/prometheus-operator-$PROMETHEUS_OPERATOR_VERSION"
STRIMZI_DIR="$RUNTIME_DIR/strimzi-models-$STRIMZI_MODELS_VERSION"
DAPR_CRDS="$RUNTIME_DIR/dapr-crds-$DAPR_VERSION"

log() { printf '[chart-tools] %s\n' "$*" >&2; }

install_helm() {
  if [ -x "$HELM_DIR/bin/helm" ]; then
    log "helm $HELM_VERSION already in $HELM_DIR/bin"
    return
  fi
  local started
  started=$(date +%s)
  log "building helm $HELM_VERSION from the Go module proxy (a few minutes on 2 cores, once)"
  rm -rf "$HELM_DIR.partial"
  mkdir -p "$HELM_DIR.partial/bin"
  GOBIN="$HELM_DIR.partial/bin" CGO_ENABLED=0 go install -trimpath \
    -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=v$HELM_VERSION" \
    "helm.sh/helm/v4/cmd/helm@v$HELM_VERSION"
  rm -rf "$HELM_DIR" && mv "$HELM_DIR.partial" "$HELM_DIR"
  log "helm $("$HELM_DIR/bin/helm" version --short) built in $(( $(date +%s) - started )) s"
}

module_dir() {
  go mod download -json "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])'
}

# collect_crds <what> <into> <module@version> <path in the module>...
collect_crds() {
  local what="$1" into="$2" module="$3" src path
  shift 3
  if [ -f "$into/.complete" ]; then
    log "$what already in $into"
    return
  fi
  src=$(module_dir "$module")
  mkdir -p "$into"
  for path in "$@"; do
    cp "$src"/$path "$into/"
  done
  chmod u+w "$into"/*.yaml
  touch "$into/.complete"
  log "$what collected in $into"
}

install_strimzi_models() {
  if [ -f "$STRIMZI_DIR/.complete" ]; then
    log "Strimzi validators $STRIMZI_MODELS_VERSION already in $STRIMZI_DIR"
    return
  fi
  command -v npm >/dev/null || { log "npm is needed for the Strimzi validators"; exit 1; }
  mkdir -p "$STRIMZI_DIR"
  cat > "$STRIMZI_DIR/package.json" <<JSON
{"name": "todo-chart-tools", "private": true, "type": "module",
 "dependencies": {"@kubernetes-models/strimzi-kafka-operator": "$STRIMZI_MODELS_VERSION"}}
JSON
  npm install --prefix "$STRIMZI_DIR" --no-audit --no-fund --loglevel=error --save-exact >/dev/null
  touch "$STRIMZI_DIR/.complete"
  log "Strimzi validators $STRIMZI_MODELS_VERSION installed in $STRIMZI_DIR"
}

command -v go >/dev/null || { log "go is needed for helm and the CRDs"; exit 1; }
install_helm
collect_crds "Dapr $DAPR_VERSION CRDs" "$DAPR_CRDS" "github.com/dapr/dapr@v$DAPR_VERSION" \
  'charts/dapr/crds/*.yaml'
collect_crds "Prometheus Operator $PROMETHEUS_OPERATOR_VERSION CRDs" "$PROM_DIR" \
  "github.com/prometheus-operator/prometheus-operator@v$PROMETHEUS_OPERATOR_VERSION" \
  example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml \
  example/prometheus-operator-crd/monitoring.coreos.com_podmonitors.yaml
install_strimzi_models
