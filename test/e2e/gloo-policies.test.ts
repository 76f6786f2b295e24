// Gloo v2 policy shapes through a real Envoy (issue 14): set-style rate limits
// against the reference rate-limit service, and JWT claims and scopes.
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EnvoyHandle } from '../support/envoy.js';
import { startEnvoyFor, startMeshplane, type MeshplaneHandle } from '../support/meshplane.js';
import { freePort, httpRequest, startUpstream, waitFor, type Upstream } from '../support/net.js';
import { startRateLimitService, startRedis, type Proc } from '../support/ratelimit.js';

const J = JSON.stringify;
const doc = (apiVersion: string, kind: string, name: string, spec: unknown) => `apiVersion: ${apiVersion}\nkind: ${kind}\nmetadata: {name: ${name}, namespace: apps}\nspec: ${J(spec)}\n`;
const ADMIN = 'admin.gloo.solo.io/v2';
const TRAFFIC = 'trafficcontrol.policy.gloo.solo.io/v2';

describe('Gloo policy shapes through a real Envoy', () => {
  let dir: string;
  let runtime: string;
  let redis: Proc;
  let rls: Awaited<ReturnType<typeof startRateLimitService>>;
  let upstream: Upstream;
  let mp: MeshplaneHandle;
  let envoy: EnvoyHandle;
  let port: number;
  let token: (claims: Record<string, unknown>) => Promise<string>;
  const get = (host: string, headers: Record<string, string> = {}) => httpRequest(port, { host, path: '/', headers });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gloo-policies-'));
    runtime = mkdtempSync(join(tmpdir(), 'gloo-policies-rl-'));
    redis = await startRedis();
    rls = await startRateLimitService(redis.port, runtime);
    upstream = await startUpstream('app');
    const [xdsPort, adminPort] = [await freePort(), await freePort()];
    port = await freePort();
    const { publicKey, privateKey } = await generateKeyPair('RS256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    token = (claims) => new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setIssuer('https://issuer.test').setIssuedAt().setExpirationTime('1h').sign(privateKey);
    const svc = (name: string, p: number, h2 = false) =>
      `apiVersion: v1\nkind: Service\nmetadata: {name: ${name}, namespace: apps}\nspec: ${J({ ports: [{ name: 'http', port: 80, ...(h2 ? { appProtocol: 'kubernetes.io/h2c' } : {}) }] })}\n---\n` +
      `apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: ${name}-1, namespace: apps, labels: {kubernetes.io/service-name: ${name}}}\naddressType: IPv4\nports: [{name: http, port: ${p}}]\nendpoints: [{addresses: [127.0.0.1]}]\n`;
    // Routes without names and without destinations, as Gloo allows (the table's defaultDestination).
    const table = (name: string, labels: Record<string, string>) =>
      doc('networking.gloo.solo.io/v2', 'RouteTable', name, { hosts: [`${name}.example.com`], virtualGateways: [{ name: 'gw' }], defaultDestination: { ref: { name: 'app' }, port: { number: 80 } }, http: [{ labels, forwardTo: {} }] });
    writeFileSync(join(dir, 'all.yaml'), [
      `apiVersion: admin.gloo.solo.io/v2\nkind: Workspace\nmetadata: {name: team, namespace: gloo-mesh}\nspec: {workloadClusters: [{name: '*', namespaces: [{name: apps}]}]}\n`,
      `apiVersion: networking.gloo.solo.io/v2\nkind: VirtualGateway\nmetadata: {name: gw, namespace: apps}\nspec: {listeners: [{port: {number: ${port}}, http: {}}]}\n`,
      svc('app', upstream.port),
      svc('rls', rls.port, true),
      doc(ADMIN, 'RateLimitServerSettings', 'rls', { destinationServer: { ref: { name: 'rls' }, port: { number: 80 } }, domain: 'gloo-sets', requestTimeout: '1s' }),
      // Per user, limited by plan: the usage-plan layout of Gloo's portal workshop.
      doc(ADMIN, 'RateLimitServerConfig', 'plans', {
        raw: {
          setDescriptors: [
            { simpleDescriptors: [{ key: 'userId' }, { key: 'plan', value: 'bronze' }], rateLimit: { requestsPerUnit: 1, unit: 'MINUTE' } },
            { simpleDescriptors: [{ key: 'userId' }, { key: 'plan', value: 'gold' }], rateLimit: { requestsPerUnit: 3, unit: 'MINUTE' } },
          ],
        },
      }),
      // The actions come in the other order than the rules list their entries.
      doc(TRAFFIC, 'RateLimitPolicy', 'plans', {
        applyToRoutes: [{ route: { labels: { rl: 'plans' } } }],
        config: {
          serverSettings: { name: 'rls' },
          ratelimitServerConfig: { name: 'plans' },
          raw: { rateLimits: [{ setActions: [{ requestHeaders: { headerName: 'x-plan', descriptorKey: 'plan' } }, { requestHeaders: { headerName: 'x-user', descriptorKey: 'userId' } }] }] },
        },
      }),
      table('plans', { rl: 'plans' }),
      table('claims', { jwt: 'claims' }),
      doc('security.policy.gloo.solo.io/v2', 'JWTPolicy', 'claims', {
        applyToRoutes: [{ route: { labels: { jwt: 'claims' } } }],
        config: {
          claims: [{ key: 'email', values: ['*@example.com'] }],
          requiredScopes: ['read'],
          providers: { test: { issuer: 'https://issuer.test', local: { inline: J({ keys: [jwk] }) }, tokenSource: { headers: [{ name: 'jwt' }] } } },
        },
      }),
    ].join('---\n'));
    mp = await startMeshplane({ configDir: dir, xdsPort, adminPort, extraArgs: ['--ratelimit-config-dir', rls.configDir] });
    envoy = await startEnvoyFor(mp, { xdsPort, gateway: 'apps/gw' });
    await waitFor('routes through Envoy', async () => ((await get('plans.example.com')).status === 200 ? true : undefined), 30_000);
    await waitFor('the rate-limit service to load the config meshplane wrote', async () => {
      const r = await fetch(`http://127.0.0.1:${rls.debugPort}/rlconfig`).catch(() => undefined);
      const text = r?.ok ? await r.text() : '';
      return text.includes('gloo-sets.meshplane.set_apps.plans.1') ? true : undefined;
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
    for (const d of [dir, runtime]) if (d) rmSync(d, { recursive: true, force: true });
  });

  it('set-style descriptors: each user gets the limit of their plan', async () => {
    const codes = async (headers: Record<string, string>, n: number) => {
      const out = [];
      for (let i = 0; i < n; i++) out.push((await get('plans.example.com', headers)).status);
      return out;
    };
    expect(await codes({ 'x-user': 'ann', 'x-plan': 'bronze' }, 2)).toEqual([200, 429]);
    expect(await codes({ 'x-user': 'bob', 'x-plan': 'bronze' }, 2)).toEqual([200, 429]);
    expect(await codes({ 'x-user': 'cat', 'x-plan': 'gold' }, 4)).toEqual([200, 200, 200, 429]);
    // A request that lacks an entry of every rule matches none of them.
    expect(await codes({ 'x-plan': 'bronze' }, 3)).toEqual([200, 200, 200]);
  });

  it('JWT claims (a glob) and required scopes, with the token in a named header', async () => {
    expect((await get('claims.example.com')).status).toBe(401);
    expect((await get('claims.example.com', { jwt: await token({ email: 'ann@example.com', scope: 'openid read' }) })).status).toBe(200);
    expect((await get('claims.example.com', { jwt: await token({ email: 'ann@elsewhere.org', scope: 'read' }) })).status).toBe(403);
    expect((await get('claims.example.com', { jwt: await token({ email: 'ann@example.com', scope: 'openid write' }) })).status).toBe(403);
    expect((await get('claims.example.com', { authorization: `Bearer ${await token({ email: 'ann@example.com', scope: 'read' })}` })).status).toBe(401);
  });
});
