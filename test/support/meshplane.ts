// Runs `meshplane serve` as a child process, the way users run it.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT, startEnvoy, type EnvoyHandle, type EnvoyOptions } from './envoy.js';
import { waitFor } from './net.js';

/** meshplane's warning and error lines, for failure messages. */
export const problems = (mp: MeshplaneHandle): string =>
  mp.logs.filter((l) => /"level":(40|50|60)/.test(l)).slice(-20).join('\n');

/** A child's stdout and stderr as a growing list of lines (meshplane logs JSON lines on both). */
export function logLines(child: ChildProcess): string[] {
  const logs: string[] = [];
  let buf = '';
  const onData = (c: Buffer) => {
    buf += c.toString();
    const lines = buf.split('\n');
    buf = lines.pop()!;
    logs.push(...lines.filter(Boolean));
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  return logs;
}

export interface MeshplaneHandle {
  xdsPort: number;
  adminPort: number;
  /** Every log line so far (JSON). */
  logs: string[];
  get(path: string): Promise<unknown>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** compiled: run dist/ (`npm run build` first) as users run `meshplane serve`; the tests run src/ through tsx. */
export async function startMeshplane(opts: { configDir: string; xdsPort: number; adminPort: number; extraArgs?: string[]; readyTimeoutMs?: number; compiled?: boolean; nodeArgs?: string[] }): Promise<MeshplaneHandle> {
  const args = [
    ...(opts.nodeArgs ?? []),
    ...(opts.compiled ? [join(REPO_ROOT, 'dist/cli/main.js')] : ['--import', 'tsx', join(REPO_ROOT, 'src/cli/main.ts')]), 'serve',
    '--config-dir', opts.configDir,
    '--xds-address', '127.0.0.1', '--xds-port', String(opts.xdsPort),
    '--admin-port', String(opts.adminPort),
    '--listener-address', '127.0.0.1',
    '--debounce-ms', '100',
    ...(opts.extraArgs ?? []),
  ];
  const child: ChildProcess = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOG_LEVEL: 'debug' } });
  const logs = logLines(child);
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const get = async (path: string) => (await fetch(`http://127.0.0.1:${opts.adminPort}${path}`)).json();
  await waitFor('meshplane /readyz', async () => {
    if (child.exitCode !== null) throw new Error(`meshplane exited with ${child.exitCode}:\n${logs.join('\n')}`);
    const r = await fetch(`http://127.0.0.1:${opts.adminPort}/readyz`).catch(() => undefined);
    return r?.ok ? true : undefined;
  }, opts.readyTimeoutMs ?? 20_000);
  return {
    xdsPort: opts.xdsPort,
    adminPort: opts.adminPort,
    logs,
    get,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode !== null) return child.exitCode;
      child.kill(signal);
      const code = await Promise.race([exited, new Promise<null>((r) => setTimeout(() => r(null), 8000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
      return code;
    },
  };
}

/** Starts Envoy against this meshplane; a failure message carries both sides' complaints. */
export async function startEnvoyFor(mp: MeshplaneHandle, opts: EnvoyOptions): Promise<EnvoyHandle> {
  try {
    return await startEnvoy(opts);
  } catch (err) {
    throw new Error(`${(err as Error).message}\nmeshplane warnings and errors:\n${problems(mp)}`);
  }
}
