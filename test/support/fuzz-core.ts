// Random estates for the core's fuzz test: mostly-valid Gloo documents over a
// small universe of names (so references, selectors, delegation, cycles and
// fan-out actually happen), plus hostile shapes: long globs, deep chains,
// huge label sets, thousands of routes. Documents go through validateResource,
// as the sources do, so invalid ones are dropped exactly as in production.
import fc from 'fast-check';
import { validateResource, type Resource } from '../../src/resources/schema.js';

const NS = ['a', 'b', 'c', 'd'];
const TABLES = ['t0', 't1', 't2', 't3', 't4', 't5'];
const SVCS = ['s0', 's1', 's2'];
const LABELS = fc.dictionary(fc.constantFrom('team', 'tier', 'val', 'region'), fc.constantFrom('foo', 'bar', 'x', 'gold'), { maxKeys: 3 });
const name = (pool: string[]) => fc.constantFrom(...pool);
const glob = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('*', 'a', 'b*', '*c', 't*', 's?', 'x') },
  { weight: 1, arbitrary: fc.stringMatching(/^(a\*){1,30}b?$/) }, // backtracking bait
);

const selector = fc.record({ name: fc.option(fc.oneof(name(TABLES), glob), { nil: undefined }), namespace: fc.option(fc.oneof(name(NS), glob), { nil: undefined }), labels: fc.option(LABELS, { nil: undefined }), workspace: fc.option(fc.oneof(name(NS), glob), { nil: undefined }) }, { requiredKeys: [] });
const matcher = fc.record({ uri: fc.option(fc.oneof(fc.record({ prefix: fc.constantFrom('/', '/a', '/a/b', '/b') }), fc.record({ exact: fc.constantFrom('/a', '/a/b/c') }), fc.record({ regex: fc.constantFrom('/a.*', '^/b[0-9]+') })), { nil: undefined }), headers: fc.option(fc.array(fc.record({ name: fc.constantFrom('x', 'y'), value: fc.constantFrom('1', '2') }), { maxLength: 2 }), { nil: undefined }) }, { requiredKeys: [] });
const destination = fc.record({ ref: fc.record({ name: name(SVCS), namespace: name(NS) }), port: fc.constant({ number: 80 }), kind: fc.constantFrom('SERVICE', 'VIRTUAL_DESTINATION', 'EXTERNAL_SERVICE') });
const route = fc.oneof(
  fc.record({ name: fc.constantFrom('r1', 'r2', 'r3'), labels: fc.option(LABELS, { nil: undefined }), matchers: fc.option(fc.array(matcher, { maxLength: 3 }), { nil: undefined }), delegate: fc.record({ routeTables: fc.array(selector, { minLength: 1, maxLength: 3 }), sortMethod: fc.option(fc.constantFrom('TABLE_WEIGHT', 'ROUTE_SPECIFICITY'), { nil: undefined }) }, { requiredKeys: ['routeTables'] }) }, { requiredKeys: ['name', 'delegate'] }),
  fc.record({ name: fc.constantFrom('f1', 'f2'), labels: fc.option(LABELS, { nil: undefined }), matchers: fc.option(fc.array(matcher, { maxLength: 2 }), { nil: undefined }), forwardTo: fc.record({ destinations: fc.array(destination, { minLength: 1, maxLength: 2 }) }) }, { requiredKeys: ['name', 'forwardTo'] }),
  fc.record({ name: fc.constant('d'), directResponse: fc.record({ status: fc.constantFrom(200, 404, 503), body: fc.option(fc.string({ maxLength: 20 }), { nil: undefined }) }, { requiredKeys: ['status'] }) }),
);
const sharing = fc.array(fc.record({ workspaces: fc.array(fc.record({ name: fc.oneof(name(NS), glob) }), { minLength: 1, maxLength: 2 }), resources: fc.option(fc.array(fc.record({ kind: fc.constantFrom('ALL', 'ROUTE_TABLE', 'SERVICE', 'VIRTUAL_DESTINATION', 'EXTERNAL_SERVICE') }), { maxLength: 2 }), { nil: undefined }) }, { requiredKeys: ['workspaces'] }), { maxLength: 3 });
const POLICY = {
  RetryTimeoutPolicy: ['resilience.policy.gloo.solo.io/v2', { requestTimeout: '2s' }],
  FaultInjectionPolicy: ['resilience.policy.gloo.solo.io/v2', { abort: { httpStatus: 503, percentage: 10 } }],
  HeaderManipulationPolicy: ['trafficcontrol.policy.gloo.solo.io/v2', { appendRequestHeaders: { 'x-a': 'b' } }],
  CORSPolicy: ['security.policy.gloo.solo.io/v2', { allowOrigins: [{ exact: 'https://x' }] }],
  AccessPolicy: ['security.policy.gloo.solo.io/v2', {}],
  OutlierDetectionPolicy: ['resilience.policy.gloo.solo.io/v2', {}],
} as const;
const policy = fc.record({ kind: fc.constantFrom(...(Object.keys(POLICY) as Array<keyof typeof POLICY>)), ns: name(NS), n: fc.integer({ min: 0, max: 5 }), routes: fc.option(fc.array(fc.record({ route: selector }), { maxLength: 2 }), { nil: undefined }), dests: fc.option(fc.array(fc.record({ selector }), { maxLength: 2 }), { nil: undefined }), ts: fc.integer({ min: 0, max: 5 }) }, { requiredKeys: ['kind', 'ns', 'n', 'ts'] });

export interface FuzzEstate {
  docs: unknown[];
  note: string;
}

/** An arbitrary estate; `scale` adds a bulk of routes or a deep/fan-out chain in some cases. */
export const estateArbitrary: fc.Arbitrary<FuzzEstate> = fc
  .record({
    workspaces: fc.array(fc.record({ name: name(NS), namespaces: fc.array(fc.oneof(name(NS), glob), { minLength: 1, maxLength: 2 }) }), { minLength: 1, maxLength: 4 }),
    settings: fc.array(fc.record({ ns: name(NS), exportTo: sharing, importFrom: sharing }), { maxLength: 4 }),
    tables: fc.array(fc.record({ ns: name(NS), name: name(TABLES), labels: LABELS, root: fc.boolean(), weight: fc.option(fc.integer({ min: -3, max: 3 }), { nil: undefined }), http: fc.array(route, { maxLength: 4 }) }), { maxLength: 10 }),
    policies: fc.array(policy, { maxLength: 8 }),
    extra: fc.constantFrom('none', 'none', 'none', 'bulk', 'deep', 'fanout', 'labels'),
  })
  .map((e) => {
    const docs: unknown[] = [];
    for (const ns of NS) docs.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: { env: ns } } });
    e.workspaces.forEach((w, i) => docs.push({ apiVersion: 'admin.gloo.solo.io/v2', kind: 'Workspace', metadata: { name: `${w.name}${i}`, namespace: 'gloo-mesh', creationTimestamp: `2024-01-0${1 + (i % 9)}T00:00:00Z` }, spec: { workloadClusters: [{ name: '*', namespaces: w.namespaces.map((n) => ({ name: n })) }] } }));
    e.settings.forEach((s, i) => docs.push({ apiVersion: 'admin.gloo.solo.io/v2', kind: 'WorkspaceSettings', metadata: { name: `ws${i}`, namespace: s.ns }, spec: { exportTo: s.exportTo, importFrom: s.importFrom } }));
    for (const ns of NS) {
      docs.push({ apiVersion: 'networking.gloo.solo.io/v2', kind: 'VirtualGateway', metadata: { name: 'gw', namespace: ns }, spec: { listeners: [{ port: { number: 8080 }, http: {} }] } });
      for (const s of SVCS) {
        docs.push({ apiVersion: 'v1', kind: 'Service', metadata: { name: s, namespace: ns }, spec: { ports: [{ name: 'http', port: 80 }] } });
        docs.push({ apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: `${s}-1`, namespace: ns, labels: { 'kubernetes.io/service-name': s } }, addressType: 'IPv4', ports: [{ name: 'http', port: 9000 }], endpoints: [{ addresses: ['127.0.0.1'] }] });
        docs.push({ apiVersion: 'networking.gloo.solo.io/v2', kind: 'VirtualDestination', metadata: { name: s, namespace: ns }, spec: { hosts: [`${s}.${ns}.global`], services: [{ name: s }], ports: [{ number: 80 }] } });
        docs.push({ apiVersion: 'networking.gloo.solo.io/v2', kind: 'ExternalService', metadata: { name: s, namespace: ns }, spec: { hosts: [`${s}.${ns}.example.com`], ports: [{ number: 80, protocol: 'HTTP' }] } });
      }
    }
    e.tables.forEach((t) => docs.push({ apiVersion: 'networking.gloo.solo.io/v2', kind: 'RouteTable', metadata: { name: t.name, namespace: t.ns, labels: t.labels }, spec: { ...(t.root ? { hosts: [`${t.name}.example.com`], virtualGateways: [{ name: 'gw', namespace: 'a' }] } : {}), ...(t.weight !== undefined ? { weight: t.weight } : {}), http: t.http } }));
    e.policies.forEach((p) => {
      const [group, config] = POLICY[p.kind];
      docs.push({ apiVersion: group, kind: p.kind, metadata: { name: `p${p.n}`, namespace: p.ns, creationTimestamp: `2024-02-0${1 + p.ts}T00:00:00Z` }, spec: { ...(p.routes ? { applyToRoutes: p.routes } : {}), ...(p.dests ? { applyToDestinations: p.dests } : {}), config } });
    });
    if (e.extra === 'bulk') docs.push({ apiVersion: 'networking.gloo.solo.io/v2', kind: 'RouteTable', metadata: { name: 'bulk', namespace: 'a' }, spec: { hosts: ['bulk.example.com'], virtualGateways: [{ name: 'gw' }], http: Array.from({ length: 3000 }, (_, i) => ({ name: `b${i}`, matchers: [{ uri: { prefix: `/b${i}` } }], forwardTo: { destinations: [{ ref: { name: 's0' }, port: { number: 80 } }] } })) } });
    if (e.extra === 'deep' || e.extra === 'fanout') {
      const n = e.extra === 'deep' ? 70 : 12; // 2^12 routes; the limit itself is tested in delegation-limits.test.ts
      for (let i = 0; i < n; i++) {
        const http = e.extra === 'deep' ? [{ name: 'down', delegate: { routeTables: [{ name: `z${i + 1}` }] } }] : [{ name: 'x', delegate: { routeTables: [{ name: `z${i + 1}` }] } }, { name: 'y', delegate: { routeTables: [{ labels: { z: String(i + 1) } }] } }];
        docs.push({ apiVersion: 'networking.gloo.solo.io/v2', kind: 'RouteTable', metadata: { name: `z${i}`, namespace: 'a', labels: { z: String(i) } }, spec: { ...(i === 0 ? { hosts: ['z.example.com'], virtualGateways: [{ name: 'gw' }] } : {}), http } });
      }
      docs.push({ apiVersion: 'networking.gloo.solo.io/v2', kind: 'RouteTable', metadata: { name: `z${n}`, namespace: 'a', labels: { z: String(n) } }, spec: { http: [{ name: 'leaf', forwardTo: { destinations: [{ ref: { name: 's0' }, port: { number: 80 } }] } }] } });
    }
    if (e.extra === 'labels') docs.push({ apiVersion: 'networking.gloo.solo.io/v2', kind: 'RouteTable', metadata: { name: 'labels', namespace: 'a', labels: Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`k${i}`, `v${i}`])) }, spec: { hosts: ['l.example.com'], virtualGateways: [{ name: 'gw' }], http: [{ name: 'l', forwardTo: { destinations: [{ ref: { name: 's0' }, port: { number: 80 } }] } }] } });
    return { docs, note: `${e.tables.length} tables, ${e.policies.length} policies, extra=${e.extra}` };
  });

/** What the sources would pass on: the documents that validate. */
export function validResources(docs: unknown[]): Resource[] {
  const out: Resource[] = [];
  for (const d of docs) {
    const v = validateResource(d);
    if (v.ok) out.push(v.resource);
  }
  return out;
}
