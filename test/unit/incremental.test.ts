// Incremental == full (issue 10 item 3): a random estate goes through a random
// sequence of edits (routes, policies, workspaces and sharing, labels,
// endpoints, deletes, re-adds, reorders), each applied as the sources apply
// them (unchanged resources stay the same objects). After every edit the
// memoising core and the incremental translator the server uses must give
// exactly what a fresh computation from scratch gives: the same IR and status,
// the same Envoy resources, the same snapshot versions.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { computeCore, createCore } from '../../src/core/index.js';
import type { Resource } from '../../src/resources/schema.js';
import { validateResource } from '../../src/resources/schema.js';
import { createTranslator, translateAll } from '../../src/translate/index.js';
import { buildSnapshot } from '../../src/xds/snapshot.js';
import { estateArbitrary } from '../support/fuzz-core.js';
import { estateDocs } from '../../bench/estate.js';

const RUNS = Number(process.env.INCREMENTAL_RUNS ?? 50);
const OPTS = { listenerAddress: '127.0.0.1' };
type Doc = { kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string>; creationTimestamp?: string }; spec?: Record<string, unknown>; [k: string]: unknown };

const LABELS = fc.dictionary(fc.constantFrom('team', 'tier', 'val', 'region'), fc.constantFrom('foo', 'bar', 'x', 'gold'), { maxKeys: 2 });
const NS = fc.constantFrom('a', 'b', 'c', 'd');
const matcher = fc.oneof(fc.record({ uri: fc.record({ prefix: fc.constantFrom('/', '/a', '/a/b', '/b', '/c') }) }), fc.record({ uri: fc.record({ exact: fc.constantFrom('/a', '/a/b/c') }) }));
const dest = fc.record({ ref: fc.record({ name: fc.constantFrom('s0', 's1', 's2'), namespace: NS }), port: fc.constant({ number: 80 }), kind: fc.constantFrom('SERVICE', 'VIRTUAL_DESTINATION', 'EXTERNAL_SERVICE') });
const sharing = fc.array(fc.record({ workspaces: fc.array(fc.record({ name: fc.constantFrom('a0', 'b1', 'c2', 'd3', '*', 'a*') }), { minLength: 1, maxLength: 2 }), resources: fc.array(fc.record({ kind: fc.constantFrom('ALL', 'ROUTE_TABLE', 'SERVICE') }), { maxLength: 2 }) }), { maxLength: 2 });

/** One edit; `at` picks the document (modulo the candidates). */
const edit = fc.oneof(
  fc.record({ op: fc.constant('routeMatcher' as const), at: fc.nat(), route: fc.nat(), m: matcher }),
  fc.record({ op: fc.constant('routeLabels' as const), at: fc.nat(), route: fc.nat(), labels: LABELS }),
  fc.record({ op: fc.constant('routeDest' as const), at: fc.nat(), route: fc.nat(), d: dest }),
  fc.record({ op: fc.constant('addRoute' as const), at: fc.nat(), name: fc.constantFrom('n1', 'n2', 'f1'), m: matcher, d: dest, labels: LABELS }),
  fc.record({ op: fc.constant('dropRoute' as const), at: fc.nat(), route: fc.nat() }),
  fc.record({ op: fc.constant('tableLabels' as const), at: fc.nat(), labels: LABELS }),
  fc.record({ op: fc.constant('tableWeight' as const), at: fc.nat(), weight: fc.integer({ min: -3, max: 3 }) }),
  fc.record({ op: fc.constant('tableRoot' as const), at: fc.nat(), gw: NS }),
  fc.record({ op: fc.constant('policySelector' as const), at: fc.nat(), labels: LABELS }),
  fc.record({ op: fc.constant('policyDestinations' as const), at: fc.nat(), name: fc.constantFrom('s0', 's1', 's2') }),
  fc.record({ op: fc.constant('policyAge' as const), at: fc.nat(), day: fc.integer({ min: 1, max: 9 }) }),
  fc.record({ op: fc.constant('policyConfig' as const), at: fc.nat(), seconds: fc.integer({ min: 1, max: 9 }) }),
  fc.record({ op: fc.constant('addPolicy' as const), ns: NS, n: fc.integer({ min: 0, max: 9 }), labels: LABELS }),
  fc.record({ op: fc.constant('loadBalancer' as const), ns: NS, n: fc.integer({ min: 0, max: 2 }), name: fc.constantFrom('s0', 's1', 's2'), header: fc.constantFrom('x-user', 'x-session') }),
  fc.record({ op: fc.constant('workspaceNamespaces' as const), at: fc.nat(), namespaces: fc.array(fc.constantFrom('a', 'b', 'c', 'd', '*'), { minLength: 1, maxLength: 2 }) }),
  fc.record({ op: fc.constant('sharing' as const), at: fc.nat(), exportTo: sharing, importFrom: sharing }),
  fc.record({ op: fc.constant('namespaceLabels' as const), at: fc.nat(), labels: LABELS }),
  fc.record({ op: fc.constant('endpoints' as const), at: fc.nat(), n: fc.integer({ min: 0, max: 3 }) }),
  fc.record({ op: fc.constant('serviceLabels' as const), at: fc.nat(), labels: LABELS }),
  fc.record({ op: fc.constant('podLabels' as const), at: fc.nat(), labels: fc.dictionary(fc.constantFrom('app', 'sidecar.istio.io/inject'), fc.constantFrom('s0', 's1', 'true', 'false'), { maxKeys: 2 }) }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('restore' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('reorder' as const), seed: fc.nat() }),
  fc.record({ op: fc.constant('reparse' as const), ns: NS }),
);
type Edit = typeof edit extends fc.Arbitrary<infer E> ? E : never;

/** A set of documents with their validated resources; an edit revalidates only the documents it touches. */
class Estate {
  docs: Doc[] = [];
  resources: Array<Resource | undefined> = [];
  deleted: Doc[] = [];
  constructor(docs: unknown[]) {
    for (const d of docs) this.put(d as Doc);
  }
  private put(d: Doc, at = this.docs.length): void {
    const v = validateResource(d);
    this.docs[at] = d;
    this.resources[at] = v.ok ? v.resource : undefined;
  }
  list(): Resource[] {
    return this.resources.filter((r): r is Resource => r !== undefined);
  }
  /** Changes one document of a kind (a fresh copy, as a source would parse it). */
  private change(kind: string | string[], at: number, fn: (d: Doc) => void): void {
    const kinds = Array.isArray(kind) ? kind : [kind];
    const idx = this.docs.map((d, i) => (kinds.includes(d.kind) ? i : -1)).filter((i) => i >= 0);
    if (!idx.length) return;
    const i = idx[at % idx.length];
    const d = structuredClone(this.docs[i]);
    fn(d);
    this.put(d, i);
  }
  apply(e: Edit): void {
    const http = (d: Doc) => ((d.spec ??= {}).http ??= []) as Array<Record<string, unknown>>;
    const POLICIES = ['RetryTimeoutPolicy', 'FaultInjectionPolicy', 'HeaderManipulationPolicy', 'CORSPolicy', 'AccessPolicy', 'OutlierDetectionPolicy'];
    switch (e.op) {
      case 'routeMatcher':
        return this.change('RouteTable', e.at, (d) => {
          const h = http(d);
          if (h.length) h[e.route % h.length].matchers = [e.m];
        });
      case 'routeLabels':
        return this.change('RouteTable', e.at, (d) => {
          const h = http(d);
          if (h.length) h[e.route % h.length].labels = e.labels;
        });
      case 'routeDest':
        return this.change('RouteTable', e.at, (d) => {
          const h = http(d);
          const r = h.length ? h[e.route % h.length] : undefined;
          if (r?.forwardTo) r.forwardTo = { destinations: [e.d] };
        });
      case 'addRoute':
        return this.change('RouteTable', e.at, (d) => void http(d).push({ name: e.name, labels: e.labels, matchers: [e.m], forwardTo: { destinations: [e.d] } }));
      case 'dropRoute':
        return this.change('RouteTable', e.at, (d) => {
          const h = http(d);
          if (h.length) h.splice(e.route % h.length, 1);
        });
      case 'tableLabels':
        return this.change('RouteTable', e.at, (d) => void (d.metadata.labels = e.labels));
      case 'tableWeight':
        return this.change('RouteTable', e.at, (d) => void (d.spec!.weight = e.weight));
      case 'tableRoot':
        return this.change('RouteTable', e.at, (d) => {
          if (d.spec!.hosts) {
            delete d.spec!.hosts;
            delete d.spec!.virtualGateways;
          } else Object.assign(d.spec!, { hosts: [`${d.metadata.name}.example.com`], virtualGateways: [{ name: 'gw', namespace: e.gw }] });
        });
      case 'policySelector':
        return this.change(POLICIES, e.at, (d) => void (d.spec!.applyToRoutes = [{ route: { labels: e.labels } }]));
      case 'policyDestinations':
        return this.change(POLICIES, e.at, (d) => void (d.spec!.applyToDestinations = [{ selector: { name: e.name } }]));
      case 'policyAge':
        return this.change(POLICIES, e.at, (d) => void (d.metadata.creationTimestamp = `2024-02-0${e.day}T00:00:00Z`));
      case 'policyConfig':
        return this.change('RetryTimeoutPolicy', e.at, (d) => void (d.spec!.config = { requestTimeout: `${e.seconds}s` }));
      case 'addPolicy':
        return this.put({ apiVersion: 'resilience.policy.gloo.solo.io/v2', kind: 'RetryTimeoutPolicy', metadata: { name: `added${e.n}`, namespace: e.ns }, spec: { applyToRoutes: [{ route: { labels: e.labels } }], config: { requestTimeout: '3s' } } } as Doc);
      case 'loadBalancer': {
        // A destination policy changes what routes to it hash on (the route itself stays the same).
        const doc = { apiVersion: 'trafficcontrol.policy.gloo.solo.io/v2', kind: 'LoadBalancerPolicy', metadata: { name: `lb${e.n}`, namespace: e.ns }, spec: { applyToDestinations: [{ kind: 'SERVICE', selector: { name: e.name } }], config: { consistentHash: { httpHeaderName: e.header } } } } as Doc;
        const i = this.docs.findIndex((d) => d.kind === doc.kind && d.metadata.name === doc.metadata.name && d.metadata.namespace === e.ns);
        return this.put(doc, i < 0 ? this.docs.length : i);
      }
      case 'workspaceNamespaces':
        return this.change('Workspace', e.at, (d) => void (d.spec!.workloadClusters = [{ name: '*', namespaces: e.namespaces.map((name) => ({ name })) }]));
      case 'sharing':
        return this.change('WorkspaceSettings', e.at, (d) => void Object.assign(d.spec!, { exportTo: e.exportTo, importFrom: e.importFrom }));
      case 'namespaceLabels':
        return this.change('Namespace', e.at, (d) => void (d.metadata.labels = e.labels));
      case 'endpoints':
        return this.change('EndpointSlice', e.at, (d) => void (d.endpoints = Array.from({ length: e.n }, (_, i) => ({ addresses: [`127.0.0.${i + 1}`] }))));
      case 'serviceLabels':
        return this.change('Service', e.at, (d) => void (d.metadata.labels = e.labels));
      case 'podLabels':
        return this.change('Pod', e.at, (d) => void (d.metadata.labels = e.labels));
      case 'delete': {
        if (!this.docs.length) return;
        const i = e.at % this.docs.length;
        this.deleted.push(this.docs[i]);
        this.docs.splice(i, 1);
        this.resources.splice(i, 1);
        return;
      }
      case 'restore': {
        if (!this.deleted.length) return;
        const [d] = this.deleted.splice(e.at % this.deleted.length, 1);
        return this.put(d);
      }
      case 'reparse':
        // A file source re-reads a whole file for an edit of one document: equal resources, new objects.
        this.docs.forEach((d, i) => void (d.metadata.namespace === e.ns && this.put(structuredClone(d), i)));
        return;
      case 'reorder': {
        // A deterministic shuffle of the whole set: order must never matter.
        const order = this.docs.map((_, i) => i).sort((a, b) => ((a * 7919 + e.seed) % 101) - ((b * 7919 + e.seed) % 101) || a - b);
        this.docs = order.map((i) => this.docs[i]);
        this.resources = order.map((i) => this.resources[i]);
        return;
      }
    }
  }
}

const fwd = (name: string, svc: string, labels: Record<string, string>, ns = 'b') => ({ name, labels, matchers: [{ uri: { prefix: `/${name}` } }], forwardTo: { destinations: [{ ref: { name: svc, namespace: ns }, port: { number: 80 } }] } });
/** A fixed spine beside the random documents, so every sequence has delegated routes and policies to edit. */
const SPINE: Doc[] = [
  { apiVersion: 'admin.gloo.solo.io/v2', kind: 'Workspace', metadata: { name: 'spine', namespace: 'gloo-mesh', creationTimestamp: '2023-01-01T00:00:00Z' }, spec: { workloadClusters: [{ name: '*', namespaces: [{ name: 'a' }, { name: 'b' }] }] } },
  { apiVersion: 'admin.gloo.solo.io/v2', kind: 'WorkspaceSettings', metadata: { name: 'spine', namespace: 'a' }, spec: { exportTo: [{ workspaces: [{ name: '*' }] }], importFrom: [{ workspaces: [{ name: '*' }] }] } },
  { apiVersion: 'networking.gloo.solo.io/v2', kind: 'RouteTable', metadata: { name: 'spine-root', namespace: 'a', labels: { team: 'x' } }, spec: { hosts: ['spine.example.com'], virtualGateways: [{ name: 'gw', namespace: 'a' }], http: [
    { name: 'by-label', matchers: [{ uri: { prefix: '/l' } }], delegate: { routeTables: [{ labels: { tier: 'gold' } }] } },
    { name: 'by-name', labels: { region: 'x' }, delegate: { routeTables: [{ name: 'spine-kids', namespace: 'b' }] } },
    fwd('home', 's0', { val: 'foo' }, 'a'),
  ] } },
  { apiVersion: 'networking.gloo.solo.io/v2', kind: 'RouteTable', metadata: { name: 'spine-kids', namespace: 'b', labels: { tier: 'gold' } }, spec: { http: [fwd('k1', 's0', { val: 'foo' }), { name: 'deeper', matchers: [{ uri: { prefix: '/k' } }], delegate: { routeTables: [{ labels: { region: 'x' } }] } }, fwd('k2', 's1', { val: 'bar' }), fwd('k3', 's2', { tier: 'x' }), fwd('k4', 's1', {})] } },
  { apiVersion: 'networking.gloo.solo.io/v2', kind: 'RouteTable', metadata: { name: 'spine-gc', namespace: 'b', labels: { region: 'x' } }, spec: { http: [fwd('g1', 's0', { val: 'foo' }), fwd('g2', 's2', { tier: 'gold' })] } },
  { apiVersion: 'networking.gloo.solo.io/v2', kind: 'RouteTable', metadata: { name: 'spine-leaf', namespace: 'a', labels: { tier: 'gold' } }, spec: { weight: 2, http: [fwd('l1', 's0', { val: 'bar' }, 'a'), fwd('l2', 's1', { team: 'foo' }, 'a'), fwd('l3', 's2', {}, 'a')] } },
  { apiVersion: 'resilience.policy.gloo.solo.io/v2', kind: 'RetryTimeoutPolicy', metadata: { name: 'spine-retry', namespace: 'a', creationTimestamp: '2024-01-01T00:00:00Z' }, spec: { applyToRoutes: [{ route: { labels: { val: 'foo' } } }], config: { requestTimeout: '2s' } } },
  { apiVersion: 'resilience.policy.gloo.solo.io/v2', kind: 'FaultInjectionPolicy', metadata: { name: 'spine-fault', namespace: 'b', creationTimestamp: '2024-01-01T00:00:00Z' }, spec: { applyToRoutes: [{ route: { labels: { tier: 'gold' } } }], applyToDestinations: [{ selector: { name: 's1' } }], config: { abort: { httpStatus: 503, percentage: 5 } } } },
];

/** Mesh mode: injection in namespaces a and b, a Pod behind each Service there. */
function withMesh(docs: Doc[]): Doc[] {
  const out = docs.map((d) => {
    if (d.kind === 'Namespace' && (d.metadata.name === 'a' || d.metadata.name === 'b')) return { ...d, metadata: { ...d.metadata, labels: { ...d.metadata.labels, 'istio-injection': 'enabled' } } };
    if (d.kind === 'Service') return { ...d, spec: { ...d.spec, selector: { app: d.metadata.name } } };
    return d;
  });
  for (const ns of ['a', 'b', 'c']) for (const app of ['s0', 's1']) out.push({ apiVersion: 'v1', kind: 'Pod', metadata: { name: `${app}-pod`, namespace: ns, labels: { app } }, spec: { serviceAccountName: app } } as Doc);
  return out;
}

const envoy = (m: Map<string, unknown>) => JSON.stringify([...m]);
const versions = (m: Map<string, Parameters<typeof buildSnapshot>[0]>) =>
  [...m].map(([k, v]) => [k, Object.fromEntries(Object.entries(buildSnapshot(v)).map(([t, s]) => [t, s.version]))]);

describe('incremental core and translate', () => {
  const seen = { steps: 0, routes: 0, sidecars: 0 };
  it(`give a fresh computation's result after every edit of ${RUNS} random edit sequences`, () => {
    fc.assert(
      fc.property(estateArbitrary.filter((e) => e.note.endsWith('extra=none')), fc.boolean(), fc.array(edit, { minLength: 1, maxLength: 12 }), ({ docs }, mesh, edits) => {
        const estate = new Estate([...SPINE, ...(mesh ? withMesh(docs as Doc[]) : docs)]);
        const core = createCore();
        const translate = createTranslator(OPTS);
        const check = (step: string) => {
          const resources = estate.list();
          const inc = core(resources);
          const full = computeCore(resources);
          expect(JSON.stringify(inc), step).toBe(JSON.stringify(full));
          const incEnvoy = translate(inc.ir);
          const fullEnvoy = translateAll(full.ir, OPTS);
          expect(envoy(incEnvoy), step).toBe(envoy(fullEnvoy));
          expect(versions(incEnvoy), step).toEqual(versions(fullEnvoy));
          seen.routes += full.ir.routes.length;
          seen.sidecars += full.ir.mesh?.workloads.length ?? 0;
          seen.steps++;
        };
        check('initial estate');
        edits.forEach((e, i) => {
          estate.apply(e);
          check(`after edit ${i} ${JSON.stringify(e)}`);
        });
      }),
      { numRuns: RUNS },
    );
    // The sequences must reach what they are to prove: routes and sidecars.
    console.log(`incremental: ${seen.steps} steps, ${seen.routes} routes, ${seen.sidecars} sidecars`);
    expect(seen.routes).toBeGreaterThan(seen.steps);
    expect(seen.sidecars).toBeGreaterThan(seen.steps / 4);
  }, 600_000);
});

// The bench estate: every route is selected by two policies of one kind (its workspace's
// and the gateway workspace's), so every route warns of a conflict. Edits in place (as
// many routes as before) that take a route's conflict away and give it back, in the
// middle of the list and (through a policy) at shared positions, must keep each policy's
// warnings those of a fresh computation, in route order.
describe('warnings of edits in place', () => {
  it('a route\'s conflict taken away and given back: the same status as a fresh computation', () => {
    const toResource = (d: unknown): Resource => {
      const v = validateResource(d);
      if (!v.ok) throw new Error(JSON.stringify(v.problems));
      return v.resource;
    };
    let resources = estateDocs({ workspaces: 4 }).map(toResource);
    const core = createCore();
    const step = (what: string, change: (r: Resource) => Resource | undefined) => {
      resources = resources.map((r) => change(r) ?? r);
      const inc = core(resources);
      const full = computeCore(resources);
      expect(JSON.stringify(inc.status), what).toBe(JSON.stringify(full.status));
      expect(JSON.stringify(inc.ir.routes), what).toBe(JSON.stringify(full.ir.routes));
      return full;
    };
    const first = step('initial', () => undefined);
    expect(Object.values(first.status).filter((s) => s.messages.some((m) => m.includes('conflict'))).length).toBeGreaterThan(10);
    const relabel = (ns: string, table: string, route: number, group: string) => (r: Resource) => {
      if (r.kind !== 'RouteTable' || r.metadata.namespace !== ns || r.metadata.name !== table) return undefined;
      const spec = r.spec as { http: Array<{ labels: Record<string, string> }> };
      return { ...r, spec: { ...spec, http: spec.http.map((h, i) => (i === route ? { ...h, labels: { ...h.labels, group } } : h)) } } as Resource;
    };
    step('a route of ws-2 selected by no policy', relabel('ws-2', 'gc-3', 0, 'none'));
    step('another route of ws-2 too', relabel('ws-2', 'gc-3', 4, 'none'));
    step('a route of ws-1 given another group', relabel('ws-1', 'gc-5', 2, 'g3'));
    step('the first route selected again', relabel('ws-2', 'gc-3', 0, 'g7'));
    // A policy of the gateway's workspace selecting by tier: shared positions attached again.
    step('a policy selecting gold routes', (r) => (r.kind === 'RetryTimeoutPolicy' && r.metadata.namespace === 'ws-0' && r.metadata.name === 'p0' ? ({ ...r, spec: { ...(r.spec as object), applyToRoutes: [{ route: { labels: { tier: 'gold' } } }] } } as Resource) : undefined));
    step('a route edit after it', relabel('ws-3', 'gc-1', 1, 'none'));
    step('the other route selected again', relabel('ws-2', 'gc-3', 4, 'g1'));
  });
});
