// A proxy that stops reading must not make meshplane buffer without bound:
// writes stop when the stream is full, and the stream is closed after the
// stall timeout. A proxy that reads slowly is not stalled: it is never closed
// and gets every change. The peers are raw HTTP/2 clients (a paused grpc-js
// client would buffer on its own side).
import { connect, type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EnvoyResources } from '../../src/translate/index.js';
import { lookupType, typeUrl } from '../../src/xds/protos.js';
import { XdsServer } from '../../src/xds/server.js';
import { buildSnapshot, SnapshotCache } from '../../src/xds/snapshot.js';
import { waitFor } from '../support/net.js';

const Req = lookupType('envoy.service.discovery.v3.DiscoveryRequest');
const Res = lookupType('envoy.service.discovery.v3.DiscoveryResponse');

function bigSnapshot(generation: number, count = 3000) {
  const cluster = Array.from({ length: count }, (_, i) => {
    const name = `cluster-${i}-with-a-long-enough-name-to-fill-the-window-quickly`;
    return { name, body: { name, type: 'STATIC', connectTimeout: { seconds: 1 + (generation % 5) }, loadAssignment: { clusterName: name, endpoints: [{ lbEndpoints: [{ endpoint: { address: { socketAddress: { address: '127.0.0.1', portValue: 10000 + i } } } }] }] } } };
  });
  const r: EnvoyResources = { cluster, endpoint: [], listener: [], route: [], secret: [] };
  return buildSnapshot(r);
}

/** A raw HTTP/2 ADS stream: the test decides when bytes are read. */
function rawAds(port: number, settings: { initialWindowSize?: number } = {}): { session: ClientHttp2Session; stream: ClientHttp2Stream; send(m: object): void } {
  const session = connect(`http://127.0.0.1:${port}`, { settings });
  session.on('error', () => {}); // a reset may surface on the session too
  const stream = session.request({
    ':method': 'POST',
    ':path': '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources',
    'content-type': 'application/grpc',
    te: 'trailers',
  });
  stream.on('error', () => {});
  const send = (m: object) => {
    const msg = Req.encode(Req.fromObject(m)).finish();
    const frame = Buffer.alloc(5 + msg.length);
    frame.writeUInt32BE(msg.length, 1);
    Buffer.from(msg).copy(frame, 5);
    stream.write(frame);
  };
  return { session, stream, send };
}

// A real full collection before each heap reading (test workers run without --expose-gc: without
// it the check read garbage too, and failed one run in three on a loaded machine).
setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as () => void;

const counter = async (server: XdsServer, name: string) => server.metrics.registry.getSingleMetricAsString(name);

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
    const { session, stream, send } = rawAds(port);
    send({ node: { id: 'slowpoke', cluster: 'ns/gw' }, typeUrl: typeUrl('cluster') });
    stream.pause(); // never read: HTTP/2 flow control stops the server
    let closed = false;
    stream.on('close', () => (closed = true));

    await waitFor('the stream to register', () => (server.proxies().length === 1 ? true : undefined), 5000);
    collect();
    const heapBefore = process.memoryUsage().heapUsed;
    // Many changes while the proxy is not reading: none may be written.
    for (let g = 1; g <= 20; g++) cache.setAll(new Map([['gateway:ns/gw', bigSnapshot(g)]]));
    expect(await counter(server, 'meshplane_xds_pushes_total')).toMatch(/meshplane_xds_pushes_total\{type="cluster",protocol="sotw"\} 1\b/);

    await waitFor('the stalled stream to be closed', async () => (server.proxies().length === 0 ? true : undefined), 5000);
    await waitFor('the peer to see its stream closed', async () => (closed || stream.destroyed || session.destroyed ? true : undefined), 5000);
    expect(await counter(server, 'meshplane_xds_stalled_streams_total')).toMatch(/meshplane_xds_stalled_streams_total 1\b/);
    // 20 snapshots of ~500 KB were built, but nothing piled up per stream.
    collect();
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(64 * 1024 * 1024);
    session.destroy();
  });
});

describe('a slow proxy that keeps reading', () => {
  const cache = new SnapshotCache();
  // Each ~90 KB response takes several stall timeouts to trickle through.
  const server = new XdsServer(cache, pino({ level: 'silent' }), { stallTimeoutMs: 500 });
  const set = (g: number) => cache.setAll(new Map([['gateway:ns/trickle', bigSnapshot(g, 500)]]));
  let port: number;

  beforeAll(async () => {
    set(0);
    port = await server.listen('127.0.0.1', 0);
  });
  afterAll(() => server.close(500));

  it('is never closed and converges on every change', async () => {
    const { session, stream, send } = rawAds(port, { initialWindowSize: 1024 });
    stream.pause();
    let closed = false;
    stream.on('close', () => (closed = true));
    // Read 1 KiB every 20 ms (~50 KB/s), decode gRPC frames, ACK each response.
    let buf = Buffer.alloc(0);
    const responses: Array<{ versionInfo: string; nonce: string; readMs: number }> = [];
    let firstByteAt = 0;
    const reader = setInterval(() => {
      const chunk: Buffer | null = stream.read(1024) ?? stream.read();
      if (!chunk) return;
      if (buf.length === 0) firstByteAt = performance.now();
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 5 && buf.length >= 5 + buf.readUInt32BE(1)) {
        const len = buf.readUInt32BE(1);
        const r = Res.decode(buf.subarray(5, 5 + len)) as unknown as { versionInfo: string; nonce: string };
        buf = buf.subarray(5 + len);
        responses.push({ versionInfo: r.versionInfo, nonce: r.nonce, readMs: performance.now() - firstByteAt });
        send({ typeUrl: typeUrl('cluster'), versionInfo: r.versionInfo, responseNonce: r.nonce });
      }
    }, 20);
    try {
      send({ node: { id: 'trickle', cluster: 'ns/trickle' }, typeUrl: typeUrl('cluster') });
      await waitFor('the first response to trickle in', () => (responses.length >= 1 ? true : undefined), 30_000);
      set(1);
      await waitFor('the second response to trickle in', () => (responses.length >= 2 ? true : undefined), 30_000);
      const want = cache.get('gateway:ns/trickle')!.cluster.version;
      await waitFor('the proxy to ACK the latest version', () => (server.proxies()[0]?.types.cluster?.acked === want ? true : undefined), 10_000);
      // Reading each response took longer than the stall timeout, yet nothing was closed.
      expect(Math.max(...responses.map((r) => r.readMs))).toBeGreaterThan(500);
      expect(closed).toBe(false);
      expect(server.proxies()).toHaveLength(1);
      expect(await counter(server, 'meshplane_xds_stalled_streams_total')).toMatch(/meshplane_xds_stalled_streams_total 0\b/);
    } finally {
      clearInterval(reader);
      session.destroy();
    }
  });
});
