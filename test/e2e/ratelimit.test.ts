// RateLimitPolicy against the reference rate-limit service (built with Go from
// the module proxy) backed by Redis, through a real Envoy: limits, phases
// relative to ext auth, and denyOnFail.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EnvoyHandle } from '../support/envoy.js';
import { startExtAuthz, type ExtAuthzServer } from '../support/ext-authz.js';
import { startEnvoyFor, startMeshplane, type MeshplaneHandle } from '../support/meshplane.js';
import { freePort, httpRequest, startUpstream, waitFor, type Upstream } from '../support/net.js';
import { startRateLimitService, startRedis, type Proc } from '../support/ratelimit.js';

const J = JSON.stringify;
const doc = (apiVersion: string, kind: string, name: string, spec: unknown) => `apiVersion: ${apiVersion}\nkind: ${kind}\nmetadata: {name: ${name}, namespace: apps}\nspec: ${J(spec)}\n`;
const ADMIN = 'admin.gloo.solo.io/v2';

describe('rate limiting with the reference rate-limit service', () => {
  let dir: string;
  let runtime: string;
  let redis: Proc;
  let rls: Awaited<ReturnType<typeof startRateLimitService>>;
  let authz: ExtAuthzServer;
  let upstream: Upstream;
  let mp: MeshplaneHandle;
  let envoy: EnvoyHandle;
  let port: number;
  const get = (host: string, headers: Record<string, string> = {}) => httpRequest(port, { host, path: '/', headers });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'meshplane-rl-'));
    runtime = mkdtempSync(join(tmpdir(), 'meshplane-rl-runtime-'));
    redis = await startRedis();
    rls = await startRateLimitService(redis.port, runtime);
    authz = await startExtAuthz();
    upstream = await startUpstream('app');
    const [xdsPort, adminPort, deadPort] = [await freePort(), await freePort(), await freePort()];
    port = await freePort();
    const svc = (name: string, p: number, h2 = false) =>
      `apiVersion: v1\nkind: Service\nmetadata: {name: ${name}, namespace: apps}\nspec: ${J({ ports: [{ name: 'http', port: 80, ...(h2 ? { appProtocol: 'kubernetes.io/h2c' } : {}) }] })}\n---\n` +
      `apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: ${name}-1, namespace: apps, labels: {kubernetes.io/service-name: ${name}}}\naddressType: IPv4\nports: [{name: http, port: ${p}}]\nendpoints: [{addresses: [127.0.0.1]}]\n`;
    const table = (name: string, labels: Record<string, string>) =>
      doc('networking.gloo.solo.io/v2', 'RouteTable', name, { hosts: [`${name}.example.com`], virtualGateways: [{ name: 'gw' }], http: [{ name: 'r', labels, forwardTo: { destinations: [{ ref: { name: 'app' }, port: { number: 80 } }] } }] });
    const limit = (key: string) => [
      doc(ADMIN, 'RateLimitServerConfig', key, { raw: { descriptors: [{ key: 'generic_key', value: key, rateLimit: { unit: 'MINUTE', requestsPerUnit: 3 } }] } }),
      doc(ADMIN, 'RateLimitClientConfig', key, { raw: { rateLimits: [{ actions: [{ genericKey: { descriptorValue: key } }] }] } }),
    ];
    const policy = (name: string, labels: Record<string, string>, settings: string, key: string, phase?: string) =>
      doc('trafficcontrol.policy.gloo.solo.io/v2', 'RateLimitPolicy', name, {
        applyToRoutes: [{ route: { labels } }],
        config: { ...(phase ? { phase: { [phase]: {} } } : {}), serverSettings: { name: settings }, ratelimitClientConfig: { name: key }, ratelimitServerConfig: { name: key } },
      });
    writeFileSync(join(dir, 'all.yaml'), [
      `apiVersion: admin.gloo.solo.io/v2\nkind: Workspace\nmetadata: {name: team, namespace: gloo-mesh}\nspec: {workloadClusters: [{name: '*', namespaces: [{name: apps}]}]}\n`,
      `apiVersion: networking.gloo.solo.io/v2\nkind: VirtualGateway\nmetadata: {name: gw, namespace: apps}\nspec: {listeners: [{port: {number: ${port}}, http: {}}]}\n`,
      svc('app', upstream.port),
      svc('rls', rls.port, true),
      svc('dead-rls', deadPort, true),
      svc('auth', authz.port, true),
      doc(ADMIN, 'ExtAuthServer', 'authz', { destinationServer: { ref: { name: 'auth' }, port: { number: 80 } } }),
      doc(ADMIN, 'RateLimitServerSettings', 'rls', { destinationServer: { ref: { name: 'rls' }, port: { number: 80 } }, domain: 'meshplane-test', requestTimeout: '1s' }),
      doc(ADMIN, 'RateLimitServerSettings', 'dead-strict', { destinationServer: { ref: { name: 'dead-rls' }, port: { number: 80 } }, domain: 'strict', denyOnFail: true, requestTimeout: '200ms' }),
      doc(ADMIN, 'RateLimitServerSettings', 'dead-lenient', { destinationServer: { ref: { name: 'dead-rls' }, port: { number: 80 } }, domain: 'lenient', denyOnFail: false, requestTimeout: '200ms' }),
      ...limit('plain'), ...limit('post'), ...limit('pre'), ...limit('strict'), ...limit('lenient'),
      table('plain', { rl: 'plain' }),
      table('post', { rl: 'post', auth: 'on' }),
      table('pre', { rl: 'pre', auth: 'on' }),
      table('strict', { rl: 'strict' }),
      table('lenient', { rl: 'lenient' }),
      table('open', {}),
      policy('plain', { rl: 'plain' }, 'rls', 'plain'),
      policy('post', { rl: 'post' }, 'rls', 'post'),
      policy('pre', { rl: 'pre' }, 'rls', 'pre', 'preAuthz'),
      policy('strict', { rl: 'strict' }, 'dead-strict', 'strict'),
      policy('lenient', { rl: 'lenient' }, 'dead-lenient', 'lenient'),
      doc('security.policy.gloo.solo.io/v2', 'ExtAuthPolicy', 'authz', { applyToRoutes: [{ route: { labels: { auth: 'on' } } }], config: { server: { name: 'authz' } } }),
    ].join('---\n'));
    mp = await startMeshplane({ configDir: dir, xdsPort, adminPort, extraArgs: ['--ratelimit-config-dir', rls.configDir] });
    envoy = await startEnvoyFor(mp, { xdsPort, gateway: 'apps/gw' });
    await waitFor('routes through Envoy', async () => ((await get('open.example.com')).status === 200 ? true : undefined), 30_000);
    // The service reloads its config files on change; wait until it has ours.
    await waitFor('the rate-limit service to load the config meshplane wrote', async () => {
      const r = await fetch(`http://127.0.0.1:${rls.debugPort}/rlconfig`).catch(() => undefined);
      const text = r?.ok ? await r.text() : '';
      return text.includes('meshplane-test.generic_key_pre') ? true : undefined;
    }, 20_000).catch((e) => {
      throw new Error(`${(e as Error).message}\n${rls.logs().slice(-2000)}`);
    });
  });

  afterAll(async () => {
    await envoy?.stop();
    await mp?.stop();
    await rls?.stop();
    await redis?.stop();
    await upstream?.close();
    await authz?.close();
    for (const d of [dir, runtime]) if (d) rmSync(d, { recursive: true, force: true });
  });

  it('writes one service config per domain, in the service format', () => {
    const files = readdirSync(rls.configDir).sort();
    expect(files).toEqual(['meshplane-lenient.yaml', 'meshplane-meshplane-test.yaml', 'meshplane-strict.yaml']);
    const text = readFileSync(join(rls.configDir, 'meshplane-meshplane-test.yaml'), 'utf8');
    expect(text).toContain('domain: meshplane-test');
    expect(text).toContain('requests_per_unit: 3');
  });

  it('the fourth request in the window gets 429', async () => {
    const codes = [];
    for (let i = 0; i < 4; i++) codes.push((await get('plain.example.com')).status);
    expect(codes).toEqual([200, 200, 200, 429]);
    expect((await get('open.example.com')).status).toBe(200);
  });

  it('a postAuthz limit does not count requests ext auth denied', async () => {
    for (let i = 0; i < 5; i++) expect((await get('post.example.com')).status).toBe(403);
    const codes = [];
    for (let i = 0; i < 4; i++) codes.push((await get('post.example.com', { 'x-allow': 'yes' })).status);
    expect(codes).toEqual([200, 200, 200, 429]);
  });

  it('a preAuthz limit counts them', async () => {
    for (let i = 0; i < 3; i++) expect((await get('pre.example.com')).status).toBe(403);
    expect((await get('pre.example.com', { 'x-allow': 'yes' })).status).toBe(429);
  });

  it('honours denyOnFail when the service cannot be reached', async () => {
    expect((await get('strict.example.com')).status).toBe(500);
    expect((await get('lenient.example.com')).status).toBe(200);
  });
});
