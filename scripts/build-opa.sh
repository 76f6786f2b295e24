#!/usr/bin/env bash
# Builds meshplane's Rego evaluator (tools/opa: Open Policy Agent's Go library,
# github.com/open-policy-agent/opa) with `go build` through the Go module proxy,
# and prints the binary's path. `meshplane ext-auth` runs it for opaAuth.
# Idempotent: reuses the binary while tools/opa is unchanged.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src="$here/../tools/opa"
out=${MESHPLANE_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/meshplane}/opa
stamp=$(cat "$src/go.mod" "$src/go.sum" "$src/main.go" | sha256sum | cut -c1-16)
if [ -x "$out-$stamp" ]; then echo "$out-$stamp"; exit 0; fi
command -v go >/dev/null || { echo "go is required to build the Rego evaluator (tools/opa)" >&2; exit 1; }
mkdir -p "$(dirname "$out")"
(cd "$src" && CGO_ENABLED=0 go build -trimpath -o "$out-$stamp.tmp" . && mv "$out-$stamp.tmp" "$out-$stamp") >&2
echo "$out-$stamp"
