// One xDS stream from one proxy: state of the world or delta, aggregated (ADS)
// or for a single type. Responses for a type go out one at a time (the next
// waits for the ACK/NACK of the last), in the order of RESOURCE_TYPES.
import * as grpc from '@grpc/grpc-js';
import { constants as http2 } from 'node:http2';
import type { PeerCertificate } from 'node:tls';
import type { Logger } from 'pino';
import { authorize, nodeInfo, proxyKey, proxyRole, type NodeInfo } from './identity.js';
import { TypeLedger, type InFlight, type Rejection } from './ledger.js';
import type { Metrics } from './metrics.js';
import { StallWatchdog } from './watchdog.js';
import { typeUrl, type ResourceType } from './protos.js';
import { changesSince, RESOURCE_TYPES, sotwView, typeOfUrl, viewOf, work, type EncodedResource, type SnapshotCache, type SotwView, type TypeSnapshot } from './snapshot.js';
import { deltaResponse, sotwResponse } from './wire.js';

export type Protocol = 'sotw' | 'delta';

export interface StreamHost {
  cache: SnapshotCache;
  log: Logger;
  metrics: Metrics;
  tls: boolean;
  /** Mesh mode: the SPIFFE ID a sidecar's snapshot key belongs to. */
  sidecarIdentity?: (key: string) => string | undefined;
  stallTimeoutMs: number;
  nextNonce(): string;
  register(s: ProxyStream): void;
  unregister(s: ProxyStream): void;
  /** A proxy rejected (names) or accepted (names) resources of a type. */
  reportRejected(s: ProxyStream, type: ResourceType, names: string[], rejection: Rejection): void;
  reportAccepted(s: ProxyStream, type: ResourceType, names: string[]): void;
  acked?(s: ProxyStream, type: ResourceType, flight: InFlight): void;
}

export interface ProxyInfo {
  nodeId: string;
  key: string;
  role: string;
  protocol: Protocol;
  connectedAt: string;
  types: Partial<Record<ResourceType, { sent?: string; acked?: string; nack?: { version: string; message: string; names: string[] }; rejected?: string[]; ackedRevision?: number }>>;
}

type AnyCall = grpc.ServerDuplexStream<Record<string, any>, unknown>;

export abstract class ProxyStream {
  readonly ledgers = new Map<ResourceType, TypeLedger>(RESOURCE_TYPES.map((t) => [t, new TypeLedger()]));
  node?: NodeInfo;
  key?: string;
  readonly connectedAt = new Date().toISOString();
  protected log: Logger;
  private blocked = false;
  private readonly watchdog: StallWatchdog;
  private closed = false;
  private unsubscribe?: () => void;
  private warnedMissing = false;
  private readonly pushCounters: Partial<Record<ResourceType, { inc(): void }>> = {};

  constructor(
    protected readonly host: StreamHost,
    protected readonly call: AnyCall,
    readonly protocol: Protocol,
    /** The types this stream may carry: all for ADS, one for a per-type service. */
    private readonly allowed: readonly ResourceType[],
  ) {
    this.log = host.log;
    this.watchdog = new StallWatchdog(host.stallTimeoutMs, () => this.rawStream()?.session, (idleMs) => this.stalled(idleMs));
    call.on('data', (req) => {
      try {
        this.onRequest(req);
      } catch (err) {
        this.log.error({ err: (err as Error).message }, 'could not handle a discovery request');
      }
    });
    call.on('drain', () => {
      if (!this.blocked) return;
      this.blocked = false;
      this.pushAll();
    });
    const cleanup = () => this.cleanup();
    call.on('end', () => {
      cleanup();
      call.end();
    });
    call.on('cancelled', cleanup);
    call.on('error', cleanup);
    call.on('close', cleanup);
  }

  /** First message: who is this, which snapshot, and may it have it. */
  protected identify(rawNode: unknown): boolean {
    const node = nodeInfo(rawNode as Parameters<typeof nodeInfo>[0]);
    const key = node && proxyKey(node);
    if (!node || !key) {
      this.host.metrics.refused.inc({ reason: 'no_identity' });
      this.refuse(grpc.status.INVALID_ARGUMENT, 'node.metadata.gateway (or node.cluster) must name a VirtualGateway "namespace/name"; a proxyless client sets metadata.role=proxyless and metadata.workspace; a sidecar sets metadata.role=sidecar, metadata.namespace and metadata.name (its Pod)');
      return false;
    }
    const cert: PeerCertificate | undefined = this.call.getAuthContext?.()?.sslPeerCertificate;
    const auth = authorize(key, this.host.tls, cert, this.host.sidecarIdentity);
    if (!auth.ok) {
      this.host.metrics.refused.inc({ reason: 'permission_denied' });
      this.host.log.warn({ node: node.id, key, reason: auth.reason }, 'refused an xDS stream');
      this.refuse(grpc.status.PERMISSION_DENIED, `not authorized for ${key}: ${auth.reason}`);
      return false;
    }
    this.node = node;
    this.key = key;
    this.log = this.host.log.child({ node: node.id, key, protocol: this.protocol });
    this.host.register(this);
    this.host.metrics.connected.inc({ role: proxyRole(node), protocol: this.protocol });
    this.log.info('proxy connected');
    this.unsubscribe = this.host.cache.subscribeKey(key, () => this.pushAll());
    return true;
  }

  private refuse(code: grpc.status, details: string): void {
    this.closed = true;
    this.call.emit('error', { code, details });
  }

  protected typeOf(url: string): ResourceType | undefined {
    const type = typeOfUrl(url);
    if (!type || !this.allowed.includes(type)) {
      this.log.warn({ typeUrl: url }, 'request for a type this stream does not serve; ignored');
      return undefined;
    }
    return type;
  }

  pushAll(): void {
    for (const t of RESOURCE_TYPES) if (this.allowed.includes(t)) this.push(t);
  }

  protected canSend(type: ResourceType): TypeLedger | undefined {
    const st = this.ledgers.get(type)!;
    if (!this.key || this.closed || this.blocked || !st.subscribed || st.inFlight) return undefined;
    return st;
  }

  /**
   * What the proxy should have of a type: the resources it subscribes to,
   * with rejected content replaced by what it accepted.
   */
  protected desired(st: TypeLedger, ts: TypeSnapshot): EncodedResource[] {
    const resources: EncodedResource[] = [];
    const candidates = st.wildcard ? ts.resources.values() : [...st.names].sort().map((n) => ts.resources.get(n)).filter((r) => r !== undefined);
    for (const r of candidates) {
      const e = st.effective(r);
      if (e) resources.push(e);
    }
    return resources;
  }

  protected snapshotFor(type: ResourceType) {
    const snap = this.host.cache.get(this.key!);
    if (!snap) {
      if (!this.warnedMissing) this.log.warn('no configuration for this proxy yet: its node must name an existing VirtualGateway "namespace/name"');
      this.warnedMissing = true;
      return undefined;
    }
    return snap[type];
  }

  /** The HTTP/2 stream under the grpc-js call (behind its interceptor chain). */
  private rawStream(): { destroyed: boolean; session?: { socket?: { bytesWritten?: number } | null }; close(code: number): void } | undefined {
    let c: any = (this.call as any).call;
    while (c && !c.stream) c = c.nextCall;
    return c?.stream;
  }

  /**
   * Writes a response. grpc-js signals backpressure only after 16 queued
   * messages, so the watchdog also follows each write until it is flushed.
   */
  protected write(type: ResourceType, message: unknown): void {
    (this.pushCounters[type] ??= this.host.metrics.pushes.labels(type, this.protocol)).inc();
    if (!this.call.write(message, this.watchdog.writing())) this.blocked = true;
  }

  /** The proxy read nothing for the whole stall timeout while data waited for it. */
  private stalled(idleMs: number): void {
    if (this.closed) return;
    this.host.metrics.stalled.inc();
    this.log.warn({ timeoutMs: this.host.stallTimeoutMs, idleMs: Math.round(idleMs) }, 'proxy stopped reading its xDS stream; closing it');
    // Trailers cannot reach a peer that does not read: reset the HTTP/2 stream.
    const raw = this.rawStream();
    if (raw && !raw.destroyed) raw.close(http2.NGHTTP2_CANCEL);
    else this.call.destroy();
    this.cleanup();
  }

  protected handleAck(type: ResourceType, st: TypeLedger, nonce: string, version: string, error: { code?: number; message?: string } | undefined): boolean {
    this.watchdog.progress(); // an answer, even a stale one, means the proxy reads
    if (!st.inFlight || nonce !== st.inFlight.nonce) return false; // stale
    if (error && (error.code || error.message)) {
      const { flight, names } = st.nack(error.message ?? '');
      this.host.metrics.nacks.inc({ type });
      this.log.error({ type, rejectedVersion: flight?.version, resources: names, error: error.message }, 'proxy rejected configuration (NACK); it keeps its last accepted version of those resources');
      if (st.lastNack) this.host.reportRejected(this, type, names, st.lastNack);
    } else {
      const flight = st.ack(version, this.protocol === 'sotw');
      if (flight) {
        this.host.metrics.pushLatency.labels(type).observe(Math.max(0, performance.now() - flight.since) / 1000);
        const resolved = st.takeResolved();
        if (resolved.length) this.host.reportAccepted(this, type, resolved);
        this.host.acked?.(this, type, flight);
      }
      if (this.log.isLevelEnabled('debug')) this.log.debug({ type, version }, 'ACK');
    }
    return true;
  }

  protected startFlight(st: TypeLedger, f: Omit<InFlight, 'nonce' | 'subscription'>): string {
    const nonce = this.host.nextNonce();
    st.inFlight = { ...f, nonce, subscription: st.subscription };
    st.lastNonce = nonce;
    st.sentVersion = f.version;
    st.force = false;
    return nonce;
  }

  abstract onRequest(req: Record<string, any>): void;
  abstract push(type: ResourceType): void;

  info(): ProxyInfo {
    const types: ProxyInfo['types'] = {};
    for (const [t, st] of this.ledgers) {
      if (!st.subscribed) continue;
      types[t] = {
        ...(st.sentVersion ? { sent: st.sentVersion } : {}),
        ...(st.ackedVersion ? { acked: st.ackedVersion } : {}),
        ...(st.lastNack ? { nack: { version: st.lastNack.version, message: st.lastNack.message, names: st.lastNack.names } } : {}),
        ...(st.rejected.size ? { rejected: [...st.rejected.keys()].sort() } : {}),
        // The cache revision the ACKed snapshot was current through: the proxy has every change made up to it.
        ...(st.syncedSnapshot()?.currentThrough !== undefined ? { ackedRevision: st.syncedSnapshot()!.currentThrough } : {}),
      };
    }
    return { nodeId: this.node?.id ?? '', key: this.key ?? '', role: this.node ? proxyRole(this.node) : '', protocol: this.protocol, connectedAt: this.connectedAt, types };
  }

  close(): void {
    if (!this.closed) this.call.end();
    this.cleanup();
  }

  private cleanup(): void {
    this.watchdog.stop();
    if (this.unsubscribe === undefined && this.closed) return;
    this.closed = true;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    if (this.node && this.key) {
      this.host.unregister(this);
      this.host.metrics.connected.dec({ role: proxyRole(this.node), protocol: this.protocol });
      this.log.info('proxy disconnected');
      this.node = undefined;
    }
  }
}

export class SotwStream extends ProxyStream {
  onRequest(req: Record<string, any>): void {
    if (!this.key && !this.identify(req.node)) return;
    const type = this.typeOf(req.typeUrl);
    if (!type) return;
    const st = this.ledgers.get(type)!;
    // A request quoting the last response, already ACKed, still changes the subscription
    // (Envoy asks for a new SDS secret that way when a listener starts using it).
    if (req.responseNonce && !this.handleAck(type, st, req.responseNonce, req.versionInfo, req.errorDetail) && req.responseNonce !== st.lastNonce) return;
    st.subscribed = true;
    st.setSotwSubscription(req.namesKey, () => req.resourceNames ?? []);
    this.push(type);
  }

  push(type: ResourceType): void {
    const st = this.canSend(type);
    const ts = st && this.snapshotFor(type);
    if (!st || !ts || (!st.force && st.isSynced(ts))) return;
    // Streams with the same subscription share one view; rejections make a stream's own.
    const shared = sotwView(ts, st.subscriptionKey, () => st.names);
    const view: SotwView = st.rejected.size === 0 ? shared : viewOf(shared.resources.map((r) => st.effective(r)).filter((r) => r !== undefined));
    // After a NACK the proxy kept its accepted set: nothing to send if that is what we would send.
    const proxyHas = st.lastNack ? st.ackedVersion : st.sentVersion;
    if (!st.force && view.version === proxyHas) {
      st.markSynced(ts);
      return;
    }
    // The version names exactly what is sent (it covers names and content).
    const nonce = this.startFlight(st, { resources: view.resources, removed: [], version: view.version, snapshotVersion: ts.version, since: ts.since, snapshot: ts });
    this.write(type, sotwResponse(view.version, view.block, typeUrl(type), nonce));
    if (this.log.isLevelEnabled('debug')) this.log.debug({ type, version: view.version, nonce, count: view.resources.length }, 'sent');
    // A new cluster or listener set makes Envoy wait for EDS/RDS: follow up at once.
    if (type === 'cluster') this.ledgers.get('endpoint')!.force = true;
    if (type === 'listener') this.ledgers.get('route')!.force = true;
  }
}

export class DeltaStream extends ProxyStream {
  /** Named resources we already told the proxy do not exist. */
  private readonly toldMissing = new Map<ResourceType, Set<string>>();

  onRequest(req: Record<string, any>): void {
    if (!this.key && !this.identify(req.node)) return;
    const type = this.typeOf(req.typeUrl);
    if (!type) return;
    const st = this.ledgers.get(type)!;
    // A stale nonce only voids the ACK part; subscription changes still count.
    if (req.responseNonce) this.handleAck(type, st, req.responseNonce, '', req.errorDetail);
    const subscribe: string[] = req.resourceNamesSubscribe ?? [];
    const unsubscribe: string[] = req.resourceNamesUnsubscribe ?? [];
    const missing = this.toldMissing.get(type) ?? new Set<string>();
    this.toldMissing.set(type, missing);
    if (!st.subscribed || subscribe.length || unsubscribe.length) st.subscriptionChanged();
    if (!st.subscribed) {
      st.subscribed = true;
      st.wildcard = subscribe.length === 0 || subscribe.includes('*');
      // On reconnect the proxy says what it has: send only what differs.
      for (const [name, version] of Object.entries((req.initialResourceVersions ?? {}) as Record<string, string>)) st.known.set(name, version);
    } else if (subscribe.includes('*')) st.wildcard = true;
    for (const n of subscribe) {
      if (n === '*') continue;
      // A repeated subscription asks for the resource again.
      if (st.names.has(n)) st.known.delete(n);
      st.names.add(n);
      missing.delete(n);
    }
    for (const n of unsubscribe) {
      if (n === '*') st.wildcard = false;
      else {
        st.names.delete(n);
        st.known.delete(n);
        missing.delete(n);
      }
    }
    this.push(type);
  }

  push(type: ResourceType): void {
    const st = this.canSend(type);
    const ts = st && this.snapshotFor(type);
    if (!st || !ts || st.isSynced(ts)) return;
    const { send, removed } = this.changesFor(type, st, ts);
    st.force = false;
    if (send.length === 0 && removed.length === 0) {
      st.markSynced(ts);
      return;
    }
    const nonce = this.startFlight(st, { resources: send, removed, version: ts.version, snapshotVersion: ts.version, since: ts.since, snapshot: ts });
    this.write(type, deltaResponse(ts.version, send, typeUrl(type), nonce, removed));
    if (this.log.isLevelEnabled('debug')) this.log.debug({ type, nonce, sent: send.length, removed: removed.length }, 'sent');
  }

  /** What to send and what to remove: from the snapshot's own change list when the proxy is one snapshot behind, else by comparing everything. */
  private changesFor(type: ResourceType, st: TypeLedger, ts: TypeSnapshot): { send: EncodedResource[]; removed: string[] } {
    const from = st.rejected.size === 0 ? st.syncedSnapshot() : undefined;
    const diff = from && changesSince(ts, from);
    if (diff) {
      const send = diff.changed.filter((r) => st.wants(r.name) && st.known.get(r.name) !== r.version);
      const removed = diff.removed.filter((n) => st.wants(n) && st.known.has(n));
      return { send, removed };
    }
    work.fullComparisons++;
    const send = this.desired(st, ts).filter((r) => st.known.get(r.name) !== r.version);
    const removed: string[] = [];
    for (const name of st.known.keys()) if (!ts.resources.has(name) && st.wants(name)) removed.push(name);
    const missing = this.toldMissing.get(type) ?? new Set<string>();
    for (const name of st.names) {
      if (!ts.resources.has(name) && !st.known.has(name) && !missing.has(name)) {
        removed.push(name);
        missing.add(name);
      }
    }
    this.toldMissing.set(type, missing);
    return { send, removed };
  }
}
