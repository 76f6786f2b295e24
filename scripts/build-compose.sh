#!/usr/bin/env bash
# Builds docker compose v2 (github.com/docker/compose/v2) through the Go module
# proxy (Debian ships only docker-compose 1.29) and prints the binary's path.
# Cached in ~/.cache/meshplane/compose; rebuilt only when missing. Also lays out
# <cache>/cli-plugins/docker-compose, so DOCKER_CONFIG=<a dir with that
# cli-plugins/ folder> makes `docker compose` use it without touching the system.
# A cold build takes 5-15 minutes on 2 shared cores.
set -euo pipefail
COMPOSE_VERSION=${COMPOSE_VERSION:-2.40.3}
out=${MESHPLANE_COMPOSE_DIR:-${MESHPLANE_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/meshplane}/compose}
bin="$out/docker-compose-v$COMPOSE_VERSION"
plugin="$out/cli-plugins/docker-compose"
link() { mkdir -p "$out/cli-plugins"; ln -sfn "$bin" "$plugin"; }
if [ -x "$bin" ]; then link; echo "$bin"; exit 0; fi
command -v go >/dev/null || { echo "go is required to build docker compose v2" >&2; exit 1; }
mkdir -p "$out"
# One build at a time per cache directory (CI and parallel test runs share it).
exec 9>"$out/.lock"
flock 9
if [ ! -x "$bin" ]; then
  tmp=$(mktemp -d "$out/.build.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  export GOWORK=off GOFLAGS=-buildvcs=false CGO_ENABLED=0
  # `go install pkg@version` refuses compose's go.mod (it has exclude
  # directives), so build it as the main module from its downloaded source.
  echo "build-compose: building github.com/docker/compose/v2@v$COMPOSE_VERSION (go build, module proxy)" >&2
  src=$(cd "$tmp" && go mod download -json "github.com/docker/compose/v2@v$COMPOSE_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
  [ -d "$src" ] || { echo "build-compose: could not download github.com/docker/compose/v2@v$COMPOSE_VERSION" >&2; exit 1; }
  cp -r "$src" "$tmp/src"; chmod -R u+w "$tmp/src"
  (cd "$tmp/src" && go build -trimpath -ldflags "-s -w -X github.com/docker/compose/v2/internal.Version=v$COMPOSE_VERSION" -o "$tmp/docker-compose" ./cmd) >&2
  mv "$tmp/docker-compose" "$bin"
fi
link
echo "$bin"
