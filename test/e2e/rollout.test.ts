// ACK counts per resource with real Envoys: each resource's status says how
// many of the proxies built from it run its current version, and which
// rejected it with Envoy's error.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProxyRollout, ResourceStatus } from '../../src/ir/types.js';
import type { EnvoyHandle } from '../support/envoy.js';
import { startEnvoyFor, startMeshplane, type MeshplaneHandle } from '../support/meshplane.js';
import { freePort, httpRequest, startUpstream, waitFor, type Upstream } from '../support/net.js';

const J = JSON.stringify;

describe('ACK counts per resource with two real Envoys (state of the world and delta)', () => {
  let dir: string;
  let mp: MeshplaneHandle;
  const envoys: EnvoyHandle[] = [];
  let app: Upstream;
  let port: number;
  const write = (routes: unknown[]) =>
    writeFileSync(join(dir, 'all.yaml'), [
      `apiVersion: admin.gloo.solo.io/v2\nkind: Workspace\nmetadata: {name: team, namespace: gloo-mesh}\nspec: {workloadClusters: [{name: '*', namespaces: [{name: apps}]}]}\n`,
      `apiVersion: networking.gloo.solo.io/v2\nkind: VirtualGateway\nmetadata: {name: gw, namespace: apps}\nspec: {listeners: [{port: {number: ${port}}, http: {}}]}\n`,
      `apiVersion: v1\nkind: Service\nmetadata: {name: app, namespace: apps}\nspec: {ports: [{name: http, port: 80}]}\n`,
      `apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: app-1, namespace: apps, labels: {kubernetes.io/service-name: app}}\naddressType: IPv4\nports: [{name: http, port: ${app.port}}]\nendpoints: [{addresses: [127.0.0.1]}]\n`,
      `apiVersion: networking.gloo.solo.io/v2\nkind: RouteTable\nmetadata: {name: www, namespace: apps}\nspec: ${J({ hosts: ['www.example.com'], virtualGateways: [{ name: 'gw' }], http: routes })}\n`,
      // Not on any gateway: no proxy should have it.
      `apiVersion: networking.gloo.solo.io/v2\nkind: RouteTable\nmetadata: {name: unused, namespace: apps}\nspec: ${J({ hosts: ['unused.example.com'], virtualGateways: [{ name: 'nowhere' }], http: [{ name: 'x', directResponse: { status: 200, body: 'x' } }] })}\n`,
    ].join('---\n'));
  const fwd = { name: 'app', matchers: [{ uri: { prefix: '/app' } }], forwardTo: { destinations: [{ ref: { name: 'app' }, port: { number: 80 } }] } };
  const hello = (body: string) => ({ name: 'hello', matchers: [{ uri: { prefix: '/hello' } }], directResponse: { status: 200, body } });
  const status = async () => (await mp.get('/debug/status')) as Record<string, ResourceStatus>;
  const rolloutOf = async (key: string) => (await status())[key]?.proxies;
  const until = (what: string, key: string, want: (p: ProxyRollout | undefined) => boolean) =>
    waitFor(what, async () => (want(await rolloutOf(key)) ? true : undefined), 20_000, 100);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'meshplane-rollout-'));
    app = await startUpstream('app');
    port = await freePort();
    const [xdsPort, adminPort] = [await freePort(), await freePort()];
    write([fwd, hello('v1')]);
    mp = await startMeshplane({ configDir: dir, xdsPort, adminPort });
    envoys.push(await startEnvoyFor(mp, { xdsPort, gateway: 'apps/gw', nodeId: 'envoy-sotw' }));
    envoys.push(await startEnvoyFor(mp, { xdsPort, gateway: 'apps/gw', nodeId: 'envoy-delta', delta: true }));
    await waitFor('the first routes', async () => ((await httpRequest(port, { host: 'www.example.com', path: '/hello' })).body === 'v1' ? true : undefined), 30_000);
  });

  afterAll(async () => {
    for (const e of envoys) await e.stop();
    await mp?.stop();
    await app?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('counts both proxies as running every resource of their gateway, and none for a table no gateway serves', async () => {
    await until('both proxies to ACK the route table', 'RouteTable/apps/www', (p) => p?.acked === 2);
    const s = await status();
    for (const key of ['RouteTable/apps/www', 'VirtualGateway/apps/gw', 'Service/apps/app', 'Workspace/gloo-mesh/team']) {
      expect(s[key].proxies, key).toEqual({ connected: 2, acked: 2, rejecting: 0 });
    }
    expect(s['RouteTable/apps/unused'].proxies).toBeUndefined();
    // The UI's route view carries the same counts for what the route is built from.
    const routes = ((await mp.get('/debug/explain')) as { routes: Array<{ id: string; route: string }> }).routes;
    const id = routes.find((r) => r.route === 'app')!.id;
    const e = (await mp.get(`/debug/explain/route/${encodeURIComponent(id)}`)) as { proxies: Record<string, ProxyRollout> };
    expect(Object.keys(e.proxies).sort()).toEqual(['RouteTable/apps/www', 'Service/apps/app']);
    expect(e.proxies['RouteTable/apps/www']).toEqual({ connected: 2, acked: 2, rejecting: 0 });
  });

  it('names the proxies that rejected a route table with Envoy\'s error; its destination is still ACKed; a good edit brings both back', async () => {
    // Valid for meshplane, rejected by Envoy's RE2: a lookahead.
    write([fwd, hello('v1'), { name: 'bad', matchers: [{ uri: { regex: '/bad(?=x).*' } }], directResponse: { status: 200, body: 'bad' } }]);
    await until('both proxies to reject the route table', 'RouteTable/apps/www', (p) => p?.rejecting === 2);
    const s = await status();
    const www = s['RouteTable/apps/www'].proxies!;
    expect(www).toMatchObject({ connected: 2, acked: 0, rejecting: 2 });
    expect(www.rejections!.map((r) => r.proxy)).toEqual(['envoy-delta', 'envoy-sotw']);
    for (const r of www.rejections!) expect(r.message).toMatch(/^rejected route apps\/gw:\d+: .*(regex|RE2|invalid)/i);
    expect(s['Service/apps/app'].proxies).toEqual({ connected: 2, acked: 2, rejecting: 0 });

    write([fwd, hello('v2')]);
    await until('both proxies to ACK the fixed table', 'RouteTable/apps/www', (p) => p?.acked === 2 && p.rejecting === 0);
    expect((await httpRequest(port, { host: 'www.example.com', path: '/hello' })).body).toBe('v2');
  });

  it('counts a proxy that went away out', async () => {
    await envoys.pop()!.stop();
    await until('one proxy left', 'RouteTable/apps/www', (p) => p?.connected === 1);
    expect(await rolloutOf('RouteTable/apps/www')).toEqual({ connected: 1, acked: 1, rejecting: 0 });
  });
});
