// Several clusters through one kubeconfig: a management cluster with the
// Gloo config and a workload cluster with the apps. Every resource is stamped
// with its context's cluster name (Resource.cluster); Gloo kinds are read from
// the management cluster only. Envoy routes a management RouteTable to a
// workload cluster's endpoints.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { firstValueFrom } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKubernetes } from '../../src/sources/kubernetes/index.js';
import type { KubernetesFlags } from '../../src/sources/kubernetes/flags.js';
import { mergeSources } from '../../src/sources/merge.js';
import { startEnvoy, type EnvoyHandle } from '../support/envoy.js';
import { installCrds, startKubeApi, type KubeApi } from '../support/kube.js';
import { startKubeMeshplane, type KubeMeshplane } from '../support/kube-meshplane.js';
import { hostAddress, type HostAddress } from '../support/kube-net.js';
import { freePort, httpGet, startUpstream, waitFor, type Upstream } from '../support/net.js';

const mgmtConfig = (listenerPort: number) => `apiVersion: v1
kind: Namespace
metadata: {name: gloo-mesh}
---
apiVersion: v1
kind: Namespace
metadata: {name: gateways}
---
apiVersion: admin.gloo.solo.io/v2
kind: Workspace
metadata: {name: shop, namespace: gloo-mesh}
spec:
  workloadClusters: [{name: '*', namespaces: [{name: gateways}, {name: shop}]}]
---
apiVersion: networking.gloo.solo.io/v2
kind: VirtualGateway
metadata: {name: ingress, namespace: gateways}
spec:
  listeners: [{port: {number: ${listenerPort}}, http: {}}]
---
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: networking.gloo.solo.io/v2
kind: RouteTable
metadata: {name: shop, namespace: shop}
spec:
  hosts: [shop.example.com]
  virtualGateways: [{name: ingress, namespace: gateways}]
  http:
  - name: all
    forwardTo: {destinations: [{ref: {name: cart, namespace: shop, cluster: west}, port: {number: 80}}]}
`;

const westApps = (ip: string, port: number) => `apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: Service
metadata: {name: cart, namespace: shop}
spec:
  ports: [{name: http, port: 80}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: cart-1, namespace: shop, labels: {kubernetes.io/service-name: cart}}
addressType: IPv4
ports: [{name: http, port: ${port}}]
endpoints: [{addresses: [${ip}]}]
---
apiVersion: networking.gloo.solo.io/v2
kind: RouteTable
metadata: {name: ignored, namespace: shop}
spec:
  hosts: [ignored.example.com]
  virtualGateways: [{name: ingress, namespace: gateways}]
`;

/** One kubeconfig with a context per API server. */
function mergedKubeconfig(file: string, servers: Record<string, KubeApi>): string {
  const out = { apiVersion: 'v1', kind: 'Config', clusters: [] as unknown[], users: [] as unknown[], contexts: [] as unknown[], 'current-context': Object.keys(servers)[0] };
  for (const [name, k] of Object.entries(servers)) {
    const cfg = JSON.parse(readFileSync(k.kubeconfig, 'utf8'));
    out.clusters.push({ name, cluster: cfg.clusters[0].cluster });
    out.users.push({ name, user: cfg.users[0].user });
    out.contexts.push({ name, context: { cluster: name, user: name } });
  }
  writeFileSync(file, JSON.stringify(out));
  return file;
}

describe('a management cluster and a workload cluster', () => {
  let mgmt: KubeApi;
  let west: KubeApi;
  let net: HostAddress;
  let up: Upstream;
  let kubeconfig: string;
  let listenerPort: number;

  beforeAll(async () => {
    [mgmt, west, net, up] = await Promise.all([startKubeApi('kube-mgmt'), startKubeApi('kube-west'), hostAddress(), startUpstream('cart-west')]);
    const port = (await net.forward(up.port)).port;
    listenerPort = await freePort();
    await Promise.all([installCrds(mgmt), installCrds(west)]);
    kubeconfig = mergedKubeconfig(join(mgmt.dir, 'kubeconfig-both'), { 'kind-mgmt': mgmt, 'kind-west': west });
    mgmt.kubectl(['apply', '-f', '-'], mgmtConfig(listenerPort));
    west.kubectl(['apply', '-f', '-'], westApps(net.ip, port));
  });

  afterAll(async () => {
    await Promise.all([mgmt?.stop(), west?.stop()]);
    await net?.close();
    await up?.close();
  });

  it('stamps every resource with its context\'s cluster and reads Gloo kinds from the management cluster only', async () => {
    const flags = { kubeconfig, kubeContext: ['kind-mgmt=mgmt', 'kind-west=west'], leaderElect: false, status: false } as unknown as KubernetesFlags;
    const kube = startKubernetes(flags, { clusterName: 'cluster-1', debounceMs: 20, maxDelayMs: 200 }, pino({ level: 'warn' }), undefined, undefined);
    try {
      expect(kube.clusters.map((c) => [c.cluster, c.management])).toEqual([['mgmt', true], ['west', false]]);
      const set = await firstValueFrom(mergeSources(kube.sources, 'cluster-1'));
      // resourceKey ends in @cluster outside the default cluster: compare kind/namespace/name alone.
      const where = (key: string) => set.resources.filter((r) => `${r.kind}/${r.metadata.namespace}/${r.metadata.name}` === key).map((r) => r.cluster).sort();
      expect(where('RouteTable/shop/shop')).toEqual(['mgmt']);
      expect(where('Workspace/gloo-mesh/shop')).toEqual(['mgmt']);
      expect(where('Service/shop/cart')).toEqual(['west']);
      expect(where('EndpointSlice/shop/cart-1')).toEqual(['west']);
      // Both clusters have a namespace "shop" (and "default"): one per cluster, not merged away.
      expect(where('Namespace//shop')).toEqual(['mgmt', 'west']);
      // A Gloo object in a workload cluster is not config.
      expect(where('RouteTable/shop/ignored')).toEqual([]);
    } finally {
      await kube.stop();
    }
  });

  it('routes a management RouteTable to a workload cluster\'s endpoints through Envoy', async () => {
    let mp: KubeMeshplane | undefined;
    let envoy: EnvoyHandle | undefined;
    try {
      mp = await startKubeMeshplane({ kubeconfig, args: ['--kube-context', 'kind-mgmt', '--kube-context', 'kind-west=west', '--cluster-name', 'mgmt', '--no-leader-elect'] });
      envoy = await startEnvoy({ xdsPort: mp.xdsPort, gateway: 'gateways/ingress' });
      await waitFor('the workload cluster\'s upstream through Envoy', async () => {
        const r = await httpGet(listenerPort, 'shop.example.com', '/');
        return r.status === 200 && JSON.parse(r.body).upstream === 'cart-west' ? true : undefined;
      }, 30_000);
      expect((await mp.metric('meshplane_kube_synced', { cluster: 'west' }))).toBe(1);
      expect((await mp.metric('meshplane_kube_synced', { cluster: 'mgmt' }))).toBe(1);
    } finally {
      await envoy?.stop();
      await mp?.stop();
    }
  });
});
