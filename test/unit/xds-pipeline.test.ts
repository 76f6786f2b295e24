// The push pipeline does only the work a change needs: unchanged resources
// are not re-encoded, identical ones are shared across proxies, a type's
// version and a subscription's response are computed once per snapshot and
// shared by every stream, a delta change list once for all delta streams,
// and an ACK that leaves nothing to send touches no resource.
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EnvoyResources } from '../../src/translate/index.js';
import { encodings, hash } from '../../src/xds/encodings.js';
import { encodeResource, lookupType, TYPES, typeUrl } from '../../src/xds/protos.js';
import { XdsServer } from '../../src/xds/server.js';
import { buildSnapshot, SnapshotCache, work, type TypeSnapshot } from '../../src/xds/snapshot.js';
import { scriptedStream } from '../support/xds-client.js';

const cluster = (name: string, timeout = 1) => ({ name, body: { name, type: 'EDS', connectTimeout: { seconds: timeout }, edsClusterConfig: { edsConfig: { ads: {}, resourceApiVersion: 'V3' } } } });
const endpoint = (name: string, port: number) => ({ name, body: { clusterName: name, endpoints: [{ lbEndpoints: [{ endpoint: { address: { socketAddress: { address: '10.0.0.1', portValue: port } } } }] }] } });
function gateway(clusters: string[], port: number, timeouts: Record<string, number> = {}): EnvoyResources {
  return { cluster: clusters.map((c) => cluster(c, timeouts[c])), endpoint: clusters.map((c) => endpoint(c, port)), listener: [], route: [], secret: [] };
}

/** A Map that counts every read, to show a code path does not touch it. */
class CountingMap<K, V> extends Map<K, V> {
  reads = 0;
  override get(k: K) { this.reads++; return super.get(k); }
  override has(k: K) { this.reads++; return super.has(k); }
  override values() { this.reads++; return super.values(); }
  override keys() { this.reads++; return super.keys(); }
  override entries() { this.reads++; return super.entries(); }
  override [Symbol.iterator]() { this.reads++; return super[Symbol.iterator](); }
}

describe('building snapshots', () => {
  it('encodes an unchanged resource once and shares identical resources across proxies', () => {
    const names = ['build/a', 'build/b', 'build/c'];
    const first = buildSnapshot(gateway(names, 80));
    const encodedBefore = encodings.stats.encoded;
    // New objects, same content (what a fresh translation gives): nothing is encoded again.
    const again = buildSnapshot(gateway(names, 80));
    expect(encodings.stats.encoded).toBe(encodedBefore);
    expect(again.cluster.resources.get('build/a')).toBe(first.cluster.resources.get('build/a'));
    expect(again.cluster.version).toBe(first.cluster.version);
    // One cluster changes: exactly one encoding, and only its version moves.
    const changed = buildSnapshot(gateway(names, 80, { 'build/b': 7 }));
    expect(encodings.stats.encoded).toBe(encodedBefore + 1);
    expect(changed.cluster.resources.get('build/b')!.version).not.toBe(first.cluster.resources.get('build/b')!.version);
    expect(changed.cluster.resources.get('build/a')).toBe(first.cluster.resources.get('build/a'));
    expect(changed.endpoint.version).toBe(first.endpoint.version);
    // Another proxy with the same resource shares its encoding.
    const other = buildSnapshot(gateway(['build/a', 'build/z'], 80));
    expect(other.cluster.resources.get('build/a')).toBe(first.cluster.resources.get('build/a'));
  });

  it('keeps versions content hashes, whatever the cache holds', () => {
    const body = cluster('hash/x', 3).body;
    const snap = buildSnapshot({ cluster: [{ name: 'hash/x', body }], endpoint: [], listener: [], route: [], secret: [] });
    expect(snap.cluster.resources.get('hash/x')!.version).toBe(hash(encodeResource(TYPES.cluster, body)));
    encodings.clear();
    const cold = buildSnapshot({ cluster: [{ name: 'hash/x', body: cluster('hash/x', 3).body }], endpoint: [], listener: [], route: [], secret: [] });
    expect(cold.cluster.version).toBe(snap.cluster.version);
  });

  it('keeps the TypeSnapshot of a type whose version did not change', () => {
    const cache = new SnapshotCache();
    cache.setAll(new Map([['gateway:ns/keep', buildSnapshot(gateway(['keep/a'], 80))]]));
    const before = cache.get('gateway:ns/keep')!;
    cache.setAll(new Map([['gateway:ns/keep', buildSnapshot(gateway(['keep/a'], 81))]]));
    const after = cache.get('gateway:ns/keep')!;
    expect(after.cluster).toBe(before.cluster);
    expect(after.endpoint).not.toBe(before.endpoint);
  });

  it('reuses, without looking at it, a type whose translated list is the one the previous snapshot was built from', () => {
    const cache = new SnapshotCache();
    const key = 'gateway:ns/reuse';
    const first = gateway(['reuse/a', 'reuse/b'], 80);
    cache.setAll(new Map([[key, buildSnapshot(first, false, cache.get(key))]]));
    const before = cache.get(key)!;
    // A Pod move: the translator hands over the same cluster list, new endpoint bodies.
    const moved: EnvoyResources = { ...first, endpoint: gateway(['reuse/a', 'reuse/b'], 81).endpoint };
    const encoded = encodings.stats.encoded;
    const reused = encodings.stats.reused;
    const next = buildSnapshot(moved, false, before);
    expect(next.cluster).toBe(before.cluster);
    expect(next.endpoint).not.toBe(before.endpoint);
    // Only the endpoints were looked up (and encoded); the clusters were not even compared.
    expect(encodings.stats.encoded - encoded).toBe(2);
    expect(encodings.stats.reused - reused).toBe(0);
    // The same versions a build without the previous snapshot gives.
    const fresh = buildSnapshot(moved);
    for (const t of ['cluster', 'endpoint', 'listener', 'route', 'secret'] as const) expect(next[t].version).toBe(fresh[t].version);
    // A list with another body, or another name, in it is built again.
    expect(buildSnapshot({ ...moved, cluster: [moved.cluster[0], cluster('reuse/b', 9)] }, false, next).cluster).not.toBe(next.cluster);
    expect(buildSnapshot({ ...moved, cluster: [moved.cluster[0]] }, false, next).cluster.resources.size).toBe(1);
    // Strict builds (meshplane validate) check every body, so they reuse nothing.
    expect(buildSnapshot(moved, true, next).cluster).not.toBe(next.cluster);
  });

  it('keeps a reused type\'s encodings cached, so other proxies share them and nothing is encoded again', () => {
    const cache = new SnapshotCache();
    const key = 'gateway:ns/kept';
    const res = gateway(['kept/a'], 80);
    cache.setAll(new Map([[key, buildSnapshot(res, false, cache.get(key))]]));
    const original = cache.get(key)!.cluster.resources.get('kept/a');
    // Generations in which the cluster type is reused whole (setAll sweeps what a generation did not use).
    for (let port = 81; port < 85; port++) cache.setAll(new Map([[key, buildSnapshot({ ...res, endpoint: gateway(['kept/a'], port).endpoint }, false, cache.get(key))]]));
    expect(cache.get(key)!.cluster.resources.get('kept/a')).toBe(original);
    const encoded = encodings.stats.encoded;
    const other = buildSnapshot(gateway(['kept/a'], 99));
    expect(other.cluster.resources.get('kept/a')).toBe(original);
    expect(encodings.stats.encoded - encoded).toBe(1); // its endpoint only
    // A snapshot carried over unbuilt for a generation had its encodings swept: reusing it serves
    // them still, but they stay out of the cache (a served resource keeps no translated body alive).
    encodings.sweep();
    encodings.sweep();
    const carried = buildSnapshot({ ...res, endpoint: gateway(['kept/a'], 84).endpoint }, false, cache.get(key));
    expect(carried.cluster.resources.get('kept/a')).toBe(original);
    const before = encodings.stats.encoded;
    expect(buildSnapshot(gateway(['kept/a'], 84)).cluster.resources.get('kept/a')).not.toBe(original);
    expect(encodings.stats.encoded).toBe(before + 1);
  });
});

const ADS = '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources';
const DELTA = '/envoy.service.discovery.v3.AggregatedDiscoveryService/DeltaAggregatedResources';
interface Response { versionInfo: string; nonce: string; typeUrl: string; resources: Array<{ value: Uint8Array }> }
interface DeltaResponse { nonce: string; resources: Array<{ name: string; version: string }>; removedResources: string[] }

describe('shared pushes', () => {
  const cache = new SnapshotCache();
  const server = new XdsServer(cache, pino({ level: 'silent' }));
  const clusters = Array.from({ length: 200 }, (_, i) => `shared/c${i}`);
  const set = (port: number, timeouts: Record<string, number> = {}) => cache.setAll(new Map([['gateway:ns/shared', buildSnapshot(gateway(clusters, port, timeouts))]]));
  let port: number;

  beforeAll(async () => {
    set(80);
    port = await server.listen('127.0.0.1', 0);
  });
  afterAll(() => server.close(500));

  it('builds one response body per subscription for all SotW streams, and an ACK touches no resource', async () => {
    const streams = Array.from({ length: 4 }, (_, i) => ({ c: scriptedStream<Response>(port, ADS, 'sotw'), id: `sotw-${i}` }));
    for (const { c, id } of streams) {
      c.send({ node: { id, cluster: 'ns/shared' }, typeUrl: typeUrl('cluster') });
      const cds = await c.next();
      c.send({ typeUrl: typeUrl('cluster'), versionInfo: cds.versionInfo, responseNonce: cds.nonce });
      c.send({ typeUrl: typeUrl('endpoint'), resourceNames: clusters.slice(0, 50) });
      const eds = await c.next();
      c.send({ typeUrl: typeUrl('endpoint'), versionInfo: eds.versionInfo, responseNonce: eds.nonce, resourceNames: clusters.slice(0, 50) });
    }
    const views = work.viewsBuilt;
    set(81); // every endpoint moves
    const responses = await Promise.all(streams.map(({ c }) => c.next()));
    // One view (version, resource list, encoded block) for the four streams.
    expect(work.viewsBuilt).toBe(views + 1);
    expect(new Set(responses.map((r) => r.versionInfo)).size).toBe(1);
    expect(responses.every((r) => r.resources.length === 50)).toBe(true);
    // Only the nonce differs between the four responses.
    const Res = lookupType('envoy.service.discovery.v3.DiscoveryResponse');
    const bytes = responses.map((r) => Buffer.from(Res.encode(Res.fromObject({ ...r, nonce: '' })).finish()).toString('hex'));
    expect(new Set(bytes).size).toBe(1);

    // ACKs that leave nothing to send read no resource of the snapshot.
    const ts: TypeSnapshot = cache.get('gateway:ns/shared')!.endpoint;
    const resources = (ts.resources = new CountingMap(ts.resources));
    const shared = (ts.views = new CountingMap(ts.views));
    for (const [i, { c }] of streams.entries()) c.send({ typeUrl: typeUrl('endpoint'), versionInfo: responses[i].versionInfo, responseNonce: responses[i].nonce, resourceNames: clusters.slice(0, 50) });
    for (const { c } of streams) expect(await c.nothingWithin(300)).toBe(true);
    expect(server.proxies().filter((p) => p.nodeId.startsWith('sotw-')).every((p) => p.types.endpoint?.acked === responses[0].versionInfo)).toBe(true);
    expect(resources.reads + shared.reads).toBe(0);
    for (const { c } of streams) c.call.end();
  });

  it('computes one change list for all delta streams and sends each only what changed', async () => {
    const streams = Array.from({ length: 3 }, (_, i) => ({ c: scriptedStream<DeltaResponse>(port, DELTA, 'delta'), id: `delta-${i}` }));
    for (const { c, id } of streams) {
      c.send({ node: { id, cluster: 'ns/shared' }, typeUrl: typeUrl('cluster') });
      const first = await c.next();
      expect(first.resources).toHaveLength(200);
      c.send({ typeUrl: typeUrl('cluster'), responseNonce: first.nonce });
    }
    await new Promise((r) => setTimeout(r, 100));
    const { changeListsBuilt, fullComparisons } = work;
    set(81, { 'shared/c7': 9 });
    const responses = await Promise.all(streams.map(({ c }) => c.next()));
    expect(responses.map((r) => r.resources.map((x) => x.name))).toEqual([['shared/c7'], ['shared/c7'], ['shared/c7']]);
    expect(work.changeListsBuilt).toBe(changeListsBuilt + 1);
    expect(work.fullComparisons).toBe(fullComparisons);
    for (const [i, { c }] of streams.entries()) c.send({ typeUrl: typeUrl('cluster'), responseNonce: responses[i].nonce });
    for (const { c } of streams) expect(await c.nothingWithin(300)).toBe(true);
    for (const { c } of streams) c.call.end();
  });
});
