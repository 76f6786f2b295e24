// The xDS server with a real Envoy, in state-of-the-world and in delta ADS:
// route changes, endpoint-only pushes, removals, NACK handling, restarts.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EnvoyHandle } from '../support/envoy.js';
import { startEnvoyFor, startMeshplane, type MeshplaneHandle } from '../support/meshplane.js';
import { freePort, httpRequest, startUpstream, waitFor, type Upstream } from '../support/net.js';

/** Prometheus text -> value of one series. */
export async function metric(adminPort: number, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name + '{') && !line.startsWith(name + ' ')) continue;
    if (want.every((w) => line.includes(w))) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

const J = JSON.stringify;
type Proxies = Array<{ nodeId: string; protocol: string; types: Record<string, { sent?: string; acked?: string; nack?: { message: string; names: string[] }; rejected?: string[] }> }>;

for (const protocol of ['sotw', 'delta'] as const) {
  describe(`xDS ${protocol === 'sotw' ? 'state of the world' : 'delta'} with a real Envoy`, () => {
    let dir: string;
    let mp: MeshplaneHandle;
    let envoy: EnvoyHandle;
    let a: Upstream;
    let b: Upstream;
    let port: number;
    let xdsPort: number;
    let adminPort: number;
    const get = (path: string) => httpRequest(port, { host: 'www.example.com', path });
    const upstreamOf = async (path: string) => {
      const r = await get(path);
      return r.status === 200 ? JSON.parse(r.body).upstream : `status ${r.status}`;
    };
    const write = (routes: unknown[], endpointPort = a.port) =>
      writeFileSync(join(dir, 'all.yaml'), [
        `apiVersion: admin.gloo.solo.io/v2\nkind: Workspace\nmetadata: {name: team, namespace: gloo-mesh}\nspec: {workloadClusters: [{name: '*', namespaces: [{name: apps}]}]}\n`,
        `apiVersion: networking.gloo.solo.io/v2\nkind: VirtualGateway\nmetadata: {name: gw, namespace: apps}\nspec: {listeners: [{port: {number: ${port}}, http: {}}]}\n`,
        `apiVersion: v1\nkind: Service\nmetadata: {name: app, namespace: apps}\nspec: {ports: [{name: http, port: 80}]}\n`,
        `apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: app-1, namespace: apps, labels: {kubernetes.io/service-name: app}}\naddressType: IPv4\nports: [{name: http, port: ${endpointPort}}]\nendpoints: [{addresses: [127.0.0.1]}]\n`,
        `apiVersion: networking.gloo.solo.io/v2\nkind: RouteTable\nmetadata: {name: www, namespace: apps}\nspec: ${J({ hosts: ['www.example.com'], virtualGateways: [{ name: 'gw' }], http: routes })}\n`,
      ].join('---\n'));
    const fwd = (name: string, prefix: string) => ({ name, matchers: [{ uri: { prefix } }], forwardTo: { destinations: [{ ref: { name: 'app' }, port: { number: 80 } }] } });
    const direct = (name: string, prefix: string, body: string) => ({ name, matchers: [{ uri: { prefix } }], directResponse: { status: 200, body } });
    const proxies = async () => (await mp.get('/debug/proxies')) as Proxies;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), `meshplane-xds-${protocol}-`));
      [a, b] = await Promise.all([startUpstream('a'), startUpstream('b')]);
      [port, xdsPort, adminPort] = [await freePort(), await freePort(), await freePort()];
      write([fwd('app', '/app'), direct('hello', '/hello', 'v1')]);
      mp = await startMeshplane({ configDir: dir, xdsPort, adminPort });
      envoy = await startEnvoyFor(mp, { xdsPort, gateway: 'apps/gw', delta: protocol === 'delta' });
      await waitFor('the first routes', async () => ((await get('/hello')).body === 'v1' ? true : undefined), 30_000);
    });

    afterAll(async () => {
      await envoy?.stop();
      await mp?.stop();
      await Promise.all([a?.close(), b?.close()]);
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it(`speaks ${protocol}`, async () => {
      const p = await proxies();
      expect(p).toHaveLength(1);
      expect(p[0].protocol).toBe(protocol);
      for (const t of ['cluster', 'endpoint', 'listener', 'route']) expect(p[0].types[t]?.acked, t).toBeTruthy();
    });

    it('applies a route change', async () => {
      write([fwd('app', '/app'), direct('hello', '/hello', 'v2')]);
      await waitFor('the new route', async () => ((await get('/hello')).body === 'v2' ? true : undefined), 10_000);
    });

    it('pushes only EDS when only endpoints change', async () => {
      await waitFor('quiet', async () => ((await proxies())[0].types.route?.acked === (await proxies())[0].types.route?.sent ? true : undefined), 5000);
      const before = Object.fromEntries(await Promise.all(['cluster', 'endpoint', 'listener', 'route'].map(async (t) => [t, await metric(adminPort, 'meshplane_xds_pushes_total', { type: t })])));
      const versions = (await proxies())[0].types;
      write([fwd('app', '/app'), direct('hello', '/hello', 'v2')], b.port);
      await waitFor('traffic to the new endpoint', async () => ((await upstreamOf('/app')) === 'b' ? true : undefined), 10_000);
      const after = Object.fromEntries(await Promise.all(['cluster', 'endpoint', 'listener', 'route'].map(async (t) => [t, await metric(adminPort, 'meshplane_xds_pushes_total', { type: t })])));
      expect(after.endpoint).toBe(before.endpoint + 1);
      expect({ cluster: after.cluster, listener: after.listener, route: after.route }).toEqual({ cluster: before.cluster, listener: before.listener, route: before.route });
      const now = (await proxies())[0].types;
      expect(now.cluster.acked).toBe(versions.cluster.acked);
      expect(now.route.acked).toBe(versions.route.acked);
      expect(now.endpoint.acked).not.toBe(versions.endpoint.acked);
    });

    it('removes a route that is removed', async () => {
      expect((await get('/hello')).status).toBe(200);
      write([fwd('app', '/app')], b.port);
      await waitFor('the route to disappear', async () => ((await get('/hello')).status === 404 ? true : undefined), 10_000);
      expect(await upstreamOf('/app')).toBe('b');
    });

    it('handles a NACK: once, not re-sent, reported, previous config kept; the next good change applies', async () => {
      const nacksBefore = await metric(adminPort, 'meshplane_xds_nacks_total', { type: 'route' });
      const routePushes = await metric(adminPort, 'meshplane_xds_pushes_total', { type: 'route' });
      // Valid for meshplane (and JavaScript), rejected by Envoy's RE2: a lookahead.
      write([fwd('app', '/app'), { name: 'bad', matchers: [{ uri: { regex: '/bad(?=x).*' } }], directResponse: { status: 200, body: 'bad' } }], b.port);
      await waitFor('the NACK', async () => ((await metric(adminPort, 'meshplane_xds_nacks_total', { type: 'route' })) > nacksBefore ? true : undefined), 10_000);
      await new Promise((r) => setTimeout(r, 1500));
      expect(await metric(adminPort, 'meshplane_xds_nacks_total', { type: 'route' })).toBe(nacksBefore + 1);
      // The rejected content went out once; at most one more push, restoring the accepted set.
      expect(await metric(adminPort, 'meshplane_xds_pushes_total', { type: 'route' })).toBeLessThanOrEqual(routePushes + 2);
      const p = (await proxies())[0];
      expect(p.types.route.rejected).toEqual(['apps/gw:' + port]);
      expect(p.types.route.nack?.message).toMatch(/regex|RE2|invalid/i);
      const status = (await mp.get('/debug/status')) as Record<string, { state: string; messages: string[] }>;
      expect(status['VirtualGateway/apps/gw'].state).toBe('INVALID');
      expect(status['VirtualGateway/apps/gw'].messages.join()).toContain('rejected route apps/gw:');
      // Envoy keeps serving what it had.
      expect(await upstreamOf('/app')).toBe('b');
      // A good change is applied and the rejection clears.
      write([fwd('app', '/app'), direct('hello', '/hello', 'v3')], b.port);
      await waitFor('the good change', async () => ((await get('/hello')).body === 'v3' ? true : undefined), 10_000);
      await waitFor('the rejection to clear', async () => (((await mp.get('/debug/status')) as Record<string, { state: string }>)['VirtualGateway/apps/gw'].state === 'ACCEPTED' ? true : undefined), 5000);
    });

    it('shows the exact resources a proxy gets at /debug/config/<node>', async () => {
      const nodeId = (await proxies())[0].nodeId;
      const cfg = (await mp.get(`/debug/config/${nodeId}`)) as { key: string; resources: Record<string, Array<Record<string, any>>> };
      expect(cfg.key).toBe('gateway:apps/gw');
      expect(cfg.resources.listener[0].name).toBe(`apps/gw:${port}`);
      expect(cfg.resources.route[0].virtualHosts[0].domains).toEqual(['www.example.com']);
      expect(cfg.resources.cluster[0].version).toMatch(/^[0-9a-f]{16}$/);
    });

    it('reports connected proxies, push latency and translation time as Prometheus metrics', async () => {
      expect(await metric(adminPort, 'meshplane_connected_proxies', { role: 'gateway', protocol })).toBe(1);
      expect(await metric(adminPort, 'meshplane_push_latency_seconds_count', { type: 'route' })).toBeGreaterThan(0);
      expect(await metric(adminPort, 'meshplane_translation_duration_seconds_count')).toBeGreaterThan(0);
      expect(await metric(adminPort, 'meshplane_proxy_resources', { proxy: 'gateway:apps/gw', type: 'listener' })).toBe(1);
    });

    it('survives a meshplane restart: Envoy keeps serving and gets no changed version', async () => {
      const before = (await proxies())[0].types;
      expect(await mp.stop('SIGTERM')).toBe(0);
      for (let i = 0; i < 10; i++) expect((await get('/hello')).body).toBe('v3');
      mp = await startMeshplane({ configDir: dir, xdsPort, adminPort });
      const after = await waitFor('Envoy to reconnect', async () => {
        const p = await proxies();
        return p.length && p[0].types.listener ? p[0].types : undefined;
      }, 30_000);
      await new Promise((r) => setTimeout(r, 1000));
      if (protocol === 'sotw') {
        // Same content, same versions: what Envoy ACKs after the reconnect is what it had.
        const now = (await proxies())[0].types;
        for (const t of ['cluster', 'listener', 'route', 'endpoint']) expect(now[t].acked, t).toBe(before[t].acked);
      } else {
        // Delta: Envoy names what it has; unchanged resources are not sent again.
        expect(await metric(adminPort, 'meshplane_xds_pushes_total', { protocol: 'delta' })).toBe(0);
        expect(after).toBeTruthy();
      }
      expect((await get('/hello')).body).toBe('v3');
    });
  });
}
