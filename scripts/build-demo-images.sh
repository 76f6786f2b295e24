#!/usr/bin/env bash
# Builds every image the compose demo (docker-compose.yml) runs, locally, with
# `docker import` of what this machine has: no registry, no base image to pull.
#   meshplane-demo/meshplane:local  meshplane's image (build-meshplane-image.sh), also runs the demo apps
#   meshplane-demo/envoy:local      the pinned Envoy (build-envoy-image.sh)
#   meshplane-demo/ratelimit:local  the reference rate-limit service (build-ratelimit.sh) under tini
#   meshplane-demo/redis:local      Debian's redis-server and the libraries it links, under tini
# Each is rebuilt only when its content changed. Needs DOCKER_HOST (see docker-up.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tini=/usr/bin/tini-static
[ -x "$tini" ] || { echo "$tini is missing: install Debian's tini package" >&2; exit 1; }
log() { echo "build-demo-images: $*" >&2; }

docker tag "$("$here/build-meshplane-image.sh")" meshplane-demo/meshplane:local
docker tag "$("$here/build-envoy-image.sh")" meshplane-demo/envoy:local

# import_rootfs IMAGE CONTENT USER ENTRYPOINT-JSON CMD-JSON BINARY...: a root
# filesystem with tini, the binaries at /usr/local/bin and the libraries they link.
import_rootfs() {
  local image=$1 content=$2 user=$3 entrypoint=$4 cmd=$5; shift 5
  if [ "$(docker image inspect "$image" --format '{{ index .Config.Labels "dev.meshplane.content" }}' 2>/dev/null || true)" = "$content" ]; then return 0; fi
  log "importing $image"
  local root; root=$(mktemp -d)
  trap "rm -rf '$root'" EXIT
  mkdir -p "$root/usr/local/bin" "$root/usr/bin" "$root/etc" "$root/tmp" "$root/dev" "$root/data"
  chmod 1777 "$root/tmp" "$root/data"
  cp "$tini" "$root/usr/bin/tini"
  local bin lib
  for bin in "$@"; do
    cp -L "$bin" "$root/usr/local/bin/$(basename "$bin" | sed 's/-[0-9a-f]\{16\}$//')"
    for lib in $(ldd "$bin" 2>/dev/null | grep -o '/[^ ]*' || true); do
      mkdir -p "$root$(dirname "$lib")"; cp -L "$lib" "$root$lib"
    done
  done
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
  printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"
  printf '127.0.0.1 localhost\n::1 localhost\n' >"$root/etc/hosts"
  tar -C "$root" --owner=0 --group=0 -c . | docker import \
    --change "ENTRYPOINT $entrypoint" --change "CMD $cmd" --change "USER $user" --change 'WORKDIR /data' \
    --change "LABEL dev.meshplane.content=$content" - "$image" >/dev/null
  rm -rf "$root"
}

rls=$("$here/build-ratelimit.sh")
import_rootfs meshplane-demo/ratelimit:local "$(cat "$rls" "$tini" | sha256sum | cut -c1-16)" 65534:65534 \
  '["/usr/bin/tini", "--", "/usr/local/bin/ratelimit"]' '[]' "$rls"

redis=$(command -v redis-server) || { echo "redis-server is missing: install Debian's redis-server package" >&2; exit 1; }
import_rootfs meshplane-demo/redis:local "$( (cat "$redis" "$tini"; ldd "$redis" | grep -o "/[^ ]*") | sha256sum | cut -c1-16)" 65534:65534 \
  '["/usr/bin/tini", "--", "/usr/local/bin/redis-server"]' '["--bind", "0.0.0.0", "--protected-mode", "no", "--save", "", "--appendonly", "no"]' "$redis"

echo meshplane-demo/meshplane:local meshplane-demo/envoy:local meshplane-demo/ratelimit:local meshplane-demo/redis:local
