// meshplane in Kubernetes mode routes a real Envoy: config applied with
// kubectl, live updates of RouteTables and EndpointSlices, deletions, bad
// objects reported in their status, an API server outage, and the file and
// Kubernetes sources together.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEnvoy, type EnvoyHandle } from '../support/envoy.js';
import { installCrds, startKubeApi, type KubeApi } from '../support/kube.js';
import { startKubeMeshplane, statusOf, type KubeMeshplane } from '../support/kube-meshplane.js';
import { hostAddress, type HostAddress } from '../support/kube-net.js';
import { freePort, httpGet, startUpstream, waitFor, type Upstream } from '../support/net.js';

const RT = '/apis/networking.gloo.solo.io/v2/namespaces/apps/routetables';
const VG = '/apis/networking.gloo.solo.io/v2/namespaces/gateways/virtualgateways';

const service = (name: string, ip: string, port: number) => `---
apiVersion: v1
kind: Service
metadata: {name: ${name}, namespace: apps}
spec:
  ports: [{name: http, port: 80}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: ${name}-1, namespace: apps, labels: {kubernetes.io/service-name: ${name}}}
addressType: IPv4
ports: [{name: http, port: ${port}}]
endpoints: [{addresses: [${ip}]}]
`;

const base = (listenerPort: number, extraGateway?: number) => `apiVersion: v1
kind: Namespace
metadata: {name: gateways}
---
apiVersion: v1
kind: Namespace
metadata: {name: apps}
---
apiVersion: v1
kind: Namespace
metadata: {name: gloo-mesh}
---
apiVersion: admin.gloo.solo.io/v2
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
${extraGateway ? `---
apiVersion: networking.gloo.solo.io/v2
kind: VirtualGateway
metadata: {name: merged, namespace: gateways}
spec:
  listeners: [{port: {number: ${extraGateway}}, http: {}}]
` : ''}`;

const shop = (target: string, extra = '') => `apiVersion: networking.gloo.solo.io/v2
kind: RouteTable
metadata: {name: shop, namespace: apps}
spec:
  hosts: [shop.example.com]
  virtualGateways: [{name: ingress, namespace: gateways}]
  http:
  - name: status
    matchers: [{uri: {exact: /status}}]
    directResponse: {status: 203, body: "shop is open"}
  - name: api
    matchers: [{uri: {prefix: /api}}]
    forwardTo: {destinations: [{ref: {name: ${target}}, port: {number: 80}${extra}}]}
`;

describe('Kubernetes mode: a real Envoy routed from objects in a real API server', () => {
  let kube: KubeApi;
  let net: HostAddress;
  let a: Upstream, b: Upstream, c: Upstream;
  const fwd: Record<string, number> = {};
  let listenerPort: number;
  let mp: KubeMeshplane;
  let envoy: EnvoyHandle;

  const upstreamOf = async (host: string, path: string, port = listenerPort) => {
    const r = await httpGet(port, host, path);
    return r.status === 200 ? (JSON.parse(r.body) as { upstream: string }).upstream : `status ${r.status}`;
  };
  const until = (what: string, host: string, path: string, want: string, port = listenerPort) =>
    waitFor(what, async () => ((await upstreamOf(host, path, port)) === want ? true : undefined), 20_000);
  const apply = (yaml: string) => kube.kubectl(['apply', '-f', '-'], yaml);

  beforeAll(async () => {
    [kube, net, a, b, c] = await Promise.all([startKubeApi('kube-gw'), hostAddress(), startUpstream('svc-a'), startUpstream('svc-b'), startUpstream('svc-c')]);
    for (const u of [a, b, c]) fwd[u.name] = (await net.forward(u.port)).port;
    listenerPort = await freePort();
    await installCrds(kube);
    apply(base(listenerPort) + service('svc-a', net.ip, fwd['svc-a']) + service('svc-b', net.ip, fwd['svc-b']));
    apply(shop('svc-a'));
    mp = await startKubeMeshplane({ kubeconfig: kube.kubeconfig, leaderId: 'only' });
    envoy = await startEnvoy({ xdsPort: mp.xdsPort, gateway: 'gateways/ingress' });
    await until('the first route through Envoy', 'shop.example.com', '/api/x', 'svc-a');
  });

  afterAll(async () => {
    await envoy?.stop();
    await mp?.stop();
    await kube?.stop();
    await net?.close();
    await Promise.all([a, b, c].map((u) => u?.close()));
  });

  it('runs Envoy the way CI requires', () => {
    if (process.env.CI === 'true') expect(envoy.mode).toBe('docker');
  });

  it('routes what kubectl applied, and writes each resource\'s status', async () => {
    const r = await httpGet(listenerPort, 'shop.example.com', '/status');
    expect(r.status).toBe(203);
    expect(r.body).toBe('shop is open');
    const st = await waitFor('the RouteTable status', async () => {
      const s = await statusOf(kube, `${RT}/shop`);
      return s?.state ? s : undefined;
    });
    const obj = (await kube.api('GET', `${RT}/shop`)).body;
    expect(st).toMatchObject({ state: 'ACCEPTED', messages: [], observedGeneration: obj.metadata.generation });
    // The gateway's status counts the Envoy that ACKed its config.
    await waitFor('the gateway status to count the connected Envoy', async () => {
      const s = await statusOf(kube, `${VG}/ingress`);
      return s?.proxies?.connected === 1 && s.proxies.acked === 1 ? true : undefined;
    });
    // So does every resource the Envoy's config is built from: it runs the RouteTable's current version.
    await waitFor('the RouteTable status to count the Envoy running it', async () => {
      const s = await statusOf(kube, `${RT}/shop`);
      return s?.proxies?.connected === 1 && s.proxies.acked === 1 && s.proxies.rejecting === 0 ? true : undefined;
    });
    // kubectl shows it as a column.
    expect(kube.kubectl(['get', 'routetables', '-n', 'apps'])).toMatch(/shop\s+ACCEPTED/);
  });

  it('follows a RouteTable update and a Service\'s EndpointSlice update', async () => {
    apply(shop('svc-b'));
    await until('the RouteTable update to reach Envoy', 'shop.example.com', '/api/x', 'svc-b');
    apply(service('svc-b', net.ip, fwd['svc-c']));
    await until('the EndpointSlice update to reach Envoy', 'shop.example.com', '/api/x', 'svc-c');
    const gen = (await kube.api('GET', `${RT}/shop`)).body.metadata.generation;
    await waitFor('observedGeneration to follow', async () => ((await statusOf(kube, `${RT}/shop`))?.observedGeneration === gen ? true : undefined));
    await waitFor('the Envoy to be counted on the new version', async () => ((await statusOf(kube, `${RT}/shop`))?.proxies?.acked === 1 ? true : undefined));
  });

  it('reports an invalid object in its status with the field path, and keeps serving the rest', async () => {
    // The CRD keeps unknown fields, so the API server takes this; meshplane does not.
    apply(shop('svc-b').replace(/name: shop/, 'name: broken').replace('shop.example.com', 'broken.example.com').replace('port: {number: 80}', 'port: {number: 80}, weigth: 2'));
    const st = await waitFor('INVALID on the bad RouteTable', async () => {
      const s = await statusOf(kube, `${RT}/broken`);
      return s?.state === 'INVALID' ? s : undefined;
    });
    expect(st.messages).toContain('spec.http[1].forwardTo.destinations[0].weigth: unknown field');
    expect(await upstreamOf('broken.example.com', '/api/x')).toBe('status 404');
    expect(await upstreamOf('shop.example.com', '/api/x')).toBe('svc-c');
    // A bad edit of a served object: its last valid version stays served.
    apply(shop('svc-a', ', weigth: 2'));
    await waitFor('INVALID on the edited RouteTable', async () => ((await statusOf(kube, `${RT}/shop`))?.state === 'INVALID' ? true : undefined));
    expect((await statusOf(kube, `${RT}/shop`)).messages.join()).toContain('(the last valid version is still served)');
    expect(await upstreamOf('shop.example.com', '/api/x')).toBe('svc-c');
    // A semantic error: a destination that does not exist.
    apply(shop('svc-missing'));
    const missing = await waitFor('the missing destination in status', async () => {
      const s = await statusOf(kube, `${RT}/shop`);
      return s?.messages?.some((m: string) => m.includes('svc-missing')) ? s : undefined;
    });
    expect(missing.state).not.toBe('ACCEPTED');
    apply(shop('svc-a'));
    await until('the fixed RouteTable to route', 'shop.example.com', '/api/x', 'svc-a');
    await waitFor('ACCEPTED again', async () => ((await statusOf(kube, `${RT}/shop`))?.state === 'ACCEPTED' ? true : undefined));
    kube.kubectl(['delete', 'routetable', '-n', 'apps', 'broken']);
  });

  it('keeps serving and stays live while the API server is down; resumes without a spurious push', async () => {
    const pushes = async () => (await mp.metric('meshplane_xds_pushes_total', { type: 'route' })) ?? 0;
    const acked = async () => {
      const p = (await mp.get('/debug/proxies')) as Array<{ types: Record<string, { acked?: string }> }>;
      return Object.fromEntries(Object.entries(p[0].types).map(([t, v]) => [t, v.acked]));
    };
    const before = { acked: await acked(), pushes: await pushes() };
    await kube.killApiServer();
    await waitFor('meshplane to notice the outage', async () => (((await mp.metric('meshplane_kube_watches_failing')) ?? 0) > 0 ? true : undefined), 30_000);
    for (let i = 0; i < 5; i++) {
      expect(await upstreamOf('shop.example.com', '/api/during-outage')).toBe('svc-a');
      expect((await fetch(`http://127.0.0.1:${mp.adminPort}/healthz`)).status).toBe(200);
      await new Promise((r) => setTimeout(r, 300));
    }
    await kube.startApiServer();
    // Informers resume from their resourceVersion: same objects, same versions, nothing pushed.
    await waitFor('every watch to work again', async () => ((await mp.metric('meshplane_kube_watches_failing')) === 0 ? true : undefined), 60_000);
    await new Promise((r) => setTimeout(r, 1500));
    expect(await acked()).toEqual(before.acked);
    expect(await pushes()).toBe(before.pushes);
    // And they do follow changes again.
    apply(shop('svc-b'));
    await until('a change after the outage', 'shop.example.com', '/api/x', 'svc-c'); // svc-b's endpoints are svc-c's since the EndpointSlice update
  });

  it('removes the routes of a deleted RouteTable', async () => {
    kube.kubectl(['delete', 'routetable', '-n', 'apps', 'shop']);
    await until('the routes to go', 'shop.example.com', '/api/x', 'status 404');
  });

  it('merges the file and Kubernetes sources: a gateway from the API server serves a RouteTable from a file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kube-merge-'));
    const port = await freePort();
    let both: KubeMeshplane | undefined;
    let second: EnvoyHandle | undefined;
    try {
      apply(`apiVersion: networking.gloo.solo.io/v2
kind: VirtualGateway
metadata: {name: merged, namespace: gateways}
spec:
  listeners: [{port: {number: ${port}}, http: {}}]
`);
      writeFileSync(join(dir, 'blog.yaml'), shop('svc-a').replace('name: shop', 'name: blog').replace('shop.example.com', 'blog.example.com').replace('name: ingress', 'name: merged'));
      both = await startKubeMeshplane({ kubeconfig: kube.kubeconfig, args: ['--config-dir', dir, '--no-status'] });
      second = await startEnvoy({ xdsPort: both.xdsPort, gateway: 'gateways/merged' });
      await until('the file\'s route through the Kubernetes gateway', 'blog.example.com', '/api/x', 'svc-a', port);
      // The file's RouteTable is no Kubernetes object: its status is in /debug/status only.
      const status = (await both.get('/debug/status')) as Record<string, { state: string }>;
      expect(status['RouteTable/apps/blog'].state).toBe('ACCEPTED');
      expect(status['VirtualGateway/gateways/merged'].state).toBe('ACCEPTED');
    } finally {
      await second?.stop();
      await both?.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
