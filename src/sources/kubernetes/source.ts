// Kubernetes source: informers on one cluster (kubeconfig context) feed the
// same consistent, debounced resource sets as the file source. Nothing is
// emitted before the initial list of every kind is in; a bad object becomes a
// rejection with its field paths while its last valid version stays served.
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { Observable } from 'rxjs';
import type { RejectedResource } from '../../core/index.js';
import type { Resource } from '../../resources/schema.js';
import type { Diagnostic, ResourceSet } from '../file.js';
import { KubeHttp, type KubeObject } from './client.js';
import { KindInformer, type WatchEventType } from './informers.js';
import { BUILT_IN_KINDS, KUBE_KINDS, type KubeKind } from './kinds.js';
import { convert, objectKey, type Converted } from './objects.js';

export interface ClusterSourceOptions {
  /** The cluster name resources are stamped with (Resource.cluster). */
  cluster: string;
  kc: KubeConfig;
  /** The management cluster holds the Gloo config; workload clusters only Kubernetes kinds. */
  management: boolean;
  log: Logger;
  debounceMs?: number;
  maxDelayMs?: number;
  backoff?: { initialMs: number; maxMs: number };
  /** Called for each watch restart (metrics). */
  onRestart?: (kind: string, err: string) => void;
}

interface Entry {
  kind: KubeKind;
  /** The object as last received (status and generation are read by the status writer). */
  raw: KubeObject;
  converted: Converted;
  /** What is served for this key: the current version, or the last valid one. */
  served?: Resource;
}

export class ClusterSource {
  readonly cluster: string;
  readonly kinds: readonly KubeKind[];
  readonly http: KubeHttp;
  private readonly entries = new Map<string, Entry>();
  private readonly informers: KindInformer[];
  private readonly listeners = new Set<() => void>();
  private readonly syncWaiters: Array<() => void> = [];

  constructor(private readonly o: ClusterSourceOptions) {
    this.cluster = o.cluster;
    this.kinds = o.management ? KUBE_KINDS : BUILT_IN_KINDS;
    this.http = new KubeHttp(o.kc);
    this.informers = this.kinds.map(
      (kind) =>
        new KindInformer({
          kc: o.kc,
          http: this.http,
          kind,
          cluster: o.cluster,
          log: o.log,
          backoff: o.backoff,
          onEvent: (type, obj) => this.apply(kind, type, obj),
          onSynced: () => this.checkSynced(),
          onRestart: (err) => o.onRestart?.(kind.kind, err),
        }),
    );
  }

  get management(): boolean {
    return this.o.management;
  }

  start(): void {
    for (const i of this.informers) i.start();
  }

  async stop(): Promise<void> {
    await Promise.all(this.informers.map((i) => i.stop()));
    this.http.close();
  }

  /** True once the initial list of every kind has been applied. */
  synced(): boolean {
    return this.informers.every((i) => i.synced);
  }

  /** Kinds whose watch is currently failing, with the error. */
  failing(): Array<{ kind: string; error: string }> {
    return this.informers.flatMap((i, n) => (i.lastError ? [{ kind: this.kinds[n].kind, error: i.lastError }] : []));
  }

  whenSynced(): Promise<void> {
    return this.synced() ? Promise.resolve() : new Promise((r) => this.syncWaiters.push(r));
  }

  private checkSynced(): void {
    if (!this.synced()) return;
    this.o.log.info({ cluster: this.cluster, kinds: this.kinds.length, objects: this.entries.size }, 'initial list of every kind is in');
    for (const w of this.syncWaiters.splice(0)) w();
    this.changed();
  }

  /** Subscribes to "something changed" (one call per real change). */
  onChange(l: () => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  private changed(): void {
    for (const l of this.listeners) l();
  }

  private apply(kind: KubeKind, type: WatchEventType, obj: KubeObject): void {
    const key = objectKey(kind, obj);
    if (type === 'delete') {
      if (this.entries.delete(key)) this.changed();
      return;
    }
    const prev = this.entries.get(key);
    if (prev && prev.raw.metadata.resourceVersion === obj.metadata.resourceVersion) return;
    const converted = convert(obj, kind, this.cluster);
    if (prev && prev.converted.fingerprint === converted.fingerprint) {
      prev.raw = obj; // e.g. our own status write: nothing we read changed
      return;
    }
    const served = converted.ok ? converted.resource : prev?.served;
    this.entries.set(key, { kind, raw: obj, converted, served });
    this.changed();
  }

  /** The latest object for a key ("Kind/ns/name"), as the API server sent it. */
  object(key: string): KubeObject | undefined {
    return this.entries.get(key)?.raw;
  }

  /** Keys and objects of the Gloo kinds (whose status we write). */
  *customObjects(): Iterable<[string, KubeKind, KubeObject]> {
    for (const [key, e] of this.entries) if (e.kind.custom) yield [key, e.kind, e.raw];
  }

  get size(): number {
    return this.entries.size;
  }

  /** The current consistent set: every valid object, last-good versions of invalid ones, and the rejections. */
  snapshot(): ResourceSet {
    const resources: Resource[] = [];
    const rejected: RejectedResource[] = [];
    const diagnostics: Diagnostic[] = [];
    const where = `cluster ${this.cluster}`;
    for (const [key, e] of [...this.entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      if (e.served) resources.push(e.served);
      if (e.converted.ok) continue;
      const kept = !!e.served;
      diagnostics.push({ file: where, resource: key, problems: e.converted.problems, keptPrevious: kept });
      rejected.push({
        key,
        messages: e.converted.problems.map((p) => `${p.path}: ${p.message}${kept ? ' (the last valid version is still served)' : ''}`),
      });
    }
    return { resources, rejected, diagnostics };
  }

  /**
   * Resource sets: the first once every kind is listed, then after each burst
   * of changes (quiet for debounceMs, or at most every maxDelayMs).
   */
  sets(): Observable<ResourceSet> {
    const debounceMs = this.o.debounceMs ?? 100;
    const maxDelayMs = this.o.maxDelayMs ?? 1000;
    return new Observable<ResourceSet>((subscriber) => {
      let timer: NodeJS.Timeout | undefined;
      let burstStarted: number | undefined;
      const emit = () => {
        timer = undefined;
        burstStarted = undefined;
        if (this.synced()) subscriber.next(this.snapshot());
      };
      const off = this.onChange(() => {
        if (!this.synced()) return;
        const now = Date.now();
        burstStarted ??= now;
        if (timer) clearTimeout(timer);
        timer = setTimeout(emit, Math.max(0, Math.min(debounceMs, burstStarted + maxDelayMs - now)));
      });
      if (this.synced()) emit();
      return () => {
        off();
        if (timer) clearTimeout(timer);
      };
    });
  }
}
