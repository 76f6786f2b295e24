// The compose demo (docker-compose.yml + examples/demo), as a user runs it:
// images built locally by scripts/build-demo-images.sh, `docker compose up`
// with compose v2 (built by scripts/build-compose.sh) against a private Docker
// engine, then the README walkthrough's curls and `meshplane explain`, then
// every container stopped with SIGTERM, timed. Fails when any part cannot start.
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/envoy.js';
import { freePort, waitFor } from '../support/net.js';

const run = promisify(execFile);
const TOKEN = readFileSync(join(REPO_ROOT, 'examples/demo/admin-token'), 'utf8').trim();

interface Curl { status: number; headers: Record<string, string>; body: string }

describe('the docker compose demo', () => {
  let env: NodeJS.ProcessEnv;
  let dockerConfig: string;
  let startedEngine = false;
  const project = `demo-test-${process.pid}`;
  const ports = { http: 0, admin: 0, envoyAdmin: 0 };

  const compose = async (...args: string[]) =>
    (await run('docker', ['compose', '-p', project, '-f', join(REPO_ROOT, 'docker-compose.yml'), ...args], { env, cwd: REPO_ROOT, maxBuffer: 64 << 20 })).stdout;
  const logs = async () => compose('logs', '--no-color', '--tail', '60').catch((e) => `(no logs: ${(e as Error).message})`);
  // curl, as the README runs it: `curl -si -H 'Host: shop.example.com' localhost:$PORT<path>`.
  const curl = async (path: string, headers: Record<string, string> = {}): Promise<Curl> => {
    const args = ['-si', '--max-time', '10', '-H', 'Host: shop.example.com', ...Object.entries(headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]), `http://127.0.0.1:${ports.http}${path}`];
    const out = (await run('curl', args).catch((e) => ({ stdout: String((e as { stdout?: string }).stdout ?? '') }))).stdout;
    const [head, ...rest] = out.split('\r\n\r\n');
    const lines = head.split('\r\n');
    const status = Number(lines[0]?.split(' ')[1] ?? 0) || 0;
    const hdrs = Object.fromEntries(lines.slice(1).map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
    return { status, headers: hdrs, body: rest.join('\r\n\r\n') };
  };
  const meshplaneExplain = (...args: string[]) =>
    compose('exec', '-T', 'meshplane', 'meshplane', 'explain', '--config-dir', '/demo/config', '--settings', '/demo/settings.yaml', ...args);

  beforeAll(async () => {
    env = { ...process.env };
    if (!env.DOCKER_HOST) {
      // Our own engine (scripts/docker-up.sh in MESHPLANE_DOCKER_DIR), as npm test starts one.
      env.DOCKER_HOST = execFileSync(join(REPO_ROOT, 'scripts/docker-up.sh'), { encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'inherit'] }).trim();
      startedEngine = true;
    }
    // docker compose v2 as a CLI plugin, from a DOCKER_CONFIG of our own.
    const composeBin = execFileSync(join(REPO_ROOT, 'scripts/build-compose.sh'), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
    dockerConfig = mkdtempSync(join(tmpdir(), 'meshplane-demo-docker-config-'));
    mkdirSync(join(dockerConfig, 'cli-plugins'));
    symlinkSync(composeBin, join(dockerConfig, 'cli-plugins', 'docker-compose'));
    env.DOCKER_CONFIG = dockerConfig;
    const version = (await run('docker', ['compose', 'version', '--short'], { env })).stdout.trim();
    expect(version).toMatch(/^v?2\./);
    execFileSync(join(REPO_ROOT, 'scripts/build-demo-images.sh'), { env, stdio: ['ignore', 'ignore', 'inherit'] });
    [ports.http, ports.admin, ports.envoyAdmin] = [await freePort(), await freePort(), await freePort()];
    Object.assign(env, { DEMO_HTTP_PORT: String(ports.http), DEMO_ADMIN_PORT: String(ports.admin), DEMO_ENVOY_ADMIN_PORT: String(ports.envoyAdmin) });
    await compose('up', '-d', '--no-build', '--pull', 'never').catch(async (e) => {
      throw new Error(`docker compose up failed: ${(e as { stderr?: string }).stderr ?? (e as Error).message}\n${await logs()}`);
    });
    const failWithLogs = async (e: unknown): Promise<never> => {
      throw new Error(`${(e as Error).message}\n${await logs()}`);
    };
    await waitFor('the gateway to route shop.example.com', async () => ((await curl('/')).status === 200 ? true : undefined), 90_000, 500).catch(failWithLogs);
    await waitFor('ext auth to answer (401 without a key)', async () => ((await curl('/api/orders')).status === 401 ? true : undefined), 60_000, 500).catch(failWithLogs);
    // The rate-limit service loads the config meshplane writes into the shared volume.
    await waitFor('the rate-limit service to load the demo domain', async () => (/Successfully loaded the initial ratelimit configs/.test(await compose('logs', '--no-color', 'ratelimit')) ? true : undefined), 60_000, 500).catch(failWithLogs);
  }, 1_200_000); // a cold run builds compose v2, dist/ and four images

  afterAll(async () => {
    if (env?.DOCKER_CONFIG) await compose('down', '--volumes', '--remove-orphans', '--timeout', '1').catch(() => undefined);
    if (dockerConfig) rmSync(dockerConfig, { recursive: true, force: true });
    if (startedEngine) execFileSync(join(REPO_ROOT, 'scripts/docker-down.sh'), { env, stdio: 'ignore' });
  }, 120_000);

  it('never pulls: every service names a local image with pull_policy never', async () => {
    const config = JSON.parse(await compose('config', '--format', 'json')) as { services: Record<string, { image: string; pull_policy?: string; build?: unknown }> };
    expect(Object.keys(config.services).sort()).toEqual(['api-app', 'ext-auth', 'gateway', 'meshplane', 'ratelimit', 'redis', 'web-app']);
    for (const [name, s] of Object.entries(config.services)) expect([name, s.pull_policy]).toEqual([name, 'never']);
  });

  it('the web team\'s route: its app, with the label-attached header policy', async () => {
    const r = await curl('/');
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body).app).toBe('web-app');
    expect(r.headers['x-served-by']).toBe('meshplane-demo');
  });

  it('ext auth: /api/orders answers 401 without an API key, and reaches the api team\'s app (delegated) with one', async () => {
    const denied = await curl('/api/orders');
    expect(denied.status).toBe(401);
    expect(denied.body).toMatch(/API key missing/); // meshplane ext-auth, glooAuth apiKeyAuth
    expect((await curl('/api/orders', { 'api-key': 'not-a-key' })).status).toBe(401);
    const ok = await curl('/api/orders', { 'api-key': 'demo-key' });
    expect(ok.status).toBe(200);
    const body = JSON.parse(ok.body);
    expect(body.app).toBe('api-app'); // web's table delegated /api to the api team's table
    expect(body.headers['x-user']).toBe('alice'); // from the key Secret's user-id, set by meshplane ext-auth
    expect(ok.headers['x-served-by']).toBe('meshplane-demo'); // the label came down from web's delegating route
  });

  it('the rate limit: the fourth request to /api/products in a minute gets 429; the home route is not limited', async () => {
    // The service counts in fixed minute windows: do not straddle one.
    const s = new Date().getSeconds();
    if (s >= 52) await new Promise((r) => setTimeout(r, (61 - s) * 1000));
    const codes: number[] = [];
    for (let i = 0; i < 4; i++) codes.push((await curl('/api/products')).status);
    expect(codes).toEqual([200, 200, 200, 429]);
    const home: number[] = [];
    for (let i = 0; i < 5; i++) home.push((await curl('/')).status);
    expect(home).toEqual([200, 200, 200, 200, 200]);
  });

  it('the default-deny gate: /api/admin asks for auth, has none, and answers 403', async () => {
    const r = await curl('/api/admin', { 'api-key': 'demo-key' });
    expect(r.status).toBe(403);
    expect(r.body).toMatch(/RBAC: access denied/);
  });

  it('meshplane explain says why, inside the meshplane container', async () => {
    const admin = await meshplaneExplain('--route', 'api/api:admin', '--output', 'table');
    expect(admin).toMatch(/denied: 403 by the feature gate gatewayDefaultDenyAllHTTPRequests/);
    const rl = await meshplaneExplain('--policy', 'RateLimitPolicy/api/per-minute', '--output', 'table');
    expect(rl).toMatch(/web\/shop:api > api\/api:products[^\n]*\n[^\n]*\n\s+applied: RateLimitPolicy:api\/per-minute/);
    expect(rl).toMatch(/skipped RateLimitPolicy:api\/per-minute \[workspace-not-on-chain\]/);
    // The running server agrees, on its admin port (token from examples/demo/admin-token).
    const get = async (path: string) => {
      const res = await fetch(`http://127.0.0.1:${ports.admin}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(res.status).toBe(200);
      return res.json();
    };
    const { routes } = (await get('/debug/explain')) as { routes: Array<{ id: string; table: string; route: string; denied?: string }> };
    expect(routes.find((r) => r.route === 'admin')?.denied).toBe('gatewayDefaultDenyAllHTTPRequests');
    const home = routes.find((r) => r.table === 'web/shop' && r.route === 'home')!;
    const why = JSON.stringify(await get(`/debug/explain/route/${encodeURIComponent(home.id)}`));
    expect(why).toContain('workspace-not-on-chain');
    expect((await fetch(`http://127.0.0.1:${ports.admin}/debug/explain`)).status).toBe(401);
  });

  it('every container stops on SIGTERM within a second', async () => {
    const ids = (await compose('ps', '-q')).trim().split('\n').filter(Boolean);
    expect(ids).toHaveLength(7);
    const times: Record<string, number> = {};
    for (const id of ids) {
      const name = (await run('docker', ['inspect', '-f', '{{ index .Config.Labels "com.docker.compose.service" }}', id], { env })).stdout.trim();
      const started = Date.now();
      // SIGTERM, then SIGKILL only after 10 s: a container that ignored SIGTERM would take 10 s.
      await run('docker', ['stop', '--time', '10', id], { env });
      const finished = Date.parse((await run('docker', ['inspect', '-f', '{{ .State.FinishedAt }}', id], { env })).stdout.trim().replace(/(\.\d{3})\d*/, '$1'));
      times[name] = finished - started;
    }
    console.log(`stop times after SIGTERM (ms): ${JSON.stringify(times)}`);
    for (const [name, ms] of Object.entries(times)) expect([name, ms < 1000]).toEqual([name, true]);
  }, 180_000);
});
