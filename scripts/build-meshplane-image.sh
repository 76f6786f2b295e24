#!/usr/bin/env bash
# Builds the meshplane container image locally with `docker import` (no
# registry, no base image to pull): the Node binary this machine runs and the
# glibc libraries it links, the compiled JavaScript (dist/), production
# dependencies only, the protos; Debian's static tini at /usr/bin/tini (an init
# for the compose demo: SIGTERM reaches node, zombies are reaped) and a
# `meshplane` command (`docker compose exec meshplane meshplane explain ...`).
# Prints the image name (meshplane:<version>).
# Rebuilds only when the content changed. Needs DOCKER_HOST (see docker-up.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
cd "$repo"
version=$(node -p 'require("./package.json").version')
image=${MESHPLANE_IMAGE:-meshplane:$version}

npm run --silent build >&2
tini=/usr/bin/tini-static
[ -x "$tini" ] || { echo "$tini is missing: install Debian's tini package" >&2; exit 1; }
content=$( (find dist proto -type f -print0 | sort -z | xargs -0 sha256sum; sha256sum package.json package-lock.json; node --version; cat "$tini") | sha256sum | cut -c1-16)
if [ "$(docker image inspect "$image" --format '{{ index .Config.Labels "dev.meshplane.content" }}' 2>/dev/null || true)" = "$content" ]; then
  echo "$image"; exit 0
fi

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
app="$root/app"
mkdir -p "$app" "$root/usr/local/bin" "$root/usr/bin" "$root/tmp" "$root/etc" "$root/dev" "$root/var/lib/meshplane"
# /var/lib/meshplane: state files; a volume mounted there starts writable by the meshplane user.
chmod 1777 "$root/tmp" "$root/var/lib/meshplane"
cp "$tini" "$root/usr/bin/tini"
# No shell in the image: the kernel runs this through its #! line.
printf '#!/usr/local/bin/node\nimport("/app/dist/cli/main.js");\n' >"$root/usr/local/bin/meshplane"
chmod 755 "$root/usr/local/bin/meshplane"
cp -r dist proto package.json package-lock.json "$app/"
# Production dependencies: prune a copy of node_modules (no registry access needed).
cp -r node_modules "$app/node_modules"
(cd "$app" && npm prune --omit=dev --ignore-scripts --no-audit --no-fund >/dev/null 2>&1)
find "$app/node_modules" -name '*.map' -delete
node=$(command -v node)
cp -L "$node" "$root/usr/local/bin/node"
for lib in $(ldd "$node" | grep -o '/[^ ]*'); do
  mkdir -p "$root$(dirname "$lib")"; cp -L "$lib" "$root$lib"
done
printf 'root:x:0:0:root:/root:/bin/sh\nmeshplane:x:10001:10001::/app:/sbin/nologin\n' >"$root/etc/passwd"
printf 'root:x:0:\nmeshplane:x:10001:\n' >"$root/etc/group"
printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"
printf '127.0.0.1 localhost\n::1 localhost\n' >"$root/etc/hosts"
tar -C "$root" --owner=0 --group=0 -c . | docker import \
  --change 'ENTRYPOINT ["/usr/local/bin/node", "/app/dist/cli/main.js"]' \
  --change 'CMD ["serve", "--in-cluster"]' \
  --change 'WORKDIR /app' \
  --change 'USER 10001:10001' \
  --change 'ENV NODE_ENV=production' \
  --change 'EXPOSE 18000 9902' \
  --change "LABEL dev.meshplane.content=$content org.opencontainers.image.title=meshplane org.opencontainers.image.version=$version" \
  - "$image" >/dev/null
echo "$image"
