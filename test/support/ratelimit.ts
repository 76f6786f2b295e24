// Redis (Debian's redis-server) and the reference rate-limit service (built
// by scripts/build-ratelimit.sh), as child processes on loopback.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './envoy.js';
import { freePort, waitFor } from './net.js';

export interface Proc {
  port: number;
  logs(): string;
  stop(): Promise<void>;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): { child: ChildProcess; logs: () => string } {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let out = '';
  child.stdout!.on('data', (c) => (out += c));
  child.stderr!.on('data', (c) => (out += c));
  child.on('error', (err) => (out += `\nspawn error: ${err.message}`));
  return { child, logs: () => out };
}

const stopper = (child: ChildProcess) => async () => {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
  if (child.exitCode === null) child.kill('SIGKILL');
};

export async function startRedis(): Promise<Proc> {
  const port = await freePort();
  const { child, logs } = run('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']);
  await waitFor('redis to accept connections', () => (logs().includes('Ready to accept connections') ? true : undefined), 10_000).catch((e) => {
    throw new Error(`${(e as Error).message}\n${logs()}`);
  });
  return { port, logs, stop: stopper(child) };
}

/** The rate-limit service, reading its config from `<runtimeRoot>/ratelimit/config`. */
export async function startRateLimitService(redisPort: number, runtimeRoot: string): Promise<Proc & { configDir: string; debugPort: number }> {
  const bin = execFileSync(join(REPO_ROOT, 'scripts/build-ratelimit.sh'), { encoding: 'utf8' }).trim();
  const [port, httpPort, debugPort] = [await freePort(), await freePort(), await freePort()];
  const configDir = join(runtimeRoot, 'ratelimit', 'config');
  mkdirSync(configDir, { recursive: true });
  const { child, logs } = run(bin, [], {
    USE_STATSD: 'false',
    LOG_LEVEL: 'info',
    REDIS_SOCKET_TYPE: 'tcp',
    REDIS_URL: `127.0.0.1:${redisPort}`,
    RUNTIME_ROOT: runtimeRoot,
    RUNTIME_SUBDIRECTORY: 'ratelimit',
    RUNTIME_WATCH_ROOT: 'false',
    RUNTIME_IGNOREDOTFILES: 'true',
    HOST: '127.0.0.1',
    PORT: String(httpPort),
    GRPC_HOST: '127.0.0.1',
    GRPC_PORT: String(port),
    DEBUG_HOST: '127.0.0.1',
    DEBUG_PORT: String(debugPort),
  });
  await waitFor('the rate-limit service health check', async () => {
    if (child.exitCode !== null) throw new Error(`rate-limit service exited ${child.exitCode}`);
    const r = await fetch(`http://127.0.0.1:${httpPort}/healthcheck`).catch(() => undefined);
    return r?.ok ? true : undefined;
  }, 20_000).catch((e) => {
    throw new Error(`${(e as Error).message}\n${logs().slice(-3000)}`);
  });
  return { port, debugPort, configDir, logs, stop: stopper(child) };
}
