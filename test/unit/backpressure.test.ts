// A proxy that stops reading must not make meshplane buffer without bound:
// writes stop when the stream is full, and the stream is closed after the
// stall timeout. The peer is a raw HTTP/2 client (a paused grpc-js client
// would buffer on its own side).
import { connect, type ClientHttp2Stream } from 'node:http2';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EnvoyResources } from '../../src/translate/index.js';
import { lookupType, typeUrl } from '../../src/xds/protos.js';
import { XdsServer } from '../../src/xds/server.js';
import { buildSnapshot, SnapshotCache } from '../../src/xds/snapshot.js';
import { waitFor } from '../support/net.js';

const Req = lookupType('envoy.service.discovery.v3.DiscoveryRequest');

function bigSnapshot(generation: number) {
  const cluster = Array.from({ length: 3000 }, (_, i) => {
    const name = `cluster-${i}-with-a-long-enough-name-to-fill-the-window-quickly`;
    return { name, body: { name, type: 'STATIC', connectTimeout: { seconds: 1 + (generation % 5) }, loadAssignment: { clusterName: name, endpoints: [{ lbEndpoints: [{ endpoint: { address: { socketAddress: { address: '127.0.0.1', portValue: 10000 + i } } } }] }] } } };
  });
  const r: EnvoyResources = { cluster, endpoint: [], listener: [], route: [], secret: [] };
  return buildSnapshot(r);
}

describe('backpressure', () => {
  const cache = new SnapshotCache();
  const server = new XdsServer(cache, pino({ level: 'silent' }), { stallTimeoutMs: 700 });
  let port: number;

  beforeAll(async () => {
    cache.setAll(new Map([['gateway:ns/gw', bigSnapshot(0)]]));
    port = await server.listen('127.0.0.1', 0);
  });
  afterAll(() => server.close(500));

  it('stops writing to a proxy that does not read, then closes its stream', async () => {
    const session = connect(`http://127.0.0.1:${port}`);
    session.on('error', () => {}); // the reset may surface on the session too
    const stream: ClientHttp2Stream = session.request({
      ':method': 'POST',
      ':path': '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources',
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    const msg = Req.encode(Req.fromObject({ node: { id: 'slowpoke', cluster: 'ns/gw' }, typeUrl: typeUrl('cluster') })).finish();
    const frame = Buffer.alloc(5 + msg.length);
    frame.writeUInt32BE(msg.length, 1);
    Buffer.from(msg).copy(frame, 5);
    stream.write(frame);
    stream.pause(); // never read: HTTP/2 flow control stops the server
    let closed = false;
    stream.on('close', () => (closed = true));
    stream.on('error', () => {});

    await waitFor('the stream to register', () => (server.proxies().length === 1 ? true : undefined), 5000);
    const heapBefore = process.memoryUsage().heapUsed;
    // Many changes while the proxy is not reading: none may be written.
    for (let g = 1; g <= 20; g++) cache.setAll(new Map([['gateway:ns/gw', bigSnapshot(g)]]));
    const pushes = (await server.metrics.registry.getSingleMetricAsString('meshplane_xds_pushes_total'));
    expect(pushes).toMatch(/meshplane_xds_pushes_total\{type="cluster",protocol="sotw"\} 1\b/);

    await waitFor('the stalled stream to be closed', async () => (server.proxies().length === 0 ? true : undefined), 5000);
    await waitFor('the peer to see its stream closed', async () => (closed || stream.destroyed || session.destroyed ? true : undefined), 5000);
    const stalled = await server.metrics.registry.getSingleMetricAsString('meshplane_xds_stalled_streams_total');
    expect(stalled).toMatch(/meshplane_xds_stalled_streams_total 1\b/);
    // 20 snapshots of ~500 KB were built, but nothing piled up per stream.
    global.gc?.();
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(64 * 1024 * 1024);
    session.destroy();
  });
});
