// Properties of the core: the label fold, determinism under input shuffling,
// and behaviour at depth and scale (status, never an exception).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { computeCore } from '../../src/core/index.js';
import { MAX_DELEGATION_DEPTH } from '../../src/core/routes.js';
import type { Resource } from '../../src/resources/schema.js';
import { forward, gateway, policy, res, routeTable, service, settings, workspace } from '../support/build.js';

const RES = 'resilience.policy.gloo.solo.io/v2';
const base = (): Resource[] => [workspace('team', ['apps']), settings('team', 'apps'), gateway('apps'), ...service('apps', 'web')];

const labelMap = fc.dictionary(fc.constantFrom('a', 'b', 'c', 'd'), fc.constantFrom('1', '2', '3'), { maxKeys: 3 });

describe('label fold (semantics §4)', () => {
  it('later links override earlier ones per key, along a chain of any depth', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(labelMap, labelMap), { minLength: 1, maxLength: 5 }), (levels) => {
        // levels[i] = [table labels, route labels] of the i-th table on the chain
        const resources = base();
        levels.forEach(([tableLabels, routeLabels], i) => {
          const last = i === levels.length - 1;
          const route = last ? { ...forward('r', 'web', routeLabels), matchers: undefined } : { name: 'r', labels: routeLabels, delegate: { routeTables: [{ name: `t${i + 1}` }] } };
          const extra = i === 0 ? { hosts: ['x.example.com'], virtualGateways: [{ name: 'gw' }] } : {};
          resources.push(routeTable('apps', `t${i}`, [route], extra, tableLabels));
        });
        const { ir } = computeCore(resources);
        expect(ir.routes).toHaveLength(1);
        const expected = levels.reduce((acc, [t, r]) => ({ ...acc, ...t, ...r }), {} as Record<string, string>);
        expect(ir.routes[0].labels).toEqual(expected);
      }),
      { numRuns: 150 },
    );
  });
});

describe('determinism', () => {
  const estate = (): Resource[] => [
    workspace('a', ['a']), workspace('b', ['b']),
    settings('a', 'a', { exportTo: [{ workspaces: [{ name: 'b' }], resources: [{ kind: 'ROUTE_TABLE' }] }], importFrom: [{ workspaces: [{ name: 'b' }], resources: [{ kind: 'SERVICE' }] }] }),
    settings('b', 'b', { importFrom: [{ workspaces: [{ name: 'a' }], resources: [{ kind: 'ROUTE_TABLE' }] }], exportTo: [{ workspaces: [{ name: 'a' }], resources: [{ kind: 'SERVICE' }] }] }),
    gateway('a'), ...service('a', 'web'), ...service('b', 'api'),
    routeTable('a', 'root', [{ name: 'd', delegate: { routeTables: [{ labels: { team: 'b' } }] }, matchers: [{ uri: { prefix: '/api' } }] }, forward('home', 'web', { val: 'foo' })], { hosts: ['x.example.com'], virtualGateways: [{ name: 'gw' }] }, { env: 'prod' }),
    routeTable('b', 'child-1', [{ ...forward('api/one', 'api', { val: 'foo' }, 'b'), name: 'one', matchers: [{ uri: { prefix: '/api/one' } }] }], {}, { team: 'b' }),
    routeTable('b', 'child-2', [{ ...forward('api/two', 'api', undefined, 'b'), name: 'two', matchers: [{ uri: { prefix: '/api/two' } }] }], { weight: 10 }, { team: 'b' }),
    policy('RetryTimeoutPolicy', RES, 'a', 'p1', { applyToRoutes: [{ route: { labels: { val: 'foo' } } }], config: {} }, '2024-01-01T00:00:00Z'),
    policy('RetryTimeoutPolicy', RES, 'b', 'p2', { applyToRoutes: [{ route: { labels: { val: 'foo' } } }], config: {} }, '2024-01-01T00:00:00Z'),
    policy('FaultInjectionPolicy', RES, 'b', 'p3', { applyToRoutes: [{ route: { labels: { env: 'prod' } } }], config: { abort: { httpStatus: 503 } } }),
  ];

  it('gives the same output for every order of the same input', () => {
    const reference = JSON.stringify(computeCore(estate()));
    fc.assert(
      fc.property(fc.shuffledSubarray(estate(), { minLength: estate().length, maxLength: estate().length }), (shuffled) => {
        expect(JSON.stringify(computeCore(shuffled))).toBe(reference);
      }),
      { numRuns: 100 },
    );
  });

  it('orders delegated child tables by weight, then age', () => {
    const { ir } = computeCore(estate());
    expect(ir.routes.map((r) => `${r.table}:${r.route}`)).toEqual(['b/child-2:two', 'b/child-1:one', 'a/root:home']);
    // Equal timestamps tie-break by namespace: a/p1 beats b/p2.
    const one = ir.routes.find((r) => r.route === 'one')!;
    expect(one.policies.map((p) => p.name).sort()).toEqual(['p1', 'p3']);
    expect(one.skipped.map((p) => p.name)).toEqual(['p2']);
  });
});

describe('depth and scale', () => {
  it('follows a 50-level delegation chain', () => {
    const resources = base();
    for (let i = 0; i < 50; i++) {
      const route = i === 49 ? forward('leaf', 'web') : { name: `l${i}`, delegate: { routeTables: [{ name: `t${i + 1}` }] } };
      resources.push(routeTable('apps', `t${i}`, [route], i === 0 ? { hosts: ['deep.example.com'], virtualGateways: [{ name: 'gw' }] } : {}, { [`k${i % 5}`]: String(i) }));
    }
    const { ir, status } = computeCore(resources);
    expect(ir.routes).toHaveLength(1);
    expect(ir.routes[0].path).toHaveLength(50);
    expect(ir.routes[0].valid).toBe(true);
    expect(ir.routes[0].labels).toEqual({ k0: '45', k1: '46', k2: '47', k3: '48', k4: '49' });
    expect(status['RouteTable/apps/t0'].state).toBe('ACCEPTED');
  });

  it(`reports a chain deeper than ${MAX_DELEGATION_DEPTH} levels instead of recursing forever`, () => {
    const resources = base();
    const n = MAX_DELEGATION_DEPTH + 5;
    for (let i = 0; i < n; i++) {
      const route = i === n - 1 ? forward('leaf', 'web') : { name: `l${i}`, delegate: { routeTables: [{ name: `t${i + 1}` }] } };
      resources.push(routeTable('apps', `t${i}`, [route], i === 0 ? { hosts: ['deep.example.com'], virtualGateways: [{ name: 'gw' }] } : {}));
    }
    resources.push(routeTable('apps', 'other', [forward('fine', 'web')], { hosts: ['other.example.com'], virtualGateways: [{ name: 'gw' }] }));
    const { ir, status } = computeCore(resources);
    const deep = ir.routes.find((r) => r.hosts[0] === 'deep.example.com')!;
    expect(deep.valid).toBe(false);
    expect(deep.errors[0]).toContain(`deeper than ${MAX_DELEGATION_DEPTH}`);
    expect(ir.routes.find((r) => r.route === 'fine')!.valid).toBe(true);
    expect(Object.values(status).some((s) => s.state === 'INVALID')).toBe(true);
  });

  it('handles 10,000 routes in one table, with one broken route kept to itself', () => {
    const http = Array.from({ length: 10_000 }, (_, i) => forward(`r${i}`, i === 1234 ? 'missing' : 'web', { group: String(i % 10) }));
    const resources = [...base(), routeTable('apps', 'big', http, { hosts: ['big.example.com'], virtualGateways: [{ name: 'gw' }] }),
      policy('RetryTimeoutPolicy', RES, 'apps', 'p', { applyToRoutes: [{ route: { labels: { group: '3' } } }], config: {} })];
    const { ir, status } = computeCore(resources);
    expect(ir.routes).toHaveLength(10_000);
    expect(ir.routes.filter((r) => !r.valid).map((r) => r.route)).toEqual(['r1234']);
    expect(ir.routes.filter((r) => r.policies.length).length).toBe(1000);
    expect(status['RetryTimeoutPolicy/apps/p'].counters?.routesSelected).toBe(1000);
    expect(ir.gateways[0].listeners[0].virtualHosts[0].routes).toHaveLength(10_000);
  });

  it('gives a namespace claimed by two workspaces to the older one and flags both', () => {
    const older = res({ apiVersion: 'admin.gloo.solo.io/v2', kind: 'Workspace', metadata: { name: 'old', namespace: 'gloo-mesh', creationTimestamp: '2024-01-01T00:00:00Z' }, spec: { workloadClusters: [{ name: '*', namespaces: [{ name: 'apps' }] }] } });
    const newer = res({ apiVersion: 'admin.gloo.solo.io/v2', kind: 'Workspace', metadata: { name: 'new', namespace: 'gloo-mesh', creationTimestamp: '2024-02-01T00:00:00Z' }, spec: { workloadClusters: [{ name: 'cluster-*', namespaces: [{ name: 'app*' }] }] } });
    const { status, ir } = computeCore([newer, older, gateway('apps'), ...service('apps', 'web'), routeTable('apps', 't', [forward('a', 'web')], { hosts: ['h'], virtualGateways: [{ name: 'gw' }] })]);
    expect(status['Workspace/gloo-mesh/old'].state).toBe('INVALID');
    expect(status['Workspace/gloo-mesh/new'].messages[0]).toContain('the oldest, "old", keeps it');
    expect(ir.routes[0].workspace).toBe('old');
  });

  it('selects namespaces by label and cluster glob', () => {
    const ns = res({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop', labels: { team: 'shop' } } });
    const ws = res({ apiVersion: 'admin.gloo.solo.io/v2', kind: 'Workspace', metadata: { name: 'shop', namespace: 'gloo-mesh' }, spec: { workloadClusters: [{ name: 'cluster-*', namespaces: [{ labels: { team: 'shop' } }] }] } });
    const other = res({ apiVersion: 'admin.gloo.solo.io/v2', kind: 'Workspace', metadata: { name: 'elsewhere', namespace: 'gloo-mesh' }, spec: { workloadClusters: [{ name: 'east-*', namespaces: [{ name: '*' }] }] } });
    const { ir, status } = computeCore([ns, ws, other, gateway('shop'), ...service('shop', 'web'), routeTable('shop', 't', [forward('a', 'web')], { hosts: ['h'], virtualGateways: [{ name: 'gw' }] }), routeTable('unowned', 'u', [forward('a', 'web')], { hosts: ['u'] })]);
    expect(ir.routes.map((r) => r.workspace)).toEqual(['shop']);
    expect(status['RouteTable/unowned/u'].messages[0]).toContain('not selected by any workspace');
  });
});

describe('memoised core', () => {
  it('gives exactly the result of a full computation after policy and routing edits', async () => {
    const { createCore } = await import('../../src/core/index.js');
    const engine = createCore();
    let resources: Resource[] = [
      ...base(),
      routeTable('apps', 't', [forward('a', 'web', { val: 'foo' }), forward('b', 'web', { val: 'bar' })], { hosts: ['h'], virtualGateways: [{ name: 'gw' }] }),
      policy('RetryTimeoutPolicy', RES, 'apps', 'p1', { applyToRoutes: [{ route: { labels: { val: 'foo' } } }], config: {} }, '2024-01-01T00:00:00Z'),
      policy('RetryTimeoutPolicy', RES, 'apps', 'p2', { applyToRoutes: [{ route: { labels: { val: 'foo' } } }], config: {} }, '2024-01-02T00:00:00Z'),
    ];
    const same = () => expect(JSON.stringify(engine(resources))).toBe(JSON.stringify(computeCore(resources)));
    same();
    // p2 becomes the oldest: the winner flips.
    resources = resources.map((r) => (r.metadata.name === 'p2' ? { ...r, metadata: { ...r.metadata, creationTimestamp: '2023-01-01T00:00:00Z' } } : r));
    same();
    // a selector edit, a deletion, an addition
    resources = resources.map((r) => (r.metadata.name === 'p1' ? { ...r, spec: { ...(r.spec as object), applyToRoutes: [{ route: { labels: { val: 'bar' } } }] } } : r));
    same();
    resources = resources.filter((r) => r.metadata.name !== 'p2');
    same();
    resources = [...resources, policy('FaultInjectionPolicy', RES, 'apps', 'p3', { applyToRoutes: [{}], config: { delay: { fixedDelay: '1s' } } })];
    same();
    // a routing edit: new route labels
    resources = resources.map((r) => (r.kind === 'RouteTable' ? routeTable('apps', 't', [forward('a', 'web', { val: 'bar' })], { hosts: ['h'], virtualGateways: [{ name: 'gw' }] }) : r));
    same();
    expect(engine(resources).ir.routes[0].policies.map((p) => p.name).sort()).toEqual(['p1', 'p3']);
  });
});
