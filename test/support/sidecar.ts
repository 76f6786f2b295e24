// A workload for mesh tests: a small Node app and its Envoy sidecar, both in
// the workload's own network namespace. The sidecar is the pinned Envoy binary
// run as a child process (with group 1337, which the capture rules exempt);
// its bootstrap is envoy-configs/sidecar.yaml and everything else comes from
// meshplane.
import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { REPO_ROOT } from './envoy.js';
import { waitFor } from './net.js';
import { ADMIN_PORT, CONTROL_PORT, type Netns } from './netns.js';

export interface Workload {
  name: string;
  namespace: string;
  ns: Netns;
  /** The app asks its sidecar to reach a destination (transparent capture), as `curl` in the pod would. */
  call(target: { addr: string; port: number; host: string; path: string; headers?: Record<string, string> }): Promise<{ status: number; body: string; error?: string }>;
  admin(path: string): Promise<string>;
  logs(): string;
  stop(): Promise<void>;
}

function envoyBinary(): string {
  if (process.env.ENVOY_BIN && existsSync(process.env.ENVOY_BIN)) return process.env.ENVOY_BIN;
  return execFileSync(join(REPO_ROOT, 'scripts/install-envoy.sh'), { encoding: 'utf8' }).trim();
}

/** mTLS to meshplane's xDS port: files written by `meshplane identity`. */
export interface SidecarTls {
  cert: string;
  key: string;
  ca: string;
}

export function sidecarBootstrap(opts: { namespace: string; pod: string; xdsAddress: string; xdsPort: number; tls?: SidecarTls }): string {
  const b = parse(readFileSync(join(REPO_ROOT, 'envoy-configs/sidecar.yaml'), 'utf8'));
  b.node.id = `${opts.pod}.${opts.namespace}`;
  b.node.cluster = `${opts.namespace}/${opts.pod}`;
  b.node.metadata = { role: 'sidecar', namespace: opts.namespace, name: opts.pod };
  const addr = b.static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address;
  addr.address = opts.xdsAddress;
  addr.port_value = opts.xdsPort;
  if (opts.tls) {
    b.static_resources.clusters[0].transport_socket = {
      name: 'envoy.transport_sockets.tls',
      typed_config: {
        '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
        common_tls_context: {
          tls_certificates: [{ certificate_chain: { filename: opts.tls.cert }, private_key: { filename: opts.tls.key } }],
          validation_context: { trusted_ca: { filename: opts.tls.ca } },
        },
      },
    };
  }
  return stringify(b);
}

const collect = (child: ChildProcess, into: string[]) => {
  child.stdout!.on('data', (c) => into.push(String(c)));
  child.stderr!.on('data', (c) => into.push(String(c)));
};

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
  if (child.exitCode === null) child.kill('SIGKILL');
}

export async function startWorkload(ns: Netns, opts: { namespace: string; pod: string; port: number; xdsAddress: string; xdsPort: number; tls?: SidecarTls; readyTimeoutMs?: number }): Promise<Workload> {
  const out: string[] = [];
  const app = ns.spawn(process.execPath, [join(REPO_ROOT, 'test/support/sidecar-app.mjs'), opts.pod, String(opts.port), String(CONTROL_PORT)]);
  collect(app, out);
  const envoy = ns.spawn(envoyBinary(), ['--config-yaml', sidecarBootstrap(opts), '--disable-hot-restart', '--log-level', 'warn', '--drain-time-s', '1'], { sidecarGroup: true });
  collect(envoy, out);
  const base = `http://${ns.ip}`;
  const w: Workload = {
    name: opts.pod,
    namespace: opts.namespace,
    ns,
    async call(t) {
      const q = new URLSearchParams({ addr: t.addr, port: String(t.port), host: t.host, path: t.path });
      for (const [k, v] of Object.entries(t.headers ?? {})) q.append('h', `${k}:${v}`);
      const r = await fetch(`${base}:${CONTROL_PORT}/call?${q}`);
      return (await r.json()) as { status: number; body: string; error?: string };
    },
    admin: async (path) => (await fetch(`${base}:${ADMIN_PORT}${path}`)).text(),
    logs: () => out.join(''),
    stop: async () => {
      await Promise.all([stopChild(envoy), stopChild(app)]);
    },
  };
  await waitFor(`${opts.pod}'s app`, async () => ((await fetch(`${base}:${CONTROL_PORT}/`).catch(() => undefined))?.ok ? true : undefined), 15_000).catch((e) => {
    throw new Error(`${(e as Error).message}\n${w.logs()}`);
  });
  // Ready means the sidecar holds its listeners, clusters and certificate from meshplane.
  await waitFor(`${opts.pod}'s sidecar`, async () => {
    if (envoy.exitCode !== null) throw new Error(`Envoy exited with ${envoy.exitCode}:\n${w.logs().slice(-3000)}`);
    const r = await fetch(`${base}:${ADMIN_PORT}/ready`).catch(() => undefined);
    return r?.ok ? true : undefined;
  }, opts.readyTimeoutMs ?? 30_000).catch(async (e) => {
    await w.stop();
    throw new Error(`${(e as Error).message}\n${w.logs().slice(-3000)}`);
  });
  return w;
}

export interface GatewayProcess {
  adminPort: number;
  logs(): string;
  stop(): Promise<void>;
}

/**
 * A gateway Envoy for mesh tests: the pinned binary as a child process on the
 * host (envoy-configs/gateway.yaml), talking to meshplane on the test bridge.
 */
export async function startGatewayProcess(opts: { gateway: string; xdsAddress: string; xdsPort: number; adminPort: number }): Promise<GatewayProcess> {
  const b = parse(readFileSync(join(REPO_ROOT, 'envoy-configs/gateway.yaml'), 'utf8'));
  b.node.id = `mesh-gw-${opts.gateway.replace('/', '-')}`;
  b.node.cluster = opts.gateway;
  b.node.metadata = { gateway: opts.gateway };
  const addr = b.static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address;
  addr.address = opts.xdsAddress;
  addr.port_value = opts.xdsPort;
  b.admin.address.socket_address.port_value = opts.adminPort;
  const out: string[] = [];
  const { spawn } = await import('node:child_process');
  const child = spawn(envoyBinary(), ['--config-yaml', stringify(b), '--disable-hot-restart', '--log-level', 'warn', '--drain-time-s', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
  collect(child, out);
  const g: GatewayProcess = { adminPort: opts.adminPort, logs: () => out.join(''), stop: () => stopChild(child) };
  await waitFor('the gateway Envoy', async () => {
    if (child.exitCode !== null) throw new Error(`Envoy exited with ${child.exitCode}:\n${g.logs().slice(-3000)}`);
    const r = await fetch(`http://127.0.0.1:${opts.adminPort}/ready`).catch(() => undefined);
    return r?.ok ? true : undefined;
  }, 30_000);
  return g;
}
