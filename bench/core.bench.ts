// A synthetic estate: 100 workspaces, 10,000 final routes behind 3-level
// delegation, 2,000 label-selected policies, 1,000 services. Reports the median
// full computation, heap, and the recompute after one policy edit.
import { computeCore, createCore } from '../src/core/index.js';
import type { Resource } from '../src/resources/schema.js';
import { validateResource } from '../src/resources/schema.js';
import { median } from './stats.js';

const r = (doc: Record<string, unknown>): Resource => {
  const v = validateResource(doc);
  if (!v.ok) throw new Error(JSON.stringify(v.problems));
  return v.resource;
};
const WS = 100;
const ROUTES_PER_WS = 100; // 10 tables x 10 routes under each workspace's child table
const POLICIES_PER_WS = 20;
const SERVICES_PER_WS = 10;
const kinds = ['RetryTimeoutPolicy', 'FaultInjectionPolicy', 'HeaderManipulationPolicy', 'CORSPolicy'];
const CONFIGS: Record<string, unknown> = { RetryTimeoutPolicy: { requestTimeout: '5s' }, FaultInjectionPolicy: { abort: { httpStatus: 503, percentage: 1 } }, HeaderManipulationPolicy: { appendRequestHeaders: { 'x-team': 'a' } }, CORSPolicy: { allowOrigins: [{ exact: 'https://a.example.com' }] } };
const group: Record<string, string> = { RetryTimeoutPolicy: 'resilience.policy.gloo.solo.io/v2', FaultInjectionPolicy: 'resilience.policy.gloo.solo.io/v2', HeaderManipulationPolicy: 'trafficcontrol.policy.gloo.solo.io/v2', CORSPolicy: 'security.policy.gloo.solo.io/v2' };

export function estate(policyTimestampOffset = 0): Resource[] {
  const out: Resource[] = [];
  out.push(r({ apiVersion: 'networking.gloo.solo.io/v2', kind: 'VirtualGateway', metadata: { name: 'gw', namespace: 'ws-0' }, spec: { listeners: [{ port: { number: 8080 }, http: {} }] } }));
  const rootRoutes: unknown[] = [];
  for (let w = 0; w < WS; w++) {
    const ns = `ws-${w}`;
    out.push(r({ apiVersion: 'admin.gloo.solo.io/v2', kind: 'Workspace', metadata: { name: ns, namespace: 'gloo-mesh' }, spec: { workloadClusters: [{ name: '*', namespaces: [{ name: ns }] }] } }));
    out.push(r({ apiVersion: 'admin.gloo.solo.io/v2', kind: 'WorkspaceSettings', metadata: { name: ns, namespace: ns }, spec: w === 0
      ? { exportTo: [{ workspaces: [{ name: '*' }], resources: [{ kind: 'ROUTE_TABLE' }] }], importFrom: [{ workspaces: [{ name: '*' }], resources: [{ kind: 'SERVICE' }] }] }
      : { importFrom: [{ workspaces: [{ name: 'ws-0' }], resources: [{ kind: 'ROUTE_TABLE' }] }], exportTo: [{ workspaces: [{ name: 'ws-0' }], resources: [{ kind: 'SERVICE' }] }] } }));
    for (let s = 0; s < SERVICES_PER_WS; s++) {
      out.push(r({ apiVersion: 'v1', kind: 'Service', metadata: { name: `svc-${s}`, namespace: ns }, spec: { ports: [{ name: 'http', port: 80 }] } }));
      out.push(r({ apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: `svc-${s}-1`, namespace: ns, labels: { 'kubernetes.io/service-name': `svc-${s}` } }, addressType: 'IPv4', ports: [{ name: 'http', port: 9000 }], endpoints: [{ addresses: [`10.${w}.${s}.1`] }, { addresses: [`10.${w}.${s}.2`] }] }));
    }
    rootRoutes.push({ name: `to-${ns}`, matchers: [{ uri: { prefix: `/${ns}` } }], labels: { team: ns }, delegate: { routeTables: [{ name: 'child', namespace: ns }] } });
    // level 2: one child table delegating to 10 grandchild tables by label
    out.push(r({ apiVersion: 'networking.gloo.solo.io/v2', kind: 'RouteTable', metadata: { name: 'child', namespace: ns, labels: { tier: 'child' } }, spec: { http: [{ name: 'all', delegate: { routeTables: [{ labels: { parent: 'child' }, namespace: ns }] } }] } }));
    for (let t = 0; t < 10; t++) {
      const http = Array.from({ length: ROUTES_PER_WS / 10 }, (_, i) => ({
        name: `r${i}`,
        labels: { group: `g${(t * 10 + i) % POLICIES_PER_WS}`, tier: i % 2 ? 'gold' : 'silver' },
        matchers: [{ uri: { prefix: `/${ns}/t${t}/r${i}` } }],
        forwardTo: { destinations: [{ ref: { name: `svc-${(t + i) % SERVICES_PER_WS}`, namespace: ns }, port: { number: 80 } }] },
      }));
      out.push(r({ apiVersion: 'networking.gloo.solo.io/v2', kind: 'RouteTable', metadata: { name: `gc-${t}`, namespace: ns, labels: { parent: 'child' } }, spec: { weight: t, http } }));
    }
    for (let p = 0; p < POLICIES_PER_WS; p++) {
      const kind = kinds[p % kinds.length];
      out.push(r({ apiVersion: group[kind], kind, metadata: { name: `p${p}`, namespace: ns, creationTimestamp: new Date(Date.UTC(2024, 0, 1, 0, 0, p + policyTimestampOffset)).toISOString() }, spec: { applyToRoutes: [{ route: { labels: { group: `g${p}` } } }], config: CONFIGS[kind] } }));
    }
  }
  out.push(r({ apiVersion: 'networking.gloo.solo.io/v2', kind: 'RouteTable', metadata: { name: 'root', namespace: 'ws-0' }, spec: { hosts: ['www.example.com'], virtualGateways: [{ name: 'gw' }], http: rootRoutes } }));
  return out;
}

const runs = Number(process.env.RUNS ?? 7);
const resources = estate();
const first = computeCore(resources);
const routes = first.ir.routes.length;
const policies = resources.filter((x) => x.kind.endsWith('Policy')).length;
const services = resources.filter((x) => x.kind === 'Service').length;
if (routes !== WS * ROUTES_PER_WS) throw new Error(`expected ${WS * ROUTES_PER_WS} routes, got ${routes}`);

const full: number[] = [];
let heapPeak = 0;
for (let i = 0; i < runs; i++) {
  global.gc?.();
  const t = performance.now();
  computeCore(resources);
  full.push(performance.now() - t);
  heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
}
// One policy edit: same resources, one policy's selector changed, through the
// memoising core the server uses (routing is reused, attachment runs again).
const engine = createCore();
engine(resources);
const edit: number[] = [];
for (let i = 0; i < runs; i++) {
  const idx = resources.findIndex((x) => x.kind === 'RetryTimeoutPolicy' && x.metadata.namespace === `ws-${i + 1}`);
  const edited = resources.slice();
  edited[idx] = { ...edited[idx], spec: { ...(edited[idx].spec as object), applyToRoutes: [{ route: { labels: { tier: 'gold' } } }] } };
  const t = performance.now();
  const result = engine(edited);
  edit.push(performance.now() - t);
  if (JSON.stringify(result) !== JSON.stringify(computeCore(edited))) throw new Error('memoised result differs from a full computation');
}
console.log(JSON.stringify({
  estate: { workspaces: WS, finalRoutes: routes, policies, services },
  runs,
  fullComputeMs: { median: +median(full).toFixed(1), min: +Math.min(...full).toFixed(1), max: +Math.max(...full).toFixed(1) },
  afterOnePolicyEditMs: { median: +median(edit).toFixed(1) },
  heapUsedPeakMiB: +(heapPeak / 1024 / 1024).toFixed(1),
}, null, 2));
