// The synthetic estate of bench:core and bench:e2e: per 100 final routes one
// workspace; a root table in the gateway workspace delegating to each
// workspace's child table, which delegates by label to 10 grandchild tables of
// 10 routes each (3-level delegation, every chain crossing workspaces); 20
// label-selected policies (four kinds, so conflicts happen) and 10 Services
// with EndpointSlices per workspace.
import { DEFAULT_SETTINGS, type CoreSettings } from '../src/core/index.js';
import { validateResource, type Resource } from '../src/resources/schema.js';

export type Doc = Record<string, unknown> & { kind: string; metadata: { name: string; namespace?: string; [k: string]: unknown } };

export const ROUTES_PER_WS = 100; // 10 tables x 10 routes under each workspace's child table
const POLICIES_PER_WS = 20;
const SERVICES_PER_WS = 10;
const kinds = ['RetryTimeoutPolicy', 'FaultInjectionPolicy', 'HeaderManipulationPolicy', 'CORSPolicy'];
const CONFIGS: Record<string, unknown> = { RetryTimeoutPolicy: { requestTimeout: '5s' }, FaultInjectionPolicy: { abort: { httpStatus: 503, percentage: 1 } }, HeaderManipulationPolicy: { appendRequestHeaders: { 'x-team': 'a' } }, CORSPolicy: { allowOrigins: [{ exact: 'https://a.example.com' }] } };
const group: Record<string, string> = { RetryTimeoutPolicy: 'resilience.policy.gloo.solo.io/v2', FaultInjectionPolicy: 'resilience.policy.gloo.solo.io/v2', HeaderManipulationPolicy: 'trafficcontrol.policy.gloo.solo.io/v2', CORSPolicy: 'security.policy.gloo.solo.io/v2' };

/** Workspaces of an estate with about this many final routes. */
export const workspacesFor = (routes: number) => Math.max(1, Math.round(routes / ROUTES_PER_WS));

export interface EstateOptions {
  workspaces: number;
  policyTimestampOffset?: number;
  /** The VirtualGateway's listener port. */
  listenerPort?: number;
}

/** The estate's documents (YAML-shaped objects), gateway ws-0/gw. */
export function estateDocs({ workspaces: WS, policyTimestampOffset = 0, listenerPort = 8080 }: EstateOptions): Doc[] {
  const out: Doc[] = [];
  const r = (d: Doc) => d;
  out.push(r({ apiVersion: 'networking.gloo.solo.io/v2', kind: 'VirtualGateway', metadata: { name: 'gw', namespace: 'ws-0' }, spec: { listeners: [{ port: { number: listenerPort }, http: {} }] } }));
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

/** The estate of about `routes` final routes as validated resources, with core settings whose route limits fit it. */
export function estateResources(routes: number): { resources: Resource[]; settings: CoreSettings } {
  const resources = estateDocs({ workspaces: workspacesFor(routes) }).map((doc) => {
    const v = validateResource(doc);
    if (!v.ok) throw new Error(JSON.stringify(v.problems));
    return v.resource;
  });
  const settings: CoreSettings = { ...DEFAULT_SETTINGS, limits: { ...DEFAULT_SETTINGS.limits, maxRoutesPerRootTable: 2 * routes + 1000, maxRoutesPerGateway: 2 * routes + 1000 } };
  return { resources, settings };
}
