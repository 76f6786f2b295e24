// A synthetic mesh for `npm run bench:mesh`: W workspaces, each one namespace
// with sidecar injection, PODS workloads and SERVICES Services (selecting
// those workloads), importing Services from the next two workspaces. Every
// workspace has an AccessPolicy on all its destinations (allowing its own and
// its importers' service accounts) and a client-side retry policy.
import type { Resource } from '../../src/resources/schema.js';
import { validateResource } from '../../src/resources/schema.js';

export interface EstateSize {
  workspaces: number;
  podsPerWorkspace: number;
  servicesPerWorkspace: number;
}

export const DEFAULT_ESTATE: EstateSize = { workspaces: 50, podsPerWorkspace: 10, servicesPerWorkspace: 20 };

const ok = (doc: unknown): Resource => {
  const r = validateResource(doc);
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.resource;
};

export const podIp = (w: number, p: number): string => `10.${Math.floor(w / 200)}.${w % 200}.${p + 10}`;

export function endpointSlice(w: number, s: number, size: EstateSize, generation = 0): Resource {
  const ns = `ns-${w}`;
  const pod = s % size.podsPerWorkspace;
  return ok({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `svc-${s}-abc`, namespace: ns, labels: { 'kubernetes.io/service-name': `svc-${s}` } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 8080 }],
    endpoints: [
      { addresses: [podIp(w, pod)], targetRef: { kind: 'Pod', name: `wl-${pod}`, namespace: ns } },
      // A generation bump adds an endpoint: "one Service's endpoints changed".
      ...Array.from({ length: generation % 3 }, (_, i) => ({ addresses: [`10.250.${w % 250}.${i + 1}`] })),
    ],
  });
}

export function estate(size: EstateSize = DEFAULT_ESTATE): Resource[] {
  const out: Resource[] = [];
  const W = size.workspaces;
  for (let w = 0; w < W; w++) {
    const ns = `ns-${w}`;
    const ws = `ws-${w}`;
    out.push(ok({ apiVersion: 'admin.gloo.solo.io/v2', kind: 'Workspace', metadata: { name: ws, namespace: 'gloo-mesh' }, spec: { workloadClusters: [{ name: '*', namespaces: [{ name: ns }] }] } }));
    out.push(ok({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: { 'istio-injection': 'enabled' } } }));
    const from = [(w + 1) % W, (w + 2) % W].map((i) => ({ name: `ws-${i}` }));
    const to = [(w - 1 + W) % W, (w - 2 + W) % W].map((i) => ({ name: `ws-${i}` }));
    out.push(ok({
      apiVersion: 'admin.gloo.solo.io/v2', kind: 'WorkspaceSettings', metadata: { name: ws, namespace: ns },
      spec: { importFrom: [{ workspaces: from, resources: [{ kind: 'SERVICE' }] }], exportTo: [{ workspaces: to, resources: [{ kind: 'SERVICE' }] }] },
    }));
    for (let p = 0; p < size.podsPerWorkspace; p++) {
      out.push(ok({ apiVersion: 'v1', kind: 'Pod', metadata: { name: `wl-${p}`, namespace: ns, labels: { app: `wl-${p}` } }, spec: { serviceAccountName: `sa-${p}` } }));
    }
    for (let s = 0; s < size.servicesPerWorkspace; s++) {
      out.push(ok({ apiVersion: 'v1', kind: 'Service', metadata: { name: `svc-${s}`, namespace: ns, labels: { app: `svc-${s}` } }, spec: { selector: { app: `wl-${s % size.podsPerWorkspace}` }, ports: [{ name: 'http', port: 8080 }] } }));
      out.push(endpointSlice(w, s, size));
    }
    out.push(ok({
      apiVersion: 'security.policy.gloo.solo.io/v2', kind: 'AccessPolicy', metadata: { name: 'callers', namespace: ns },
      spec: { config: { authz: { allowedClients: [ns, ...to.map((t) => t.name.replace('ws-', 'ns-'))].map((n) => ({ serviceAccountSelector: { namespace: n } })) } } },
    }));
    out.push(ok({
      apiVersion: 'resilience.policy.gloo.solo.io/v2', kind: 'RetryTimeoutPolicy', metadata: { name: 'retries', namespace: ns },
      spec: { applyToDestinations: [{ selector: {} }], config: { requestTimeout: '5s', retries: { attempts: 2 } } },
    }));
  }
  return out;
}
