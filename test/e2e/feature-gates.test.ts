// The gatewayDefaultDenyAllHTTPRequests feature gate through a real Envoy:
// routes labelled require_auth=true answer 403 unless an auth policy is attached.
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EnvoyHandle } from '../support/envoy.js';
import { startEnvoyFor, startMeshplane, type MeshplaneHandle } from '../support/meshplane.js';
import { freePort, httpRequest, startUpstream, waitFor, type Upstream } from '../support/net.js';

describe('feature gate gatewayDefaultDenyAllHTTPRequests through a real Envoy', () => {
  let dir: string;
  let mp: MeshplaneHandle;
  let envoy: EnvoyHandle;
  let upstream: Upstream;
  let port: number;
  let token: string;
  const get = (host: string, headers: Record<string, string> = {}) => httpRequest(port, { host, path: '/', headers });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'meshplane-gates-'));
    upstream = await startUpstream('app');
    const [xdsPort, adminPort] = [await freePort(), await freePort()];
    port = await freePort();
    const { publicKey, privateKey } = await generateKeyPair('RS256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k', alg: 'RS256' };
    token = await new SignJWT({ sub: 'u' }).setProtectedHeader({ alg: 'RS256', kid: 'k' }).setIssuer('https://issuer.test').setExpirationTime('1h').sign(privateKey);
    const table = (name: string, host: string, labels: Record<string, string>) =>
      `apiVersion: networking.gloo.solo.io/v2\nkind: RouteTable\nmetadata: {name: ${name}, namespace: apps, labels: ${JSON.stringify(labels)}}\nspec: ${JSON.stringify({ hosts: [host], virtualGateways: [{ name: 'gw' }], http: [{ name: 'r', forwardTo: { destinations: [{ ref: { name: 'app' }, port: { number: 80 } }] } }] })}\n`;
    writeFileSync(join(dir, 'all.yaml'), [
      `apiVersion: admin.gloo.solo.io/v2\nkind: Workspace\nmetadata: {name: team, namespace: gloo-mesh}\nspec: {workloadClusters: [{name: '*', namespaces: [{name: apps}]}]}\n`,
      `apiVersion: networking.gloo.solo.io/v2\nkind: VirtualGateway\nmetadata: {name: gw, namespace: apps}\nspec: {listeners: [{port: {number: ${port}}, http: {}}]}\n`,
      `apiVersion: v1\nkind: Service\nmetadata: {name: app, namespace: apps}\nspec: {ports: [{name: http, port: 80}]}\n`,
      `apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: app-1, namespace: apps, labels: {kubernetes.io/service-name: app}}\naddressType: IPv4\nports: [{name: http, port: ${upstream.port}}]\nendpoints: [{addresses: [127.0.0.1]}]\n`,
      table('locked', 'locked.example.com', { 'gateway.gloo.solo.io/require_auth': 'true' }),
      table('secured', 'secured.example.com', { 'gateway.gloo.solo.io/require_auth': 'true', auth: 'jwt' }),
      table('public', 'public.example.com', {}),
      `apiVersion: security.policy.gloo.solo.io/v2\nkind: JWTPolicy\nmetadata: {name: jwt, namespace: apps}\nspec: ${JSON.stringify({ applyToRoutes: [{ route: { labels: { auth: 'jwt' } } }], config: { providers: { p: { issuer: 'https://issuer.test', local: { inline: JSON.stringify({ keys: [jwk] }) } } } } })}\n`,
    ].join('---\n'));
    mp = await startMeshplane({ configDir: dir, xdsPort, adminPort, extraArgs: ['--feature-gates', 'gatewayDefaultDenyAllHTTPRequests=true'] });
    envoy = await startEnvoyFor(mp, { xdsPort, gateway: 'apps/gw' });
    await waitFor('routes through Envoy', async () => ((await get('public.example.com')).status === 200 ? true : undefined), 30_000);
  });

  afterAll(async () => {
    await envoy?.stop();
    await mp?.stop();
    await upstream?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('answers 403 on a route that requires auth and has none, without reaching the upstream', async () => {
    const hits = upstream.hits;
    const r = await get('locked.example.com');
    expect(r.status).toBe(403);
    expect(upstream.hits).toBe(hits);
  });

  it('lets the auth policy decide where one is attached', async () => {
    expect((await get('secured.example.com')).status).toBe(401);
    expect((await get('secured.example.com', { authorization: `Bearer ${token}` })).status).toBe(200);
  });

  it('leaves routes without the label alone', async () => {
    expect((await get('public.example.com')).status).toBe(200);
  });
});
