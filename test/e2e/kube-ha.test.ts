// Two meshplane replicas against one API server, with only the Helm chart's
// RBAC (a ServiceAccount token): both serve identical xDS versions, a Lease
// elects the one that writes status, and when it dies the other takes over
// within the lease duration while its Envoy sees no version change.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, startEnvoy, type EnvoyHandle } from '../support/envoy.js';
import { installCrds, kubeBinDir, startKubeApi, type KubeApi } from '../support/kube.js';
import { startKubeMeshplane, statusOf, type KubeMeshplane } from '../support/kube-meshplane.js';
import { hostAddress, type HostAddress } from '../support/kube-net.js';
import { freePort, httpGet, startUpstream, waitFor, type Upstream } from '../support/net.js';

const NS = 'meshplane-system';
const RELEASE = 'mp';
const LEASE = `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases/${RELEASE}-meshplane`;
const VG = '/apis/networking.gloo.solo.io/v2/namespaces/gateways/virtualgateways/ingress';
const LEASE_MS = 3000;

const config = (listenerPort: number, ip: string, port: number) => `apiVersion: v1
kind: Namespace
metadata: {name: gateways}
---
apiVersion: v1
kind: Namespace
metadata: {name: gloo-mesh}
---
apiVersion: admin.gloo.solo.io/v2
kind: Workspace
metadata: {name: team, namespace: gloo-mesh}
spec:
  workloadClusters: [{name: '*', namespaces: [{name: gateways}]}]
---
apiVersion: networking.gloo.solo.io/v2
kind: VirtualGateway
metadata: {name: ingress, namespace: gateways}
spec:
  listeners: [{port: {number: ${listenerPort}}, http: {}}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: gateways}
spec:
  ports: [{name: http, port: 80}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-1, namespace: gateways, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
ports: [{name: http, port: ${port}}]
endpoints: [{addresses: [${ip}]}]
---
apiVersion: networking.gloo.solo.io/v2
kind: RouteTable
metadata: {name: web, namespace: gateways}
spec:
  hosts: [web.example.com]
  virtualGateways: [{name: ingress}]
  http:
  - name: all
    forwardTo: {destinations: [{ref: {name: web}, port: {number: 80}}]}
`;

describe('two replicas with leader election', () => {
  let kube: KubeApi;
  let net: HostAddress;
  let up: Upstream;
  let listenerPort: number;
  let saKubeconfig: string;
  const replicas: KubeMeshplane[] = [];
  let envoy: EnvoyHandle;

  const replica = (id: string) =>
    startKubeMeshplane({
      kubeconfig: saKubeconfig,
      leaderId: id,
      args: ['--leader-election-namespace', NS, '--leader-election-name', `${RELEASE}-meshplane`, '--lease-duration-ms', String(LEASE_MS), '--renew-deadline-ms', '2000', '--retry-period-ms', '500'],
    }).then((r) => (replicas.push(r), r));
  const holder = async () => (await kube.api('GET', LEASE)).body?.spec?.holderIdentity;
  const writes = async (r: KubeMeshplane) => (await r.metric('meshplane_status_writes_total', { result: 'ok' })) ?? 0;
  const acked = async (r: KubeMeshplane) => {
    const p = (await r.get('/debug/proxies')) as Array<{ types: Record<string, { acked?: string; sent?: string }> }>;
    return p.length ? Object.fromEntries(Object.entries(p[0].types).map(([t, v]) => [t, v.acked])) : undefined;
  };

  beforeAll(async () => {
    [kube, net, up] = await Promise.all([startKubeApi('kube-ha'), hostAddress(), startUpstream('web')]);
    const port = (await net.forward(up.port)).port;
    listenerPort = await freePort();
    await installCrds(kube);
    // Only what the chart grants: its ServiceAccount, ClusterRole, Role and bindings.
    kube.kubectl(['create', 'namespace', NS]);
    const helm = join(kubeBinDir(), 'helm-v3.22.0');
    const rbac = execFileSync(helm, ['template', RELEASE, join(REPO_ROOT, 'deploy/helm/meshplane'), '-n', NS, '-s', 'templates/rbac.yaml', '-s', 'templates/serviceaccount.yaml'], { encoding: 'utf8' });
    kube.kubectl(['apply', '-f', '-'], rbac);
    const token = kube.kubectl(['create', 'token', `${RELEASE}-meshplane`, '-n', NS, '--duration', '2h']).trim();
    saKubeconfig = kube.tokenKubeconfig(token, 'meshplane-sa');
    kube.kubectl(['apply', '-f', '-'], config(listenerPort, net.ip, port));
  });

  afterAll(async () => {
    await envoy?.stop();
    for (const r of replicas) await r.stop();
    await kube?.stop();
    await net?.close();
    await up?.close();
  });

  it('elect one leader, which alone writes status; both serve identical versions', async () => {
    const a = await replica('replica-a');
    await waitFor('replica-a to take the Lease', async () => ((await holder()) === 'replica-a' ? true : undefined), 20_000);
    const b = await replica('replica-b');
    envoy = await startEnvoy({ xdsPort: b.xdsPort, gateway: 'gateways/ingress' });
    await waitFor('traffic through the Envoy on replica-b', async () => ((await httpGet(listenerPort, 'web.example.com', '/')).status === 200 ? true : undefined), 30_000);
    await waitFor('the gateway status', async () => ((await statusOf(kube, VG))?.state === 'ACCEPTED' ? true : undefined));
    expect(await a.metric('meshplane_leader')).toBe(1);
    expect(await b.metric('meshplane_leader')).toBe(0);
    expect(await writes(a)).toBeGreaterThan(0);
    expect(await writes(b)).toBe(0);
    // Same input, same content hashes: a proxy moving between replicas gets no push.
    const cfg = async (r: KubeMeshplane) => JSON.stringify(await r.get('/debug/config/gateway:gateways/ingress'));
    expect(await cfg(a)).toBe(await cfg(b));
  });

  it('fail over within the lease duration when the leader dies; the survivor writes; its Envoy sees no version change', async () => {
    const [a, b] = replicas;
    const before = await waitFor('Envoy to ACK every type', async () => {
      const v = await acked(b);
      return v && ['cluster', 'endpoint', 'listener', 'route'].every((t) => v[t]) ? v : undefined;
    });
    const pushes = (await b.metric('meshplane_xds_pushes_total', { type: 'route' })) ?? 0;
    await a.kill();
    const died = Date.now();
    await waitFor('replica-b to take the Lease', async () => ((await holder()) === 'replica-b' ? true : undefined), 20_000, 100);
    const takeover = Date.now() - died;
    console.log(`replica-b took over ${takeover} ms after the leader died (lease ${LEASE_MS} ms)`);
    // Observed-time expiry: one lease duration plus one retry period, with slack for a loaded machine.
    expect(takeover).toBeLessThan(LEASE_MS + 500 + 3000);
    expect(await b.metric('meshplane_leader')).toBe(1);
    // The new leader corrects what only it can see: its own Envoy in the gateway's status.
    await waitFor('replica-b to write the gateway status', async () => ((await statusOf(kube, VG))?.proxies?.connected === 1 ? true : undefined), 20_000);
    expect(await writes(b)).toBeGreaterThan(0);
    expect(await acked(b)).toEqual(before);
    expect((await b.metric('meshplane_xds_pushes_total', { type: 'route' })) ?? 0).toBe(pushes);
    expect((await httpGet(listenerPort, 'web.example.com', '/')).status).toBe(200);
  });

  it('hand over at once on a graceful stop (the Lease is released)', async () => {
    const b = replicas[1];
    const c = await replica('replica-c');
    expect(await c.metric('meshplane_leader')).toBe(0);
    const stopped = Date.now();
    expect(await b.stop('SIGTERM')).toBe(0);
    await waitFor('replica-c to take the released Lease', async () => ((await holder()) === 'replica-c' ? true : undefined), 20_000, 100);
    const took = Date.now() - stopped;
    console.log(`replica-c took over ${took} ms after replica-b stopped gracefully`);
    const lease = (await kube.api('GET', LEASE)).body.spec;
    expect(lease.leaseTransitions).toBeGreaterThanOrEqual(2);
  });
});
