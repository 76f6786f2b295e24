#!/usr/bin/env bash
# Starts a private Docker engine (no bridge, no iptables: containers use host
# networking) and prints the DOCKER_HOST to use. Stop it with docker-down.sh.
set -euo pipefail
dir=${MESHPLANE_DOCKER_DIR:-/tmp/meshplane-docker}
mkdir -p "$dir/data" "$dir/exec"
sock="unix://$dir/docker.sock"
if [ -f "$dir/dockerd.pid" ] && kill -0 "$(cat "$dir/dockerd.pid")" 2>/dev/null; then
  echo "$sock"; exit 0
fi
command -v dockerd >/dev/null || { echo "dockerd not found: install Debian's docker.io (scripts/ci-prereqs.sh)" >&2; exit 1; }
nohup dockerd --host "$sock" --data-root "$dir/data" --exec-root "$dir/exec" --pidfile "$dir/dockerd.pid" \
  --bridge=none --iptables=false --ip-masq=false >"$dir/dockerd.log" 2>&1 &
for _ in $(seq 1 60); do
  if docker -H "$sock" info >/dev/null 2>&1; then echo "$sock"; exit 0; fi
  sleep 0.5
done
echo "dockerd did not come up; its log:" >&2; tail -20 "$dir/dockerd.log" >&2; exit 1
