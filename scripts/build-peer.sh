#!/usr/bin/env bash
# Builds the go-control-plane peer of `npm run bench:xds` (bench/peer) with
# `go build` through the Go module proxy, and prints the binary's path.
# Idempotent: reuses the binary while bench/peer is unchanged.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src="$here/../bench/peer"
out=${MESHPLANE_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/meshplane}/xds-peer
stamp=$(cat "$src/go.mod" "$src/go.sum" "$src/main.go" | sha256sum | cut -c1-16)
if [ -x "$out-$stamp" ]; then echo "$out-$stamp"; exit 0; fi
command -v go >/dev/null || { echo "go is required to build the go-control-plane peer" >&2; exit 1; }
mkdir -p "$(dirname "$out")"
(cd "$src" && CGO_ENABLED=0 go build -trimpath -o "$out-$stamp" .) >&2
echo "$out-$stamp"
