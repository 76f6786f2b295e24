// Incremental (delta) xDS with a scripted client: wildcard and named
// subscriptions, initial_resource_versions on reconnect, removals, and
// per-resource NACK handling.
import { scriptedStream } from '../support/xds-client.js';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EnvoyResources } from '../../src/translate/index.js';
import { typeUrl } from '../../src/xds/protos.js';
import { XdsServer } from '../../src/xds/server.js';
import { buildSnapshot, SnapshotCache } from '../../src/xds/snapshot.js';

interface DeltaResponse { systemVersionInfo: string; nonce: string; typeUrl: string; resources: Array<{ name: string; version: string }>; removedResources: string[] }

function clusters(spec: Record<string, number>): EnvoyResources {
  const cluster = Object.entries(spec).map(([name, timeout]) => ({ name, body: { name, type: 'STATIC', connectTimeout: { seconds: timeout } } }));
  return { cluster, endpoint: [], listener: [], route: [], secret: [] };
}

const open = (port: number, path = '/envoy.service.discovery.v3.AggregatedDiscoveryService/DeltaAggregatedResources') => scriptedStream<DeltaResponse>(port, path, 'delta');

const names = (r: DeltaResponse) => r.resources.map((x) => x.name).sort();

describe('delta ADS', () => {
  const cache = new SnapshotCache();
  const server = new XdsServer(cache, pino({ level: 'silent' }));
  let port: number;
  const node = { id: 'd1', cluster: 'ns/gw' };
  const CDS = typeUrl('cluster');
  const set = (spec: Record<string, number>) => cache.setAll(new Map([['gateway:ns/gw', buildSnapshot(clusters(spec))]]));

  beforeAll(async () => {
    set({ a: 1, b: 1 });
    port = await server.listen('127.0.0.1', 0);
  });
  afterAll(() => server.close(500));

  it('sends everything to a wildcard subscriber, then only what changed, and removals', async () => {
    const c = open(port);
    c.send({ node, typeUrl: CDS });
    const first = await c.next();
    expect(names(first)).toEqual(['a', 'b']);
    expect(first.removedResources).toEqual([]);
    c.send({ typeUrl: CDS, responseNonce: first.nonce });
    expect(await c.nothingWithin(300)).toBe(true);
    set({ a: 1, b: 2, c: 1 });
    const second = await c.next();
    expect(names(second)).toEqual(['b', 'c']);
    c.send({ typeUrl: CDS, responseNonce: second.nonce });
    set({ a: 1, c: 1 });
    const third = await c.next();
    expect(third.resources).toEqual([]);
    expect(third.removedResources).toEqual(['b']);
    c.send({ typeUrl: CDS, responseNonce: third.nonce });
    c.call.end();
  });

  it('on reconnect with initial_resource_versions sends only what differs and removes what is gone', async () => {
    set({ a: 1, c: 3 });
    const snapshotVersions = Object.fromEntries([...cache.get('gateway:ns/gw')!.cluster.resources.values()].map((r) => [r.name, r.version]));
    const c = open(port);
    c.send({ node, typeUrl: CDS, initialResourceVersions: { a: snapshotVersions.a, c: 'old', gone: 'x' } });
    const r = await c.next();
    expect(names(r)).toEqual(['c']);
    expect(r.removedResources).toEqual(['gone']);
    c.call.end();
  });

  it('serves named subscriptions, tells about missing names, and follows unsubscribes', async () => {
    set({ a: 1, c: 3 });
    const c = open(port, '/envoy.service.cluster.v3.ClusterDiscoveryService/DeltaClusters');
    c.send({ node, typeUrl: CDS, resourceNamesSubscribe: ['a', 'nope'] });
    const r = await c.next();
    expect(names(r)).toEqual(['a']);
    expect(r.removedResources).toEqual(['nope']);
    c.send({ typeUrl: CDS, responseNonce: r.nonce, resourceNamesSubscribe: ['c'], resourceNamesUnsubscribe: ['a'] });
    const r2 = await c.next();
    expect(names(r2)).toEqual(['c']);
    c.send({ typeUrl: CDS, responseNonce: r2.nonce });
    set({ a: 9, c: 3 }); // a changed, but nobody wants it
    expect(await c.nothingWithin(300)).toBe(true);
    c.call.end();
  });

  it('keeps a NACKed resource out while delivering unrelated changes, and retries it when it changes', async () => {
    set({ a: 1 });
    const c = open(port);
    c.send({ node, typeUrl: CDS });
    const r = await c.next();
    c.send({ typeUrl: CDS, responseNonce: r.nonce });
    set({ a: 1, bad: 1 });
    const r2 = await c.next();
    expect(names(r2)).toEqual(['bad']);
    c.send({ typeUrl: CDS, responseNonce: r2.nonce, errorDetail: { code: 3, message: 'cluster bad: rejected' } });
    expect(await c.nothingWithin(300)).toBe(true);
    set({ a: 2, bad: 1, other: 1 });
    const r3 = await c.next();
    expect(names(r3)).toEqual(['a', 'other']);
    c.send({ typeUrl: CDS, responseNonce: r3.nonce });
    set({ a: 2, bad: 5, other: 1 });
    const r4 = await c.next();
    expect(names(r4)).toEqual(['bad']);
    const proxy = server.proxies().find((p) => p.protocol === 'delta' && p.types.cluster?.nack);
    expect(proxy?.types.cluster?.nack?.names).toEqual(['bad']);
    c.call.end();
  });
});
