// The SotW ADS protocol with a scripted client: versions, nonces, ACK, NACK
// without re-send loops, EDS after CDS, and subscription changes.
import * as grpc from '@grpc/grpc-js';
import { scriptedStream } from '../support/xds-client.js';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EnvoyResources } from '../../src/translate/index.js';
import { XdsServer } from '../../src/xds/server.js';
import { lookupType, typeUrl } from '../../src/xds/protos.js';
import { buildSnapshot, SnapshotCache } from '../../src/xds/snapshot.js';


function resources(clusterNames: string[]): EnvoyResources {
  return {
    cluster: clusterNames.map((name) => ({ name, body: { name, type: 'EDS', connectTimeout: { seconds: 1 }, edsClusterConfig: { edsConfig: { ads: {}, resourceApiVersion: 'V3' } } } })),
    endpoint: clusterNames.map((name) => ({ name, body: { clusterName: name } })),
    listener: [],
    route: [],
    secret: [],
  };
}

interface Response { versionInfo: string; nonce: string; typeUrl: string; resources: Array<{ typeUrl: string; value: Uint8Array }> }
const Cluster = lookupType('envoy.config.cluster.v3.Cluster');
const names = (r: Response) => r.resources.map((x) => (Cluster.decode(x.value) as unknown as { name: string }).name).sort();

const ADS = '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources';
const open = (port: number) => scriptedStream<Response>(port, ADS, 'sotw');

describe('ADS state of the world', () => {
  const cache = new SnapshotCache();
  const server = new XdsServer(cache, pino({ level: 'silent' }));
  let port: number;
  const node = { id: 'n1', cluster: 'ns/gw' };
  const CDS = typeUrl('cluster');
  const EDS = typeUrl('endpoint');

  beforeAll(async () => {
    cache.setAll(new Map([['gateway:ns/gw', buildSnapshot(resources(['a']))]]));
    port = await server.listen('127.0.0.1', 0);
  });
  afterAll(() => server.close(500));

  it('answers, waits for the ACK, does not re-send a NACKed version, and sends the next change', async () => {
    const c = open(port);
    c.send({ node, typeUrl: CDS });
    const first = await c.next();
    expect(first.typeUrl).toBe(CDS);
    expect(first.resources).toHaveLength(1);
    expect(first.versionInfo).toMatch(/^[0-9a-f]{16}$/);
    c.send({ typeUrl: CDS, versionInfo: first.versionInfo, responseNonce: first.nonce });
    expect(await c.nothingWithin(300)).toBe(true);

    // A change: pushed once; the proxy NACKs it; nothing is re-sent.
    cache.setAll(new Map([['gateway:ns/gw', buildSnapshot(resources(['a', 'b']))]]));
    const second = await c.next();
    expect(second.resources).toHaveLength(2);
    expect(second.versionInfo).not.toBe(first.versionInfo);
    c.send({ typeUrl: CDS, versionInfo: first.versionInfo, responseNonce: second.nonce, errorDetail: { code: 3, message: 'rejected for the test' } });
    expect(await c.nothingWithin(500)).toBe(true);
    expect(server.proxies()[0].types.cluster?.nack?.message).toBe('rejected for the test');

    expect(server.proxies()[0].types.cluster?.rejected).toEqual(['b']);

    // A stale nonce is ignored. An unrelated change is delivered while the
    // rejected resource stays out (it never had an accepted version).
    c.send({ typeUrl: CDS, versionInfo: first.versionInfo, responseNonce: 'stale' });
    cache.setAll(new Map([['gateway:ns/gw', buildSnapshot(resources(['a', 'b', 'c']))]]));
    const third = await c.next();
    expect(names(third)).toEqual(['a', 'c']);
    c.send({ typeUrl: CDS, versionInfo: third.versionInfo, responseNonce: third.nonce });
    // Once b's content changes it is tried again.
    cache.setAll(new Map([['gateway:ns/gw', buildSnapshot({ ...resources(['a', 'c']), cluster: [...resources(['a', 'c']).cluster, { name: 'b', body: { name: 'b', type: 'STATIC', connectTimeout: { seconds: 2 } } }] })]]));
    const fourth = await c.next();
    expect(names(fourth)).toEqual(['a', 'b', 'c']);
    c.call.end();
  });

  it('gives versions that are content hashes: same config, same version', () => {
    expect(buildSnapshot(resources(['x', 'y'])).cluster.version).toBe(buildSnapshot(resources(['y', 'x'])).cluster.version);
    expect(buildSnapshot(resources(['x'])).cluster.version).not.toBe(buildSnapshot(resources(['x', 'y'])).cluster.version);
  });

  it('sends only requested EDS names and follows subscription changes and CDS pushes', async () => {
    cache.setAll(new Map([['gateway:ns/gw', buildSnapshot(resources(['a', 'b']))]]));
    const c = open(port);
    c.send({ node, typeUrl: CDS });
    const cds = await c.next();
    c.send({ typeUrl: CDS, versionInfo: cds.versionInfo, responseNonce: cds.nonce });
    c.send({ typeUrl: EDS, resourceNames: ['a'] });
    const eds1 = await c.next();
    expect(eds1.typeUrl).toBe(EDS);
    expect(eds1.resources).toHaveLength(1);
    c.send({ typeUrl: EDS, versionInfo: eds1.versionInfo, responseNonce: eds1.nonce, resourceNames: ['a', 'b'] });
    const eds2 = await c.next();
    expect(eds2.resources).toHaveLength(2);
    // SotW versions hash exactly what was sent: another subscription, another version.
    expect(eds2.versionInfo).not.toBe(eds1.versionInfo);
    c.send({ typeUrl: EDS, versionInfo: eds2.versionInfo, responseNonce: eds2.nonce, resourceNames: ['a', 'b'] });
    // A cluster change pushes CDS and then EDS, so warming clusters get endpoints.
    cache.setAll(new Map([['gateway:ns/gw', buildSnapshot({ ...resources(['a', 'b']), cluster: resources(['a', 'b']).cluster.map((c) => ({ ...c, body: { ...c.body, connectTimeout: { seconds: 2 } } })) })]]));
    const cds2 = await c.next();
    expect(cds2.typeUrl).toBe(CDS);
    const eds3 = await c.next();
    expect(eds3.typeUrl).toBe(EDS);
    expect(eds3.resources).toHaveLength(2);
    c.call.end();
  });

  it('refuses a stream whose node names no gateway', async () => {
    const c = open(port);
    const err = new Promise<grpc.ServiceError>((r) => c.call.on('error', r));
    c.send({ node: { id: 'anonymous' }, typeUrl: CDS });
    expect((await err).code).toBe(grpc.status.INVALID_ARGUMENT);
  });
});
