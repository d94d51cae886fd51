#!/usr/bin/env bash
# Builds the pinned Dapr runtime (daprd, scheduler) from the Go module proxy and collects
# a pinned Apache Kafka from Maven Central, into the git-ignored folder .runtime/.
# A second run finds both in place and does nothing.
#
#   bash dapr/install-runtime.sh            # both
#   bash dapr/install-runtime.sh dapr       # daprd + scheduler only
#   bash dapr/install-runtime.sh kafka      # Kafka only
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=dapr/runtime.env
. dapr/runtime.env
RUNTIME_DIR="${RUNTIME_DIR:-$PWD/.runtime}"
DAPR_BIN="$RUNTIME_DIR/dapr-$DAPR_VERSION/bin"
KAFKA_HOME="$RUNTIME_DIR/kafka-$KAFKA_VERSION"
what="${1:-all}"

log() { printf '[install-runtime] %s\n' "$*" >&2; }

build_dapr() {
  if [ -x "$DAPR_BIN/daprd" ] && [ -x "$DAPR_BIN/scheduler" ]; then
    log "dapr $DAPR_VERSION already built in $DAPR_BIN"
    return
  fi
  command -v go >/dev/null || { log "go is needed to build the Dapr runtime"; exit 1; }
  local started src work
  started=$(date +%s)
  log "downloading github.com/dapr/dapr@v$DAPR_VERSION from the Go module proxy"
  src=$(go mod download -json "github.com/dapr/dapr@v$DAPR_VERSION" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
  # The module cache is read-only and go.mod has replace directives: build from a copy.
  work="$RUNTIME_DIR/src/dapr-$DAPR_VERSION"
  rm -rf "$work"
  mkdir -p "$work" "$DAPR_BIN.partial"
  cp -r "$src/." "$work/"
  chmod -R u+w "$work"
  for replacement in ${DAPR_GO_REPLACE:-}; do
    log "go.mod: replace $replacement (see dapr/runtime.env)"
    (cd "$work" && go mod edit -replace "$replacement")
  done
  # -mod=mod records the sums of replaced modules in the build copy's go.sum.
  export GOFLAGS="${GOFLAGS:-} -mod=mod"
  log "building daprd (stable components) and scheduler; this takes a while on 2 cores"
  (cd "$work" && CGO_ENABLED=0 go build -trimpath -tags stablecomponents \
      -ldflags "-s -w -X github.com/dapr/dapr/pkg/buildinfo.version=$DAPR_VERSION" \
      -o "$DAPR_BIN.partial/daprd" ./cmd/daprd)
  (cd "$work" && CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X github.com/dapr/dapr/pkg/buildinfo.version=$DAPR_VERSION" \
      -o "$DAPR_BIN.partial/scheduler" ./cmd/scheduler)
  rm -rf "$DAPR_BIN" && mv "$DAPR_BIN.partial" "$DAPR_BIN"
  rm -rf "$work"
  log "dapr $DAPR_VERSION built in $(( $(date +%s) - started )) s: $(du -sh "$DAPR_BIN" | cut -f1)"
}

collect_kafka() {
  if [ -f "$KAFKA_HOME/.complete" ]; then
    log "kafka $KAFKA_VERSION already collected in $KAFKA_HOME"
    return
  fi
  command -v mvn >/dev/null || { log "mvn is needed to collect Kafka"; exit 1; }
  command -v java >/dev/null || { log "java (17+) is needed to run Kafka"; exit 1; }
  local pom
  mkdir -p "$KAFKA_HOME"
  pom="$KAFKA_HOME/pom.xml"
  cat > "$pom" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.todo</groupId><artifactId>kafka-runtime</artifactId><version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-tools</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-simple</artifactId><version>$SLF4J_VERSION</version></dependency>
  </dependencies>
</project>
POM
  log "collecting kafka_2.13 $KAFKA_VERSION and its dependencies with Maven"
  mvn -q -B -f "$pom" dependency:copy-dependencies -DincludeScope=runtime \
      -DoutputDirectory="$KAFKA_HOME/lib"
  touch "$KAFKA_HOME/.complete"
  log "kafka $KAFKA_VERSION in $KAFKA_HOME: $(du -sh "$KAFKA_HOME/lib" | cut -f1)"
}

case "$what" in
  all) build_dapr; collect_kafka ;;
  dapr) build_dapr ;;
  kafka) collect_kafka ;;
  *) log "usage: $0 [all|dapr|kafka]"; exit 2 ;;
esac
