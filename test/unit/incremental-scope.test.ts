// What an edit recomputes (issue 10 item 3): the routes a route or policy
// edit affects are new objects, every other route is the very object of the
// previous result, and a gateway none of whose routes changed gets the same
// Envoy route configuration object (so the xDS encodings cache skips it).
// incremental.test.ts proves the results equal a fresh computation; this
// proves the work follows the edit.
import { describe, expect, it } from 'vitest';
import { computeCore, createCore, DEFAULT_SETTINGS } from '../../src/core/index.js';
import { attachWork } from '../../src/core/route-attachment.js';
import { flattenWork } from '../../src/core/routes.js';
import type { FinalRoute } from '../../src/ir/types.js';
import type { Resource } from '../../src/resources/schema.js';
import { validateResource } from '../../src/resources/schema.js';
import { createTranslator } from '../../src/translate/index.js';
import { estateDocs } from '../../bench/estate.js';

const res = (d: unknown): Resource => {
  const v = validateResource(d);
  if (!v.ok) throw new Error(JSON.stringify(v.problems));
  return v.resource;
};
// The bench estate at 500 routes, plus a second gateway in ws-4 with its own root table.
const base = (): Resource[] => [
  ...estateDocs({ workspaces: 5 }).map(res),
  res({ apiVersion: 'networking.gloo.solo.io/v2', kind: 'VirtualGateway', metadata: { name: 'edge', namespace: 'ws-4' }, spec: { listeners: [{ port: { number: 9090 }, http: {} }] } }),
  res({ apiVersion: 'networking.gloo.solo.io/v2', kind: 'RouteTable', metadata: { name: 'edge-root', namespace: 'ws-4' }, spec: { hosts: ['edge.example.com'], virtualGateways: [{ name: 'edge' }], http: [{ name: 'svc', labels: { group: 'g7' }, forwardTo: { destinations: [{ ref: { name: 'svc-1' }, port: { number: 80 } }] } }] } }),
];
const replace = (rs: Resource[], kind: string, ns: string, name: string, next: (r: Resource) => Resource) => rs.map((r) => (r.kind === kind && r.metadata.namespace === ns && r.metadata.name === name ? next(r) : r));
const settings = DEFAULT_SETTINGS;

describe('an edit recomputes what it affects', () => {
  it('a route edit: only the edited table\'s routes are new objects', () => {
    const core = createCore();
    const before = core(base(), settings);
    const edited = replace(base(), 'RouteTable', 'ws-2', 'gc-3', (r) => {
      const spec = r.spec as { http: Array<Record<string, unknown>> };
      return { ...r, spec: { ...spec, http: spec.http.map((h, i) => (i === 0 ? { ...h, matchers: [{ uri: { prefix: '/edited' } }] } : h)) } };
    });
    // A source re-parses the file: every other resource is an equal new object.
    const reparsed = edited.map((r) => (r.kind === 'RouteTable' && r.metadata.name === 'gc-3' ? r : structuredClone(r)));
    const work = attachWork.routes;
    const made = flattenWork.routes;
    const after = core(reparsed, settings);
    const old = new Set<FinalRoute>(before.ir.routes);
    const fresh = after.ir.routes.filter((r) => !old.has(r));
    expect(fresh.map((r) => r.table)).toEqual(Array(10).fill('ws-2/gc-3'));
    // Policies were attached to those routes only, not to the estate's 500 (the edited one now
    // lies outside its parent's prefix: invalid, it gets none).
    expect(attachWork.routes - work).toBe(fresh.filter((r) => r.valid).length);
    expect(attachWork.routes - work).toBe(9);
    // Routing made the edited table's 10 routes again and replayed the rest.
    expect(flattenWork.routes - made).toBe(10);
    expect(after.ir.routes).toHaveLength(before.ir.routes.length);
  });

  it('edits one after another, each in another workspace (not an edit and its undo): each makes only its table\'s routes', () => {
    const core = createCore();
    let estate = base();
    core(estate, settings);
    for (const [step, ns] of ['ws-1', 'ws-2', 'ws-3', 'ws-1', 'ws-4'].entries()) {
      estate = replace(estate, 'RouteTable', ns, 'gc-3', (r) => {
        const spec = r.spec as { http: Array<Record<string, unknown>> };
        return { ...r, spec: { ...spec, http: spec.http.map((h, i) => (i === 0 ? { ...h, matchers: [{ uri: { prefix: `/${ns}/t3/edited-${step}` } }] } : h)) } };
      });
      const made = flattenWork.routes;
      const work = attachWork.routes;
      const after = core(estate, settings);
      // A subtree replayed whole in one computation still holds its inner tables' records for the next
      // (before, the second edit made the 100 routes of its workspace's child table again).
      expect(flattenWork.routes - made, `edit ${step} in ${ns}`).toBe(10);
      expect(attachWork.routes - work, `edit ${step} in ${ns}`).toBe(10);
      expect(JSON.stringify(after)).toBe(JSON.stringify(computeCore(estate, settings)));
    }
  });

  it('a policy edit: only the routes the policy selected before or after are new objects', () => {
    const core = createCore();
    const before = core(base(), settings);
    // ws-3's p5 selected group g5; now it selects g6.
    const work = attachWork.routes;
    const made = flattenWork.routes;
    const after = core(replace(base(), 'FaultInjectionPolicy', 'ws-3', 'p5', (r) => ({ ...r, spec: { ...(r.spec as object), applyToRoutes: [{ route: { labels: { group: 'g6' } } }] } })), settings);
    const old = new Set<FinalRoute>(before.ir.routes);
    const fresh = after.ir.routes.filter((r) => !old.has(r));
    expect(attachWork.routes - work).toBe(fresh.length);
    expect(flattenWork.routes - made).toBe(0);
    // p5 can only select routes of ws-3's tables (its workspace must be on their chain).
    expect(fresh.length).toBeGreaterThan(0);
    expect(fresh.every((r) => r.table.startsWith('ws-3/') && ['g5', 'g6'].includes(r.labels.group))).toBe(true);
    expect(fresh.length).toBe(before.ir.routes.filter((r) => r.table.startsWith('ws-3/') && ['g5', 'g6'].includes(r.labels.group)).length);
  });

  it('a policy config edit: no route is attached again, and the routes stay the same objects', () => {
    const core = createCore();
    const before = core(base(), settings);
    const work = attachWork.routes;
    // ws-0's p0 (on every route's chain) gets another timeout; its selector is unchanged.
    const after = core(replace(base(), 'RetryTimeoutPolicy', 'ws-0', 'p0', (r) => ({ ...r, spec: { ...(r.spec as object), config: { requestTimeout: '9s' } } })), settings);
    expect(attachWork.routes - work).toBe(0);
    expect(after.ir.routes.every((r, i) => r === before.ir.routes[i])).toBe(true);
    expect(after.ir.policies['RetryTimeoutPolicy/ws-0/p0']).not.toEqual(before.ir.policies['RetryTimeoutPolicy/ws-0/p0']);
  });

  it('the work of an edit does not grow with the estate: the same edits at 500 and at 2,000 routes', () => {
    const workOf = (workspaces: number) => {
      const estate = estateDocs({ workspaces }).map(res);
      const core = createCore();
      core(estate, settings);
      const counts = () => attachWork.routes + flattenWork.routes;
      const start = counts();
      const edited = replace(estate, 'RouteTable', 'ws-2', 'gc-3', (r) => ({ ...r, metadata: { ...r.metadata, labels: { ...r.metadata.labels, extra: 'x' } } }));
      core(edited, settings);
      const routeEdit = counts() - start;
      core(replace(edited, 'FaultInjectionPolicy', 'ws-3', 'p5', (r) => ({ ...r, spec: { ...(r.spec as object), applyToRoutes: [{ route: { labels: { group: 'g6' } } }] } })), settings);
      return { routeEdit, policyEdit: counts() - start - routeEdit };
    };
    const small = workOf(5);
    expect(small.routeEdit).toBeGreaterThan(0);
    expect(small.policyEdit).toBeGreaterThan(0);
    expect(workOf(20)).toEqual(small);
  });

  it('translation: a gateway whose routes did not change keeps its route configuration object', () => {
    const core = createCore();
    const translate = createTranslator({ listenerAddress: '127.0.0.1' });
    const first = translate(core(base(), settings).ir);
    // A route edit behind ws-0/gw only.
    const second = translate(core(replace(base(), 'RouteTable', 'ws-1', 'gc-0', (r) => ({ ...r, metadata: { ...r.metadata, labels: { ...r.metadata.labels, extra: 'x' } } })), settings).ir);
    expect(second.get('gateway:ws-4/edge')!.route[0]).toBe(first.get('gateway:ws-4/edge')!.route[0]);
    expect(second.get('gateway:ws-0/gw')!.route[0]).not.toBe(first.get('gateway:ws-0/gw')!.route[0]);
  });

  it('an endpoint edit (a Pod moved): no route is made or attached again; only that backend\'s endpoints are a new Envoy object', () => {
    const core = createCore();
    const translate = createTranslator({ listenerAddress: '127.0.0.1' });
    const before = core(base(), settings);
    const first = translate(before.ir);
    // The estate's Services have no selector: the Pods their slices name stay the same (none).
    const moved = replace(base(), 'EndpointSlice', 'ws-2', 'svc-3-1', (r) => ({ ...r, body: { ...r.body!, endpoints: [{ addresses: ['10.99.0.1'] }] } }));
    const work = attachWork.routes;
    const made = flattenWork.routes;
    const after = core(moved, settings);
    expect(attachWork.routes - work).toBe(0);
    expect(flattenWork.routes - made).toBe(0);
    expect(after.ir.routes).toBe(before.ir.routes);
    expect(after.status).toBe(before.status);
    const second = translate(after.ir);
    for (const [key, gw] of second) {
      const was = first.get(key)!;
      expect(gw.route, key).toEqual(was.route);
      gw.route.forEach((r, i) => expect(r, key).toBe(was.route[i]));
      const fresh = (t: 'cluster' | 'endpoint') => gw[t].filter((x, i) => x !== was[t][i]).map((x) => x.name);
      const backend = 'svc/ws-2/svc-3:80@ws-0';
      expect(fresh('endpoint'), key).toEqual(gw.endpoint.some((e) => e.name === backend) ? [backend] : []);
      // An EDS cluster does not read endpoints: it stays the same object.
      expect(fresh('cluster'), key).toEqual([]);
    }
  });

  it('after an endpoint edit, a route edit is still incremental, and both equal a fresh computation', () => {
    const core = createCore();
    core(base(), settings);
    const moved = replace(base(), 'EndpointSlice', 'ws-2', 'svc-3-1', (r) => ({ ...r, body: { ...r.body!, endpoints: [{ addresses: ['10.99.0.1'] }] } }));
    const afterMove = core(moved, settings);
    expect(JSON.stringify(afterMove)).toBe(JSON.stringify(computeCore(moved, settings)));
    const edited = replace(moved, 'RouteTable', 'ws-3', 'gc-1', (r) => {
      const spec = r.spec as { http: Array<Record<string, unknown>> };
      return { ...r, spec: { ...spec, http: spec.http.map((h, i) => (i === 0 ? { ...h, matchers: [{ uri: { prefix: '/ws-3/edited' } }] } : h)) } };
    });
    const made = flattenWork.routes;
    const work = attachWork.routes;
    const after = core(edited, settings);
    expect(flattenWork.routes - made).toBe(10);
    expect(attachWork.routes - work).toBe(10);
    expect(JSON.stringify(after)).toBe(JSON.stringify(computeCore(edited, settings)));
    // The moved endpoint is served: the patched backends were replayed, not the old ones.
    expect(after.ir.backends.find((b) => b.cluster === 'svc/ws-2/svc-3:80@ws-0')!.endpoints.map((e) => e.address)).toEqual(['10.99.0.1']);
  });
});
