// The xDS gRPC server: aggregated (ADS) and per-type discovery services, each
// in state-of-the-world and delta form, on one port, plain text or mTLS.
import * as grpc from '@grpc/grpc-js';
import type protobuf from 'protobufjs';
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { gatewayKey } from '../ir/keys.js';
import type { InFlight, Rejection } from './ledger.js';
import { Metrics } from './metrics.js';
import { lookupType, TYPES, type ResourceType } from './protos.js';
import { RESOURCE_TYPES, type SnapshotCache } from './snapshot.js';
import { readAck } from './requests.js';
import { WireMessage } from './wire.js';
import { DeltaStream, SotwStream, type ProxyInfo, type ProxyStream, type StreamHost } from './stream.js';

export interface TlsFiles {
  cert: string;
  key: string;
  /** CA that signs proxies' client certificates. */
  clientCa: string;
}

export interface XdsServerOptions {
  tls?: TlsFiles;
  /** Close a stream whose proxy has not read for this long. */
  stallTimeoutMs?: number;
  metrics?: Metrics;
  /** Mesh mode: the SPIFFE ID a sidecar's snapshot key belongs to (for mTLS authorization). */
  sidecarIdentity?: (key: string) => string | undefined;
  /** Called on every ACK (for benchmarks and tests): the proxy now has this response. */
  onAck?: (proxy: ProxyStream, type: ResourceType, flight: InFlight) => void;
}

/** A rejection as the status API shows it. */
export interface ProxyRejection extends Rejection {
  node: string;
  key: string;
  type: ResourceType;
  resource: string;
}

const SERVICES: Array<{ service: string; stream: string; delta: string; types: readonly ResourceType[] }> = [
  { service: 'envoy.service.discovery.v3.AggregatedDiscoveryService', stream: 'StreamAggregatedResources', delta: 'DeltaAggregatedResources', types: RESOURCE_TYPES },
  { service: 'envoy.service.cluster.v3.ClusterDiscoveryService', stream: 'StreamClusters', delta: 'DeltaClusters', types: ['cluster'] },
  { service: 'envoy.service.endpoint.v3.EndpointDiscoveryService', stream: 'StreamEndpoints', delta: 'DeltaEndpoints', types: ['endpoint'] },
  { service: 'envoy.service.listener.v3.ListenerDiscoveryService', stream: 'StreamListeners', delta: 'DeltaListeners', types: ['listener'] },
  { service: 'envoy.service.route.v3.RouteDiscoveryService', stream: 'StreamRoutes', delta: 'DeltaRoutes', types: ['route'] },
  { service: 'envoy.service.secret.v3.SecretDiscoveryService', stream: 'StreamSecrets', delta: 'DeltaSecrets', types: ['secret'] },
];

function method(path: string, req: string, res: string): grpc.MethodDefinition<unknown, unknown> {
  const sotw = req === 'envoy.service.discovery.v3.DiscoveryRequest';
  const Req = lookupType(req);
  const Res = lookupType(res);
  return {
    path,
    requestStream: true,
    responseStream: true,
    requestSerialize: (m: unknown) => Buffer.from(Req.encode(Req.fromObject(m as object)).finish()),
    // Only a first request carries a node; the others (ACKs, mostly) are read as decoded,
    // with protobufjs's defaults on the message prototype.
    requestDeserialize: (b: Buffer) => {
      // SotW ACKs, the bulk of the traffic, without protobufjs (src/xds/requests.ts).
      const ack = sotw ? readAck(b) : undefined;
      if (ack) return ack;
      const m = Req.decode(b) as protobuf.Message & { node?: unknown };
      return m.node ? Req.toObject(m, { longs: String, enums: String, defaults: true }) : m;
    },
    // Streams write responses as bytes (src/xds/wire.ts); objects are encoded here.
    responseSerialize: (m: unknown) => (m instanceof WireMessage ? m.serialize() : Buffer.isBuffer(m) ? m : Buffer.from(Res.encode(m as object).finish())),
    responseDeserialize: (b: Buffer) => Res.toObject(Res.decode(b), { longs: String, enums: String, defaults: true }),
  };
}

export class XdsServer {
  readonly metrics: Metrics;
  private readonly server: grpc.Server;
  private readonly streams = new Set<ProxyStream>();
  private readonly rejections = new Map<string, ProxyRejection>(); // `${node}|${type}|${resource}`
  private nonce = 0;
  private readonly host: StreamHost;

  constructor(
    private readonly cache: SnapshotCache,
    private readonly log: Logger,
    private readonly opts: XdsServerOptions = {},
  ) {
    this.metrics = opts.metrics ?? new Metrics();
    this.server = new grpc.Server({
      'grpc.keepalive_time_ms': 30_000,
      'grpc.keepalive_timeout_ms': 10_000,
      'grpc.keepalive_permit_without_calls': 1,
      'grpc.http2.min_ping_interval_without_data_ms': 5_000,
      'grpc.max_receive_message_length': 16 * 1024 * 1024,
      'grpc.max_send_message_length': 64 * 1024 * 1024,
    });
    const self = this;
    this.host = {
      cache,
      log,
      metrics: this.metrics,
      tls: !!opts.tls,
      sidecarIdentity: opts.sidecarIdentity,
      stallTimeoutMs: opts.stallTimeoutMs ?? 30_000,
      nextNonce: () => String(++self.nonce),
      register: (s) => self.streams.add(s),
      unregister: (s) => self.streams.delete(s),
      reportRejected: (s, type, names, r) => {
        for (const resource of names) self.rejections.set(`${s.node!.id}|${type}|${resource}`, { ...r, node: s.node!.id, key: s.key!, type, resource });
      },
      acked: opts.onAck,
      reportAccepted: (s, type, names) => {
        for (const resource of names) self.rejections.delete(`${s.node?.id}|${type}|${resource}`);
      },
    };
    for (const svc of SERVICES) {
      const base = `/${svc.service}/`;
      this.server.addService(
        {
          [svc.stream]: method(base + svc.stream, 'envoy.service.discovery.v3.DiscoveryRequest', 'envoy.service.discovery.v3.DiscoveryResponse'),
          [svc.delta]: method(base + svc.delta, 'envoy.service.discovery.v3.DeltaDiscoveryRequest', 'envoy.service.discovery.v3.DeltaDiscoveryResponse'),
        },
        {
          [svc.stream]: (call: grpc.ServerDuplexStream<any, unknown>) => void new SotwStream(this.host, call, 'sotw', svc.types),
          [svc.delta]: (call: grpc.ServerDuplexStream<any, unknown>) => void new DeltaStream(this.host, call, 'delta', svc.types),
        },
      );
    }
  }

  async listen(address: string, port: number): Promise<number> {
    const t = this.opts.tls;
    const creds = t
      ? grpc.ServerCredentials.createSsl(readFileSync(t.clientCa), [{ cert_chain: readFileSync(t.cert), private_key: readFileSync(t.key) }], true)
      : grpc.ServerCredentials.createInsecure();
    return new Promise((resolve, reject) => this.server.bindAsync(`${address}:${port}`, creds, (err, bound) => (err ? reject(err) : resolve(bound))));
  }

  proxies(): ProxyInfo[] {
    return [...this.streams].map((s) => s.info()).sort((a, b) => (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0));
  }

  /** Resources proxies currently reject, for the status API. */
  rejected(): ProxyRejection[] {
    return [...this.rejections.values()];
  }

  /** The resources a proxy (by node id, or a snapshot key) gets, decoded to JSON. */
  configFor(nodeOrKey: string): { key: string; resources: Record<string, unknown[]> } | undefined {
    const stream = [...this.streams].find((s) => s.node?.id === nodeOrKey);
    // A node id, a snapshot key ("gateway:ns/name"), or a bare gateway "ns/name".
    const key = stream?.key ?? (this.cache.get(nodeOrKey) || !nodeOrKey.includes('/') ? nodeOrKey : gatewayKey(nodeOrKey));
    const snap = this.cache.get(key);
    if (!snap) return undefined;
    const resources: Record<string, unknown[]> = {};
    for (const t of RESOURCE_TYPES) {
      const type = lookupType(TYPES[t]);
      resources[t] = [...snap[t].resources.values()].map((r) => {
        const body = type.toObject(type.decode(r.value), { longs: String, enums: String, json: true }) as Record<string, unknown>;
        // Key material stays in the proxy's SDS stream: the debug view names the secret only (as Envoy's config_dump does).
        return t === 'secret' ? { version: r.version, name: body.name, redacted: Object.keys(body).filter((k) => k !== 'name') } : { version: r.version, ...body };
      });
    }
    return { key, resources };
  }

  /** Stops accepting, ends open streams, and waits at most `graceMs`. */
  async close(graceMs = 3000): Promise<void> {
    for (const s of this.streams) s.close();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, graceMs);
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
