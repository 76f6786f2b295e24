// `meshplane serve` in Kubernetes mode as a child process, and helpers to read
// what it did: statuses written to the API server, its metrics.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from './envoy.js';
import { logLines, type MeshplaneHandle } from './meshplane.js';
import { freePort, waitFor } from './net.js';

export interface KubeMeshplane extends MeshplaneHandle {
  child: ChildProcess;
  /** A Prometheus sample's value (first match), or undefined. */
  metric(name: string, labels?: Record<string, string>): Promise<number | undefined>;
  /** SIGKILL: a crash, no lease release. */
  kill(): Promise<void>;
}

export async function startKubeMeshplane(opts: {
  kubeconfig?: string;
  args?: string[];
  /** Wait for /readyz (default true). */
  ready?: boolean;
  leaderId?: string;
  env?: Record<string, string>;
}): Promise<KubeMeshplane> {
  const xdsPort = await freePort();
  const adminPort = await freePort();
  const args = [
    '--import', 'tsx', join(REPO_ROOT, 'src/cli/main.ts'), 'serve',
    ...(opts.kubeconfig ? ['--kubeconfig', opts.kubeconfig] : []),
    '--xds-address', '127.0.0.1', '--xds-port', String(xdsPort),
    '--admin-port', String(adminPort),
    '--listener-address', '127.0.0.1',
    '--debounce-ms', '100',
    ...(opts.leaderId ? ['--leader-id', opts.leaderId] : []),
    ...(opts.args ?? []),
  ];
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOG_LEVEL: 'debug', ...(opts.env ?? {}) } });
  const logs = logLines(child);
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const base = `http://127.0.0.1:${adminPort}`;
  const get = async (path: string) => (await fetch(base + path)).json();
  if (opts.ready !== false) {
    await waitFor('meshplane /readyz (initial list of every kind, then the first translation)', async () => {
      if (child.exitCode !== null) throw new Error(`meshplane exited with ${child.exitCode}:\n${logs.slice(-40).join('\n')}`);
      const r = await fetch(`${base}/readyz`).catch(() => undefined);
      return r?.ok ? true : undefined;
    }, 60_000);
  }
  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
    child.kill(signal);
    const code = await Promise.race([exited, new Promise<null>((r) => setTimeout(() => r(null), 10_000))]);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    return code;
  };
  return {
    xdsPort,
    adminPort,
    logs,
    child,
    get,
    stop,
    kill: async () => void (await stop('SIGKILL')),
    async metric(name, labels = {}) {
      const text = await (await fetch(`${base}/metrics`)).text();
      for (const line of text.split('\n')) {
        if (!line.startsWith(name)) continue;
        const m = /^([a-z_:]+)(\{[^}]*\})?\s+([-+0-9.eE]+|NaN)$/.exec(line);
        if (!m || m[1] !== name) continue;
        const ok = Object.entries(labels).every(([k, v]) => (m[2] ?? '').includes(`${k}="${v}"`));
        if (ok) return Number(m[3]);
      }
      return undefined;
    },
  };
}

/** A Gloo object's status as the API server has it. */
export async function statusOf(kube: { api(m: string, p: string): Promise<{ status: number; body: any }> }, path: string): Promise<any> {
  const r = await kube.api('GET', path);
  return r.status === 200 ? r.body.status : undefined;
}
