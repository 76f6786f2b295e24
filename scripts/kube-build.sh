#!/usr/bin/env bash
# Builds the Kubernetes tools the tests need from source through the Go module
# proxy (nothing comes from a container registry or a download site) and prints
# the directory that holds them:
#   kube-apiserver-v$K8S_VERSION, kubectl-v$K8S_VERSION, etcd-v$ETCD_VERSION, helm-v$HELM_VERSION
# Binaries are cached in ~/.cache/meshplane/kube and rebuilt only when missing.
# A cold build takes 15-25 minutes on 2 cores (the apiserver is most of it).
#
# Usage: scripts/kube-build.sh [etcd] [kube-apiserver] [kubectl] [helm]   (default: all)
set -euo pipefail
K8S_VERSION=${K8S_VERSION:-1.37.2}
ETCD_VERSION=${ETCD_VERSION:-3.7.3}
HELM_VERSION=${HELM_VERSION:-3.22.0}
out=${MESHPLANE_KUBE_BIN_DIR:-${MESHPLANE_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/meshplane}/kube}
export GOWORK=off GOFLAGS=-buildvcs=false CGO_ENABLED=0
wanted=("$@")
[ ${#wanted[@]} -eq 0 ] && wanted=(etcd kube-apiserver kubectl helm)

bin_of() {
  case "$1" in
    etcd) echo "$out/etcd-v$ETCD_VERSION" ;;
    kube-apiserver|kubectl) echo "$out/$1-v$K8S_VERSION" ;;
    helm) echo "$out/helm-v$HELM_VERSION" ;;
    *) echo "$out/unknown-$1" ;;
  esac
}
# Everything cached: answer at once, without waiting for another build's lock.
all=1
for w in "${wanted[@]}"; do [ -x "$(bin_of "$w")" ] || all=""; done
if [ -n "$all" ]; then echo "$out"; exit 0; fi

mkdir -p "$out/.build"
log() { echo "kube-build: $*" >&2; }
command -v go >/dev/null || { log "go is required (the tools are built through the Go module proxy)"; exit 1; }

# One build at a time per cache directory (CI and parallel test runs share it).
exec 9>"$out/.build/lock"
flock 9

k8s_minor=$(echo "$K8S_VERSION" | cut -d. -f2)
staging="v0.${K8S_VERSION#*.}"
version_flags() {
  # Make /version and `kubectl version` report the real version instead of v0.0.0-master.
  local v="v$K8S_VERSION" f=""
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    f="$f -X $pkg.gitVersion=$v -X $pkg.gitMajor=1 -X $pkg.gitMinor=$k8s_minor -X $pkg.gitTreeState=clean"
  done
  echo "-s -w$f"
}

# A wrapper module: k8s.io/kubernetes replaces its staging repos with ./staging
# paths, which `go install pkg@version` refuses. We require it and pin every
# staging repo to its published v0.X.Y instead (the list comes from its go.mod).
kube_module() {
  local dir="$out/.build/kubernetes-v$K8S_VERSION"
  if [ ! -f "$dir/.tidy-ok" ]; then
    rm -rf "$dir"; mkdir -p "$dir"
    log "preparing the k8s.io/kubernetes v$K8S_VERSION wrapper module"
    local gomod
    gomod=$(cd "$dir" && go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
    [ -f "$gomod" ] || { log "could not download k8s.io/kubernetes@v$K8S_VERSION"; exit 1; }
    {
      echo "module meshplane.local/kube-build"
      echo; echo "go 1.26.0"; echo
      echo "require k8s.io/kubernetes v$K8S_VERSION"; echo
      echo "replace ("
      grep -oE '^\s*k8s\.io/[A-Za-z0-9._/-]+ => \./staging/' "$gomod" | awk -v v="$staging" '{print "\t" $1 " => " $1 " " v}'
      echo ")"
    } >"$dir/go.mod"
    printf '//go:build tools\n\npackage tools\n\nimport (\n\t_ "k8s.io/kubernetes/cmd/kube-apiserver"\n\t_ "k8s.io/kubernetes/cmd/kubectl"\n)\n' >"$dir/tools.go"
    (cd "$dir" && go mod tidy) >&2
    touch "$dir/.tidy-ok"
  fi
  echo "$dir"
}

build_kube() { # $1 = kube-apiserver | kubectl
  local bin="$out/$1-v$K8S_VERSION"
  [ -x "$bin" ] && return 0
  local dir; dir=$(kube_module)
  log "building $1 v$K8S_VERSION (minutes; the apiserver takes 12-25 min cold on 2 cores)"
  (cd "$dir" && go build -trimpath -ldflags "$(version_flags)" -o "$bin.tmp" "k8s.io/kubernetes/cmd/$1") >&2
  mv "$bin.tmp" "$bin"
}

build_etcd() {
  local bin="$out/etcd-v$ETCD_VERSION" dir="$out/.build/etcd-v$ETCD_VERSION"
  [ -x "$bin" ] && return 0
  if [ ! -f "$dir/.tidy-ok" ]; then
    rm -rf "$dir"; mkdir -p "$dir"
    printf 'module meshplane.local/etcd-build\n\ngo 1.26.0\n\nrequire go.etcd.io/etcd/server/v3 v%s\n' "$ETCD_VERSION" >"$dir/go.mod"
    printf '//go:build tools\n\npackage tools\n\nimport _ "go.etcd.io/etcd/server/v3"\n' >"$dir/tools.go"
    (cd "$dir" && go mod tidy) >&2
    touch "$dir/.tidy-ok"
  fi
  log "building etcd v$ETCD_VERSION (about 2 minutes cold)"
  (cd "$dir" && go build -trimpath -ldflags "-s -w" -o "$bin.tmp" go.etcd.io/etcd/server/v3) >&2
  mv "$bin.tmp" "$bin"
}

build_helm() {
  local bin="$out/helm-v$HELM_VERSION" dir="$out/.build/helm-v$HELM_VERSION"
  [ -x "$bin" ] && return 0
  if [ ! -f "$dir/.tidy-ok" ]; then
    rm -rf "$dir"; mkdir -p "$dir"
    printf 'module meshplane.local/helm-build\n\ngo 1.26.0\n\nrequire helm.sh/helm/v3 v%s\n' "$HELM_VERSION" >"$dir/go.mod"
    printf '//go:build tools\n\npackage tools\n\nimport _ "helm.sh/helm/v3/cmd/helm"\n' >"$dir/tools.go"
    (cd "$dir" && go mod tidy) >&2
    touch "$dir/.tidy-ok"
  fi
  log "building helm v$HELM_VERSION (several minutes cold)"
  (cd "$dir" && go build -trimpath -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=v$HELM_VERSION" -o "$bin.tmp" helm.sh/helm/v3/cmd/helm) >&2
  mv "$bin.tmp" "$bin"
}

for w in "${wanted[@]}"; do
  case "$w" in
    etcd) build_etcd ;;
    kube-apiserver|kubectl) build_kube "$w" ;;
    helm) build_helm ;;
    *) log "unknown tool '$w' (etcd, kube-apiserver, kubectl, helm)"; exit 2 ;;
  esac
done
echo "$out"
