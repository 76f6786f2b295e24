// Network namespaces for mesh tests: one bridge on the host, one namespace per
// workload with a veth on that bridge, and Istio's capture rules inside each
// namespace (iptables REDIRECT: inbound TCP -> :15006, outbound -> :15001,
// except traffic of group 1337, the sidecar's own). Everything is named with
// a per-run prefix and removed by cleanup(), also after a failed run.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';

export const SIDECAR_GID = 1337;
/** Ports inside a workload namespace that are never captured: Envoy admin and the test app's control port. */
export const ADMIN_PORT = 15000;
export const CONTROL_PORT = 15100;

const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
const quiet = (cmd: string, args: string[]) => {
  try {
    sh(cmd, args);
  } catch {
    /* already gone */
  }
};

export interface Netns {
  name: string;
  ip: string;
  /** Starts a process inside the namespace (optionally with the sidecar's group). */
  spawn(cmd: string, args: string[], opts?: { sidecarGroup?: boolean }): ChildProcess;
  run(cmd: string, args: string[]): string;
}

export interface MeshNetwork {
  /** The host's address on the bridge: meshplane's xDS port listens here. */
  hostIp: string;
  /** A workload namespace; `capture: false` for a workload without a sidecar (no iptables rules). */
  add(label: string, opts?: { capture?: boolean }): Netns;
  cleanup(): void;
}

/** Whether this machine can make namespaces (root, ip, iptables). */
export function netnsSupport(): string | undefined {
  if (process.getuid?.() !== 0) return 'mesh tests need root to create network namespaces';
  for (const tool of ['ip', 'iptables', 'setpriv']) {
    try {
      sh('sh', ['-c', `command -v ${tool}`]);
    } catch {
      return `mesh tests need ${tool}`;
    }
  }
  return undefined;
}

export function createMeshNetwork(prefix = 'mesh'): MeshNetwork {
  // A private /24 no interface here uses yet (other test files run their own networks at the same time).
  const inUse = sh('ip', ['-4', '-o', 'addr', 'show']);
  let id = 0;
  let subnet = '';
  for (let tries = 0; tries < 50; tries++) {
    id = Math.floor(Math.random() * 12_500);
    subnet = `10.${200 + (id % 50)}.${Math.floor(id / 50)}`;
    if (!inUse.includes(` ${subnet}.`)) break;
  }
  const tag = id.toString(36);
  const bridge = `${prefix}br${tag}`.slice(0, 15);
  const hostIp = `${subnet}.1`;
  const made: Netns[] = [];
  const forwardRule = ['FORWARD', '-i', bridge, '-o', bridge, '-j', 'ACCEPT'];
  sh('ip', ['link', 'add', bridge, 'type', 'bridge']);
  sh('ip', ['addr', 'add', `${hostIp}/24`, 'dev', bridge]);
  sh('ip', ['link', 'set', bridge, 'up']);
  // The host may filter bridged traffic (br_netfilter); let this bridge's through.
  quiet('iptables', ['-I', ...forwardRule]);

  const net: MeshNetwork = {
    hostIp,
    add(label, opts) {
      const n = made.length + 2;
      const name = `${prefix}-${tag}-${label}`;
      const host = `${prefix}h${tag}${n}`.slice(0, 15);
      const peer = `${prefix}p${tag}${n}`.slice(0, 15);
      const ip = `${subnet}.${n}`;
      const ns: Netns = {
        name,
        ip,
        spawn: (cmd, args, opts) =>
          spawn('ip', ['netns', 'exec', name, ...(opts?.sidecarGroup ? ['setpriv', `--regid=${SIDECAR_GID}`, '--clear-groups'] : []), cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }),
        run: (cmd, args) => sh('ip', ['netns', 'exec', name, cmd, ...args]),
      };
      made.push(ns);
      sh('ip', ['netns', 'add', name]);
      sh('ip', ['link', 'add', host, 'type', 'veth', 'peer', 'name', peer]);
      sh('ip', ['link', 'set', peer, 'netns', name]);
      sh('ip', ['link', 'set', host, 'master', bridge, 'up']);
      sh('ip', ['-n', name, 'addr', 'add', `${ip}/24`, 'dev', peer]);
      sh('ip', ['-n', name, 'link', 'set', peer, 'up']);
      sh('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
      sh('ip', ['-n', name, 'route', 'add', 'default', 'via', hostIp]);
      if (opts?.capture === false) return ns;
      const ipt = (...args: string[]) => ns.run('iptables', ['-t', 'nat', ...args]);
      // Inbound: everything but the uncaptured ports goes to the sidecar's inbound listener.
      ipt('-N', 'MESH_INBOUND');
      ipt('-A', 'MESH_INBOUND', '-p', 'tcp', '--dport', String(ADMIN_PORT), '-j', 'RETURN');
      ipt('-A', 'MESH_INBOUND', '-p', 'tcp', '--dport', String(CONTROL_PORT), '-j', 'RETURN');
      ipt('-A', 'MESH_INBOUND', '-p', 'tcp', '-j', 'REDIRECT', '--to-ports', '15006');
      ipt('-A', 'PREROUTING', '-p', 'tcp', '-j', 'MESH_INBOUND');
      // Outbound: the app's connections go to the outbound listener; the sidecar's own (group 1337) and loopback do not.
      ipt('-N', 'MESH_OUTPUT');
      ipt('-A', 'MESH_OUTPUT', '-m', 'owner', '--gid-owner', String(SIDECAR_GID), '-j', 'RETURN');
      ipt('-A', 'MESH_OUTPUT', '-d', '127.0.0.1/32', '-j', 'RETURN');
      ipt('-A', 'MESH_OUTPUT', '-p', 'tcp', '-j', 'REDIRECT', '--to-ports', '15001');
      ipt('-A', 'OUTPUT', '-p', 'tcp', '-j', 'MESH_OUTPUT');
      return ns;
    },
    cleanup() {
      for (const ns of made) {
        // Kill whatever still runs inside (only our own processes live there).
        quiet('ip', ['netns', 'pids', ns.name]);
        try {
          for (const pid of sh('ip', ['netns', 'pids', ns.name]).split(/\s+/).filter(Boolean)) quiet('kill', ['-9', pid]);
        } catch {
          /* gone */
        }
        quiet('ip', ['netns', 'del', ns.name]);
      }
      quiet('iptables', ['-D', ...forwardRule]);
      quiet('ip', ['link', 'del', bridge]);
    },
  };
  return net;
}
