// Runs `meshplane ext-auth` as a child process, the way users run it, against
// the config file a `meshplane serve --ext-auth-config-file` writes.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from './envoy.js';
import { freePort, waitFor } from './net.js';
import { logLines } from './meshplane.js';

export interface ExtAuthHandle {
  port: number;
  logs: string[];
  /** Resolves once the server has loaded a config file version after `since` log lines. */
  loaded(since?: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startExtAuth(configFile: string, extraArgs: string[] = [], env: Record<string, string> = {}): Promise<ExtAuthHandle> {
  const port = await freePort();
  const args = ['--import', 'tsx', join(REPO_ROOT, 'src/cli/main.ts'), 'ext-auth', '--config-file', configFile, '--address', '127.0.0.1', '--port', String(port), '--reload-interval-ms', '200', ...extraArgs];
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOG_LEVEL: 'debug', ...env } });
  const logs = logLines(child);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const alive = () => {
    if (child.exitCode !== null) throw new Error(`meshplane ext-auth exited with ${child.exitCode}:\n${logs.join('\n')}`);
  };
  await waitFor('meshplane ext-auth to serve', () => (alive(), logs.some((l) => l.includes('meshplane ext-auth is serving')) ? true : undefined), 30_000);
  return {
    port,
    logs,
    loaded: async (since = 0) => {
      await waitFor('meshplane ext-auth to load its config', () => (alive(), logs.slice(since).some((l) => l.includes('ext-auth config loaded')) ? true : undefined), 30_000);
    },
    stop: async () => {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 8000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}
