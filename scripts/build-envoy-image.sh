#!/usr/bin/env bash
# Builds the Envoy image locally (no registry is reachable here) from the pinned
# official binary and tags it as the public image users pull.
# Needs DOCKER_HOST (see docker-up.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/envoy-version.sh"
if docker image inspect "$ENVOY_IMAGE" >/dev/null 2>&1; then echo "$ENVOY_IMAGE"; exit 0; fi
bin=$("$here/install-envoy.sh")
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/usr/local/bin" "$root/etc/envoy" "$root/tmp" "$root/dev"
chmod 1777 "$root/tmp"
cp "$bin" "$root/usr/local/bin/envoy"
# The binary is dynamically linked against glibc only: copy what ldd names.
for lib in $(ldd "$bin" | grep -o '/[^ ]*'); do
  mkdir -p "$root$(dirname "$lib")"; cp -L "$lib" "$root$lib"
done
printf 'root:x:0:0:root:/root:/bin/sh\nenvoy:x:101:101::/home/envoy:/bin/sh\n' >"$root/etc/passwd"
printf 'root:x:0:\nenvoy:x:101:\n' >"$root/etc/group"
printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"
printf '127.0.0.1 localhost\n::1 localhost\n' >"$root/etc/hosts"
tar -C "$root" -c . | docker import \
  --change 'ENTRYPOINT ["/usr/local/bin/envoy"]' \
  --change 'CMD ["-c", "/etc/envoy/envoy.yaml"]' \
  - "$ENVOY_IMAGE" >/dev/null
echo "$ENVOY_IMAGE"
