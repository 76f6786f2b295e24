// State-of-the-world Aggregated Discovery Service over gRPC.
//
// Per stream and type we keep what was sent and whether it is still waiting
// for an ACK/NACK. A type is pushed only when nothing is in flight for it and
// its version or subscription changed, so a NACKed version is never re-sent:
// the proxy keeps its last accepted config until the next real change.
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { lookupType, typeUrl, type ResourceType } from './protos.js';
import { RESOURCE_TYPES, typeOfUrl, type SnapshotCache } from './snapshot.js';

const ADS_SERVICE = '/envoy.service.discovery.v3.AggregatedDiscoveryService/';

interface DiscoveryRequest {
  versionInfo: string;
  node?: { id?: string; cluster?: string; metadata?: { fields?: Record<string, { stringValue?: string }> } };
  resourceNames: string[];
  typeUrl: string;
  responseNonce: string;
  errorDetail?: { code?: number; message?: string };
}

interface TypeState {
  subscribed: boolean;
  /** null = wildcard (every resource of the type). */
  names: Set<string> | null;
  sentVersion?: string;
  sentNames?: string;
  pendingNonce?: string;
  ackedVersion?: string;
  nack?: { version: string; message: string };
  /** Re-send even if unchanged (EDS after CDS, RDS after LDS: warming needs it). */
  force: boolean;
}

export interface ProxyInfo {
  nodeId: string;
  key: string;
  connectedAt: string;
  types: Partial<Record<ResourceType, { sent?: string; acked?: string; nack?: { version: string; message: string } }>>;
}

/** Which snapshot a proxy gets: metadata `gateway` ("ns/name"), else its node cluster. */
export function proxyKey(node: DiscoveryRequest['node']): string | undefined {
  return node?.metadata?.fields?.gateway?.stringValue || node?.cluster || undefined;
}

export class AdsServer {
  private readonly server = new grpc.Server({
    'grpc.keepalive_time_ms': 30_000,
    'grpc.keepalive_timeout_ms': 10_000,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.max_receive_message_length': 16 * 1024 * 1024,
  });
  private readonly streams = new Set<ProxyInfo>();
  private nonceCounter = 0;
  private readonly reqType = lookupType('envoy.service.discovery.v3.DiscoveryRequest');
  private readonly resType = lookupType('envoy.service.discovery.v3.DiscoveryResponse');
  private readonly activeCalls = new Set<grpc.ServerDuplexStream<DiscoveryRequest, unknown>>();

  constructor(
    private readonly cache: SnapshotCache,
    private readonly log: Logger,
  ) {
    const reqType = this.reqType;
    const resType = this.resType;
    const definition: grpc.ServiceDefinition = {
      StreamAggregatedResources: {
        path: ADS_SERVICE + 'StreamAggregatedResources',
        requestStream: true,
        responseStream: true,
        requestSerialize: (m: unknown) => Buffer.from(reqType.encode(reqType.fromObject(m as object)).finish()),
        requestDeserialize: (b: Buffer) => reqType.toObject(reqType.decode(b), { longs: String, enums: String, defaults: true }),
        responseSerialize: (m: unknown) => Buffer.from(resType.encode(m as object).finish()),
        responseDeserialize: (b: Buffer) => resType.toObject(resType.decode(b), { longs: String, enums: String, defaults: true }),
      },
    };
    this.server.addService(definition, {
      StreamAggregatedResources: (call: grpc.ServerDuplexStream<DiscoveryRequest, unknown>) => this.handleStream(call),
    });
  }

  async listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound)));
    });
  }

  proxies(): ProxyInfo[] {
    return [...this.streams];
  }

  /** Stops accepting, ends open streams, and waits at most `graceMs`. */
  async close(graceMs = 3000): Promise<void> {
    for (const call of this.activeCalls) call.end();
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

  private handleStream(call: grpc.ServerDuplexStream<DiscoveryRequest, unknown>): void {
    this.activeCalls.add(call);
    const types = new Map<ResourceType, TypeState>(RESOURCE_TYPES.map((t) => [t, { subscribed: false, names: null, force: false }]));
    let info: ProxyInfo | undefined;
    let log = this.log;
    let unsubscribe: (() => void) | undefined;
    let warnedMissing = false;
    let closed = false;

    const send = (type: ResourceType) => {
      const st = types.get(type)!;
      if (!info || closed || !st.subscribed || st.pendingNonce) return;
      const snap = this.cache.get(info.key);
      if (!snap) {
        if (!warnedMissing) log.warn({ key: info.key }, 'no configuration for this proxy yet: set node metadata "gateway" (or node cluster) to a VirtualGateway "namespace/name"');
        warnedMissing = true;
        return;
      }
      const ts = snap[type];
      const resources = [...ts.resources.values()].filter((r) => st.names === null || st.names.has(r.name));
      const namesKey = resources.map((r) => r.name).join('\0');
      if (!st.force && st.sentVersion === ts.version && st.sentNames === namesKey) return;
      const nonce = String(++this.nonceCounter);
      st.pendingNonce = nonce;
      st.sentVersion = ts.version;
      st.sentNames = namesKey;
      st.force = false;
      info.types[type] = { ...info.types[type], sent: ts.version };
      call.write({ versionInfo: ts.version, typeUrl: typeUrl(type), nonce, resources: resources.map((r) => ({ type_url: r.typeUrl, value: r.value })) }); // protobufjs's bundled Any keeps snake_case field names
      log.debug({ type, version: ts.version, nonce, count: resources.length }, 'sent');
      // A new cluster or listener set makes Envoy wait for EDS/RDS: follow up at once.
      if (type === 'cluster') types.get('endpoint')!.force = true;
      if (type === 'listener') types.get('route')!.force = true;
    };
    const pushAll = () => RESOURCE_TYPES.forEach(send);

    call.on('data', (req: DiscoveryRequest) => {
      const type = typeOfUrl(req.typeUrl);
      if (!info) {
        const key = proxyKey(req.node);
        const nodeId = req.node?.id ?? '(none)';
        if (!key) {
          this.log.warn({ nodeId }, 'proxy sent no node cluster or gateway metadata; closing its stream');
          call.emit('error', { code: grpc.status.INVALID_ARGUMENT, details: 'node.cluster or node.metadata.gateway is required' });
          return;
        }
        info = { nodeId, key, connectedAt: new Date().toISOString(), types: {} };
        log = this.log.child({ node: nodeId, key });
        this.streams.add(info);
        log.info('proxy connected');
        unsubscribe = this.cache.subscribe((k) => {
          if (k === info!.key) pushAll();
        });
      }
      if (!type) {
        log.warn({ typeUrl: req.typeUrl }, 'request for an unsupported type; ignored');
        return;
      }
      const st = types.get(type)!;
      if (req.responseNonce) {
        if (req.responseNonce !== st.pendingNonce) return; // stale: an older response's ACK/NACK
        st.pendingNonce = undefined;
        if (req.errorDetail && (req.errorDetail.code || req.errorDetail.message)) {
          st.nack = { version: st.sentVersion ?? '', message: req.errorDetail.message ?? '' };
          info.types[type] = { ...info.types[type], nack: st.nack };
          log.error({ type, rejectedVersion: st.sentVersion, keptVersion: req.versionInfo || null, error: req.errorDetail.message }, 'proxy rejected configuration (NACK); it keeps its last accepted version');
        } else {
          st.ackedVersion = req.versionInfo;
          st.nack = undefined;
          info.types[type] = { ...info.types[type], acked: req.versionInfo, nack: undefined };
          log.debug({ type, version: req.versionInfo }, 'ACK');
        }
      }
      st.subscribed = true;
      const wildcard = req.resourceNames.length === 0 || req.resourceNames.includes('*');
      st.names = wildcard ? null : new Set(req.resourceNames);
      send(type);
    });

    const cleanup = () => {
      if (closed) return;
      closed = true;
      unsubscribe?.();
      this.activeCalls.delete(call);
      if (info) {
        this.streams.delete(info);
        log.info('proxy disconnected');
      }
    };
    call.on('end', () => {
      cleanup();
      call.end();
    });
    call.on('cancelled', cleanup);
    call.on('error', cleanup);
    call.on('close', cleanup);
  }
}
