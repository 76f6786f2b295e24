// A RouteConfiguration encoded from cached encodings of its routes is byte for
// byte what protobufjs encodes whole, for every fixture and for the benchmark
// estate, and a one-route edit encodes only the routes it touched.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createCore, DEFAULT_SETTINGS, type CoreSettings } from '../../src/core/index.js';
import { validateResource, type Resource } from '../../src/resources/schema.js';
import { createTranslator, translateAll, type EnvoyResources } from '../../src/translate/index.js';
import { encodeSplit, splitStats, type RunIndex, type SplitPlan } from '../../src/xds/parts.js';
import { encodeResource, lookupType, TYPES } from '../../src/xds/protos.js';
import { buildSnapshot } from '../../src/xds/snapshot.js';
import { estateDocs } from '../../bench/estate.js';
import { loadScenario } from '../support/scenario.js';

const ROOT = join(import.meta.dirname, '../..');
const opts = { listenerAddress: '0.0.0.0' };
const RC = lookupType(TYPES.route);
const plan = (): SplitPlan => ({ virtualHosts: { split: { routes: { cache: new WeakMap() } } } });
/** The runs of a resource's last encoding, handed to its next (as src/xds/encodings.ts does). */
type Runs = { last?: RunIndex };

/** Cached and fresh bytes are equal, and decode to what the object encodes to. */
function expectSameBytes(body: Record<string, unknown>, p: SplitPlan = plan(), runs?: Runs): void {
  const fresh = encodeResource(TYPES.route, body);
  const split = encodeSplit(RC, body, p, runs && { prior: runs.last, next: (runs.last = new Map()) });
  expect(Buffer.from(split).equals(Buffer.from(fresh))).toBe(true);
  const asObject = { bytes: String, longs: String, enums: String, defaults: true }; // proto3 leaves empty values off the wire
  expect(RC.toObject(RC.decode(split), asObject)).toEqual(RC.toObject(RC.fromObject(body), asObject));
}

function estate(workspaces: number): { resources: Resource[]; settings: CoreSettings } {
  const resources = estateDocs({ workspaces }).map((d) => {
    const v = validateResource(d);
    if (!v.ok) throw new Error(JSON.stringify(v.problems));
    return v.resource;
  });
  return { resources, settings: { ...DEFAULT_SETTINGS, limits: { ...DEFAULT_SETTINGS.limits, maxRoutesPerRootTable: 100_000, maxRoutesPerGateway: 100_000 } } };
}

const routesOf = (out: Map<string, EnvoyResources>) => [...out.values()].flatMap((r) => r.route);

describe('RouteConfiguration encoded from its parts', () => {
  const fixtures = ['examples/basic', ...readdirSync(join(ROOT, 'test/fixtures/scenarios')).sort().map((n) => `test/fixtures/scenarios/${n}`)];
  it.each(fixtures)('equals a fresh encode for %s', (dir) => {
    for (const rc of routesOf(translateAll(loadScenario(join(ROOT, dir)).ir, opts))) expectSameBytes(rc.body);
  });

  it('equals a fresh encode for the benchmark estate, before and after a one-route edit, encoding only the edited table routes', () => {
    const { resources, settings } = estate(10);
    const core = createCore();
    const translate = createTranslator(opts);
    const p = plan();
    const runs: Runs = {};
    const [before] = routesOf(translate(core(resources, settings).ir));
    expectSameBytes(before.body, p, runs);
    const idx = resources.findIndex((x) => x.kind === 'RouteTable' && x.metadata.name === 'gc-3' && x.metadata.namespace === 'ws-4');
    const edited = resources.slice();
    const spec = edited[idx].spec as { http: Array<{ matchers: unknown[] }> };
    edited[idx] = { ...edited[idx], spec: { ...spec, http: spec.http.map((h, j) => (j === 0 ? { ...h, matchers: [{ uri: { prefix: '/edited' } }] } : h)) } };
    const [after] = routesOf(translate(core(edited, settings).ir));
    const { encoded, reused, runsReused } = splitStats;
    expectSameBytes(after.body, p, runs);
    // At most the edited table's 10 routes (the core hands over new records for the table's routes).
    expect(splitStats.encoded - encoded).toBeLessThanOrEqual(10);
    // Of the 1,000 routes' 16 runs of 64, the one or two holding them are made again; the rest are copied whole.
    const looked = splitStats.encoded - encoded + splitStats.reused - reused;
    expect(looked).toBeGreaterThan(0);
    expect(looked).toBeLessThanOrEqual(128);
    expect(splitStats.runsReused - runsReused).toBe(16 - looked / 64);
  });

  it('equals a fresh encode when routes move between runs (inserted, dropped, repeated, shortened)', () => {
    const p = plan();
    const runs: Runs = {};
    const routes = Array.from({ length: 200 }, (_, n) => ({ name: `r${n}`, match: { prefix: `/${n}` }, route: { cluster: 'c' } }));
    const rc = (rs: object[]) => ({ name: 'rc', virtualHosts: [{ name: 'v', domains: ['*'], routes: rs }] });
    for (const rs of [routes, [{ name: 'x', match: { prefix: '/x' } }, ...routes], routes.slice(1), routes, [...routes.slice(0, 64), ...routes.slice(0, 64)], routes.slice(0, 64), routes.slice(0, 63), [], routes]) expectSameBytes(rc(rs), p, runs);
  });

  it('keeps the runs of the last encoding only (they live as long as the encodings that use them)', () => {
    const p = plan();
    const runs: Runs = {};
    const routes = Array.from({ length: 640 }, (_, n) => ({ name: `r${n}`, match: { prefix: `/${n}` } }));
    const rc = (rs: object[]) => ({ name: 'rc', virtualHosts: [{ name: 'v', domains: ['*'], routes: rs }] });
    // Shifting the routes by one, 64 times, starts runs at every route once; only the last encoding's 10 runs are kept.
    for (let shift = 0; shift < 64; shift++) expectSameBytes(rc([...routes.slice(shift), ...routes.slice(0, shift)]), p, runs);
    expect(runs.last!.size).toBe(10);
  });

  it('equals a fresh encode for shapes beyond the translator: other fields, empty and absent lists, nested plans', () => {
    const route = (n: number) => ({ name: `r${n}`, match: { prefix: `/${n}` }, route: { cluster: 'c', timeout: { seconds: n } } });
    const shared = route(1);
    expectSameBytes({ name: 'rc', virtualHosts: [] });
    expectSameBytes({ name: 'rc' });
    expectSameBytes({ virtualHosts: [{ name: 'a', domains: ['*'], routes: [] }] });
    expectSameBytes({ validateClusters: { value: true }, virtualHosts: [{ requireTls: 'ALL', routes: [shared, route(2), shared], domains: ['a', 'b'], name: 'v' }], name: 'rc', requestHeadersToAdd: [{ header: { key: 'k', value: 'v' } }] });
    expectSameBytes({ name: 'rc', notAField: 1, virtualHosts: [{ name: 'v', routes: [shared] }, { name: 'w', routes: [shared, route(3)] }] });
  });

  it('fails like protobufjs on what protobufjs rejects', () => {
    for (const body of [{ virtualHosts: {} }, { virtualHosts: [1] }, { virtualHosts: [{ routes: ['x'] }] }]) {
      expect(() => encodeResource(TYPES.route, body)).toThrow();
      expect(() => encodeSplit(RC, body, plan())).toThrow();
    }
  });

  it('is what buildSnapshot serves', () => {
    const [rc] = routesOf(translateAll(loadScenario(join(ROOT, 'examples/basic')).ir, opts));
    const snap = buildSnapshot({ listener: [], route: [rc], cluster: [], endpoint: [], secret: [] });
    expect(Buffer.from(snap.route.resources.get(rc.name)!.value).equals(Buffer.from(encodeResource(TYPES.route, rc.body)))).toBe(true);
  });
});
