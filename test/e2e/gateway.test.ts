// A real Envoy gets its routes from meshplane over ADS: routing by host and
// path, live edits, broken edits, and a meshplane restart under traffic.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EnvoyHandle } from '../support/envoy.js';
import { startEnvoyFor, startMeshplane, type MeshplaneHandle } from '../support/meshplane.js';
import { freePort, httpGet, startUpstream, waitFor, type Upstream } from '../support/net.js';

const GATEWAY = 'gateways/ingress';

function workspaceYaml(listenerPort: number, services: Record<string, number>): string {
  const svc = Object.entries(services)
    .map(
      ([name, port]) => `---
apiVersion: v1
kind: Service
metadata: {name: ${name}, namespace: apps}
spec:
  ports: [{name: http, port: 80}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: ${name}-1
  namespace: apps
  labels: {kubernetes.io/service-name: ${name}}
addressType: IPv4
ports: [{name: http, port: ${port}}]
endpoints: [{addresses: [127.0.0.1]}]
`,
    )
    .join('');
  return `apiVersion: admin.gloo.solo.io/v2
kind: Workspace
metadata: {name: team, namespace: gloo-mesh}
spec:
  workloadClusters: [{name: '*', namespaces: [{name: gateways}, {name: apps}]}]
---
apiVersion: networking.gloo.solo.io/v2
kind: VirtualGateway
metadata: {name: ingress, namespace: gateways}
spec:
  listeners: [{port: {number: ${listenerPort}}, http: {}}]
${svc}`;
}

function routesYaml(bTarget: string): string {
  return `apiVersion: networking.gloo.solo.io/v2
kind: RouteTable
metadata: {name: shop, namespace: apps}
spec:
  hosts: [shop.example.com]
  virtualGateways: [{name: ingress, namespace: gateways}]
  http:
  - name: static
    matchers: [{uri: {exact: /status}}]
    directResponse: {status: 203, body: "shop is open"}
  - name: old
    matchers: [{uri: {prefix: /old}}]
    redirect: {pathRedirect: /new, responseCode: PERMANENT_REDIRECT}
  - name: admin-only
    matchers: [{uri: {prefix: /api}, headers: [{name: x-role, value: admin}], method: POST}]
    forwardTo: {destinations: [{ref: {name: svc-b}, port: {number: 80}}]}
  - name: api
    matchers: [{uri: {prefix: /api}}]
    forwardTo: {destinations: [{ref: {name: ${bTarget}}, port: {number: 80}}]}
---
apiVersion: networking.gloo.solo.io/v2
kind: RouteTable
metadata: {name: blog, namespace: apps}
spec:
  hosts: [blog.example.com]
  virtualGateways: [{name: ingress, namespace: gateways}]
  http:
  - name: all
    forwardTo: {destinations: [{ref: {name: svc-b}, port: {number: 80}}]}
`;
}

describe('walking skeleton: real Envoy routed by meshplane over ADS', () => {
  let dir: string;
  let a: Upstream;
  let b: Upstream;
  let listenerPort: number;
  let xdsPort: number;
  let adminPort: number;
  let mp: MeshplaneHandle;
  let envoy: EnvoyHandle;

  const get = (host: string, path: string, headers: Record<string, string> = {}, method = 'GET') => httpGet(listenerPort, host, path, headers, method);
  const upstreamOf = async (host: string, path: string) => {
    const r = await get(host, path);
    return r.status === 200 ? (JSON.parse(r.body) as { upstream: string }).upstream : `status ${r.status}`;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'meshplane-e2e-'));
    [a, b] = await Promise.all([startUpstream('svc-a'), startUpstream('svc-b')]);
    [listenerPort, xdsPort, adminPort] = await Promise.all([freePort(), freePort(), freePort()]);
    writeFileSync(join(dir, 'workspace.yaml'), workspaceYaml(listenerPort, { 'svc-a': a.port, 'svc-b': b.port }));
    writeFileSync(join(dir, 'routes.yaml'), routesYaml('svc-a'));
    mp = await startMeshplane({ configDir: dir, xdsPort, adminPort });
    envoy = await startEnvoyFor(mp, { xdsPort, gateway: GATEWAY });
    console.log(`Envoy started as a ${envoy.mode === 'docker' ? 'testcontainers container' : 'child process'}`);
    await waitFor('the first route through Envoy', async () => ((await get('shop.example.com', '/status')).status === 203 ? true : undefined), 30_000);
  });

  afterAll(async () => {
    await envoy?.stop();
    await mp?.stop();
    await Promise.all([a?.close(), b?.close()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('runs Envoy the way CI requires', () => {
    if (process.env.CI === 'true') expect(envoy.mode).toBe('docker');
  });

  it('routes by host and path to the right upstream', async () => {
    const api = await get('shop.example.com', '/api/items?x=1');
    expect(api.status).toBe(200);
    expect(JSON.parse(api.body)).toMatchObject({ upstream: 'svc-a', path: '/api/items?x=1' });
    expect(await upstreamOf('blog.example.com', '/anything')).toBe('svc-b');
    // Host with a port still matches its virtual host.
    expect(await upstreamOf('blog.example.com:' + listenerPort, '/x')).toBe('svc-b');
    const unknownHost = await get('nope.example.com', '/api');
    expect(unknownHost.status).toBe(404);
    const unmatched = await get('shop.example.com', '/elsewhere');
    expect(unmatched.status).toBe(404);
  });

  it('serves direct responses and redirects', async () => {
    const status = await get('shop.example.com', '/status');
    expect(status.status).toBe(203);
    expect(status.body).toBe('shop is open');
    const old = await get('shop.example.com', '/old/page');
    expect(old.status).toBe(308);
    expect(old.headers.location).toBe('http://shop.example.com/new');
  });

  it('matches on headers and method', async () => {
    const admin = await get('shop.example.com', '/api/x', { 'x-role': 'admin' }, 'POST');
    expect(JSON.parse(admin.body).upstream).toBe('svc-b');
    const adminGet = await get('shop.example.com', '/api/x', { 'x-role': 'admin' }, 'GET');
    expect(JSON.parse(adminGet.body).upstream).toBe('svc-a');
    const noHeader = await get('shop.example.com', '/api/x', {}, 'POST');
    expect(JSON.parse(noHeader.body).upstream).toBe('svc-a');
  });

  it('applies a YAML edit within a few seconds without restarting Envoy', async () => {
    const started = Date.now();
    writeFileSync(join(dir, 'routes.yaml'), routesYaml('svc-b'));
    await waitFor('the edit to reach Envoy', async () => ((await upstreamOf('shop.example.com', '/api/1')) === 'svc-b' ? true : undefined), 10_000);
    const took = Date.now() - started;
    console.log(`edit reached Envoy in ${took} ms`);
    expect(took).toBeLessThan(10_000);
  });

  it('keeps the previous routing when an edit is broken, and logs the error', async () => {
    const before = mp.logs.length;
    writeFileSync(join(dir, 'routes.yaml'), 'apiVersion: networking.gloo.solo.io/v2\nkind: RouteTable\nmetadata: {name: shop\n  namespace: [apps\n');
    await waitFor('the YAML error in the log', () => (mp.logs.slice(before).some((l) => l.includes('routes.yaml') && l.includes('"level":50')) ? true : undefined), 10_000);
    // An invalid field in an otherwise well-formed file: same outcome, with the field path.
    writeFileSync(join(dir, 'routes.yaml'), routesYaml('svc-a').replace('prefix: /api}, headers', 'prefx: /api}, headers'));
    const fieldError = await waitFor('the field error in the log', () => mp.logs.slice(before).find((l) => l.includes('spec.http[2].matchers[0].uri.prefx')), 10_000);
    expect(fieldError).toContain('unknown field');
    expect(fieldError).toContain('RouteTable/apps/shop');
    await new Promise((r) => setTimeout(r, 1000));
    expect(await upstreamOf('shop.example.com', '/api/1')).toBe('svc-b');
    expect(await upstreamOf('blog.example.com', '/')).toBe('svc-b');
    const status = (await mp.get('/debug/status')) as Record<string, { state: string; messages: string[] }>;
    expect(status['RouteTable/apps/shop'].state).toBe('INVALID');
    expect(status['RouteTable/apps/shop'].messages.join()).toContain('last valid version is still served');
    // Fix it again: routing follows.
    writeFileSync(join(dir, 'routes.yaml'), routesYaml('svc-a'));
    await waitFor('the fixed file to apply', async () => ((await upstreamOf('shop.example.com', '/api/1')) === 'svc-a' ? true : undefined), 10_000);
  });

  it('keeps traffic flowing while meshplane restarts, and re-serves the same versions', async () => {
    const proxiesBefore = (await mp.get('/debug/proxies')) as Array<{ types: Record<string, { acked?: string }> }>;
    const ackedBefore = Object.fromEntries(Object.entries(proxiesBefore[0].types).map(([t, v]) => [t, v.acked]));
    expect(await mp.stop('SIGTERM')).toBe(0);
    let ok = 0;
    for (let i = 0; i < 20; i++) {
      const r = await get('shop.example.com', '/api/during-restart');
      if (r.status === 200 && JSON.parse(r.body).upstream === 'svc-a') ok++;
      await new Promise((res) => setTimeout(res, 50));
    }
    expect(ok).toBe(20);
    mp = await startMeshplane({ configDir: dir, xdsPort, adminPort });
    const proxies = await waitFor('Envoy to reconnect and ACK', async () => {
      const p = (await mp.get('/debug/proxies')) as Array<{ types: Record<string, { acked?: string; sent?: string }> }>;
      return p.length && ['cluster', 'listener', 'route', 'endpoint'].every((t) => p[0].types[t]?.acked) ? p : undefined;
    }, 30_000);
    const ackedAfter = Object.fromEntries(Object.entries(proxies[0].types).map(([t, v]) => [t, v.acked]));
    expect(ackedAfter).toEqual(ackedBefore);
    expect(await upstreamOf('shop.example.com', '/api/after')).toBe('svc-a');
  });
});
