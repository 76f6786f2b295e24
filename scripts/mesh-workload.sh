#!/usr/bin/env bash
# Puts a workload in its own network namespace with Istio-style capture
# (docs/mesh.md), for trying mesh mode by hand. As root:
#   scripts/mesh-workload.sh up   NAME IP [BRIDGE] [HOST_IP]   e.g. up productpage 10.99.0.2
#   scripts/mesh-workload.sh down NAME [BRIDGE]
# The bridge (default meshdemo0, host address 10.99.0.1/24) is created on
# first use and removed with the last workload. Inside the namespace, inbound
# TCP goes to :15006 and outbound TCP to :15001, except traffic of group 1337
# (run the sidecar with `setpriv --regid=1337 --clear-groups envoy ...`),
# loopback, and ports 15000 (Envoy admin) and 15100.
set -euo pipefail
cmd=${1:?up or down}; name=${2:?workload name}
if [ "$cmd" = up ]; then
  ip_addr=${3:?IP address}; br=${4:-meshdemo0}; host_ip=${5:-10.99.0.1}
  if ! ip link show "$br" >/dev/null 2>&1; then
    ip link add "$br" type bridge && ip addr add "$host_ip/24" dev "$br" && ip link set "$br" up
    iptables -I FORWARD -i "$br" -o "$br" -j ACCEPT
  fi
  ns="mesh-$name"; veth="mv${name:0:10}"
  ip netns add "$ns"
  ip link add "$veth" type veth peer name eth0 netns "$ns"
  ip link set "$veth" master "$br" up
  ip -n "$ns" addr add "$ip_addr/24" dev eth0
  ip -n "$ns" link set eth0 up; ip -n "$ns" link set lo up
  ip -n "$ns" route add default via "$host_ip"
  nat() { ip netns exec "$ns" iptables -t nat "$@"; }
  nat -N MESH_INBOUND
  nat -A MESH_INBOUND -p tcp --dport 15000 -j RETURN
  nat -A MESH_INBOUND -p tcp --dport 15100 -j RETURN
  nat -A MESH_INBOUND -p tcp -j REDIRECT --to-ports 15006
  nat -A PREROUTING -p tcp -j MESH_INBOUND
  nat -N MESH_OUTPUT
  nat -A MESH_OUTPUT -m owner --gid-owner 1337 -j RETURN
  nat -A MESH_OUTPUT -d 127.0.0.1/32 -j RETURN
  nat -A MESH_OUTPUT -p tcp -j REDIRECT --to-ports 15001
  nat -A OUTPUT -p tcp -j MESH_OUTPUT
  echo "namespace $ns ready at $ip_addr; run things in it with: ip netns exec $ns <command>"
else
  br=${3:-meshdemo0}
  ip netns pids "mesh-$name" 2>/dev/null | xargs -r kill
  ip netns del "mesh-$name"
  sleep 0.5 # the veth leaves the bridge when the namespace is gone
  if ! ls /sys/class/net/"$br"/brif 2>/dev/null | grep -q .; then
    iptables -D FORWARD -i "$br" -o "$br" -j ACCEPT 2>/dev/null || true
    ip link del "$br" 2>/dev/null || true
  fi
fi
