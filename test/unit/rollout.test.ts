// ACK counts per resource: which proxies should have a resource (read off the
// IR) and how many of them run its current version.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { proxiesOf } from '../../src/rollout/dependencies.js';
import { RolloutTracker } from '../../src/rollout/tracker.js';
import type { Resource } from '../../src/resources/schema.js';
import type { ProxyInfo } from '../../src/xds/stream.js';
import type { ProxyRejection } from '../../src/xds/server.js';
import { REPO_ROOT } from '../support/envoy.js';
import { loadScenario } from '../support/scenario.js';

const scenario = (name: string) => loadScenario(join(REPO_ROOT, 'test/fixtures/scenarios', name));

describe('the proxies a resource reaches', () => {
  it('a delegated child table, the policy on its route and its destination reach the root table\'s gateway (seed 02, delegated scenario 1)', () => {
    const core = scenario('delegated-1-label-inheritance');
    for (const key of ['RouteTable/parent/parent', 'RouteTable/child/child', 'RetryTimeoutPolicy/parent/policy-1', 'Service/child/child-svc', 'VirtualGateway/parent/gw', 'Workspace/gloo-mesh/child-ws']) {
      expect(proxiesOf(core, key), key).toEqual(['gateway:parent/gw']);
    }
  });

  it('an access policy reaches the sidecars of the workloads it protects, a service every sidecar that may call it', () => {
    const core = scenario('mesh-bookinfo');
    expect(proxiesOf(core, 'AccessPolicy/bookinfo-backends/ratings-access')).toEqual(['sidecar:bookinfo-backends/ratings-1']);
    expect(proxiesOf(core, 'Service/bookinfo-backends/ratings')).toEqual(['sidecar:bookinfo-backends/ratings-1', 'sidecar:bookinfo-backends/reviews-1', 'sidecar:bookinfo-frontends/productpage-1']);
    expect(proxiesOf(core, 'Pod/outsiders/curl-1')).toEqual(['sidecar:outsiders/curl-1']);
  });

  it('a policy that loses a conflict reaches no proxy; the winner does (seed 03)', () => {
    const core = scenario('conflict-oldest-wins');
    const gateways = proxiesOf(core, 'RetryTimeoutPolicy/apps/older');
    expect(gateways).toHaveLength(1);
    for (const loser of ['newer', 'tie-a', 'tie-b']) expect(proxiesOf(core, `RetryTimeoutPolicy/apps/${loser}`), loser).toEqual([]);
  });
});

const table = (name: string, prefix: string): Resource =>
  ({ apiVersion: 'networking.gloo.solo.io/v2', kind: 'RouteTable', metadata: { namespace: 'parent', name, labels: {} }, spec: { http: [{ matchers: [{ uri: { prefix } }] }] } }) as unknown as Resource;

const proxy = (nodeId: string, key: string, revisions: Record<string, number>): ProxyInfo => ({
  nodeId,
  key,
  role: 'gateway',
  protocol: 'sotw',
  connectedAt: '',
  types: Object.fromEntries(Object.entries(revisions).map(([t, r]) => [t, { sent: 'v', acked: 'v', ackedRevision: r }])),
});

describe('ACK counts', () => {
  const core = scenario('delegated-1-label-inheritance');
  const parent = table('parent', '/');

  it('a proxy runs a resource once it ACKed, for every type, a snapshot current at or after the revision that brought the resource\'s content', () => {
    const t = new RolloutTracker('cluster-1');
    t.record([parent], 1);
    t.record([{ ...parent }], 2); // same content, new object: still revision 1's version
    expect(t.since('RouteTable/parent/parent')).toBe(1);
    t.record([table('parent', '/v2')], 3);
    expect(t.since('RouteTable/parent/parent')).toBe(3);
    const ro = t.rollouts(core, [proxy('a', 'gateway:parent/gw', { listener: 3, route: 4 }), proxy('b', 'gateway:parent/gw', { listener: 3, route: 2 }), proxy('c', 'gateway:other/gw', { listener: 9 })], []);
    expect(ro.get('RouteTable/parent/parent')).toEqual({ connected: 2, acked: 1, rejecting: 0, pending: ['b'] });
    // Resources the tracker has not seen content for are counted as not yet run.
    expect(ro.get('RouteTable/child/child')).toEqual({ connected: 2, acked: 0, rejecting: 0, pending: ['a', 'b'] });
  });

  it('a proxy that rejected the gateway\'s routes is rejecting every table and policy on it, not its destinations', () => {
    const t = new RolloutTracker('cluster-1');
    t.record([parent, { ...parent, kind: 'Service', metadata: { namespace: 'child', name: 'child-svc', labels: {} } } as unknown as Resource], 1);
    const nack: ProxyRejection = { node: 'a', key: 'gateway:parent/gw', type: 'route', resource: 'parent/gw:8080', version: 'x', message: 'invalid regex\nmore', at: '' };
    const ro = t.rollouts(core, [proxy('a', 'gateway:parent/gw', { listener: 5, route: 5 })], [nack]);
    expect(ro.get('RouteTable/parent/parent')).toEqual({ connected: 1, acked: 0, rejecting: 1, rejections: [{ proxy: 'a', message: 'rejected route parent/gw:8080: invalid regex' }] });
    expect(ro.get('Service/child/child-svc')).toEqual({ connected: 1, acked: 1, rejecting: 0 });
  });

  it('names at most five proxies', () => {
    const t = new RolloutTracker('cluster-1');
    t.record([parent], 7);
    const many = Array.from({ length: 12 }, (_, i) => proxy(`p${String(i).padStart(2, '0')}`, 'gateway:parent/gw', { listener: 1 }));
    const ro = t.rollouts(core, many, []).get('RouteTable/parent/parent')!;
    expect(ro).toMatchObject({ connected: 12, acked: 0, rejecting: 0 });
    expect(ro.pending).toEqual(['p00', 'p01', 'p02', 'p03', 'p04']);
  });

  it('forgets deleted resources and treats the default cluster as no cluster', () => {
    const t = new RolloutTracker('cluster-1');
    t.record([{ ...parent, cluster: 'cluster-1' } as Resource], 1);
    expect(t.since('RouteTable/parent/parent')).toBe(1);
    t.record([], 2);
    expect(t.since('RouteTable/parent/parent')).toBeUndefined();
  });
});
