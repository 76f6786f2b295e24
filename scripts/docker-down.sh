#!/usr/bin/env bash
# Stops the private Docker engine started by docker-up.sh, by its pid.
set -uo pipefail
dir=${MESHPLANE_DOCKER_DIR:-/tmp/meshplane-docker}
pidf="$dir/dockerd.pid"
[ -f "$pidf" ] || exit 0
pid=$(cat "$pidf")
kill "$pid" 2>/dev/null || exit 0
for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || exit 0; sleep 0.25; done
kill -9 "$pid" 2>/dev/null || true
