#!/usr/bin/env bash
# `make chart-check`: helm lint --strict and a render of every scenario in
# tests/helm/scenarios/ (the chart's values files among them), each object validated
# against the Kubernetes schemas of helm/tools.env's minors, the Dapr CRDs of the Dapr we
# build, the Prometheus Operator CRDs and Strimzi's schemas. The tools are the pinned ones
# `make chart-tools` installs into .runtime/; the test suite runs the same checks (tests/helm).
set -euo pipefail
cd "$(dirname "$0")/.."
exec "${PYTHON:-.venv/bin/python}" -m tests.helm.chart
