// One informer per kind (client-node's list+watch cache). The client re-lists
// on 410 Gone and re-watches after a normal end, but stops on any other error:
// we restart it with exponential backoff. A restart resumes the watch from the
// last resourceVersion, so nothing is re-listed (and nothing re-emitted)
// unless the API server says that version is too old.
import { makeInformer, type Informer, type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { KubeHttp, KubeObject } from './client.js';
import { collectionPath, type KubeKind } from './kinds.js';

export type WatchEventType = 'add' | 'update' | 'delete';

export interface KindInformerOptions {
  kc: KubeConfig;
  http: KubeHttp;
  kind: KubeKind;
  cluster: string;
  log: Logger;
  onEvent(type: WatchEventType, obj: KubeObject): void;
  /** The initial list of this kind has been applied (called once). */
  onSynced(): void;
  onRestart?(err: string): void;
  backoff?: { initialMs: number; maxMs: number };
}

export class KindInformer {
  private readonly informer: Informer<KubeObject>;
  private readonly backoff: { initialMs: number; maxMs: number };
  /** Restarts so far, and the last one that failed: lastError ends when a later one is up. */
  private attempt = 0;
  private failedAttempt = -1;
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private delayMs: number;
  private startedAt = 0;
  synced = false;
  lastError?: string;

  constructor(private readonly o: KindInformerOptions) {
    const { kind, http } = o;
    this.backoff = o.backoff ?? { initialMs: 250, maxMs: 5_000 };
    this.delayMs = this.backoff.initialMs;
    const listFn = async () => {
      const list = await http.list(collectionPath(kind), kind.apiVersion, kind.kind);
      // A list that succeeds ends a failure, whatever late error events of the failed attempt say.
      this.recovered();
      if (!this.synced) setImmediate(() => this.markSynced()); // after the informer applied the items
      return list as never;
    };
    // The API server ends each watch after timeoutSeconds (5-10 min, spread like client-go's
    // reflector does); the informer then re-watches from its resourceVersion. No stream lives for ever.
    const timeoutSeconds = 300 + Math.floor(Math.random() * 300);
    this.informer = makeInformer(o.kc, `${collectionPath(kind)}?timeoutSeconds=${timeoutSeconds}`, listFn) as unknown as Informer<KubeObject>;
    this.informer.on('add', (obj) => o.onEvent('add', withType(obj, kind)));
    this.informer.on('update', (obj) => o.onEvent('update', withType(obj, kind)));
    this.informer.on('delete', (obj) => o.onEvent('delete', withType(obj, kind)));
    this.informer.on('error', (err: unknown) => this.failed(err));
  }

  /** The watch is up again (a list succeeded, or a restart's watch was established). */
  private recovered(): void {
    if (this.lastError === undefined) return;
    this.lastError = undefined;
    this.o.log.info({ cluster: this.o.cluster, kind: this.o.kind.kind }, `watching ${this.o.kind.plural} again`);
  }

  private failed(err: unknown): void {
    if (this.stopped) return;
    this.failedAttempt = this.attempt;
    const { o } = this;
    const msg = describe(err);
    // A watch that stayed up a while starts the backoff over.
    if (Date.now() - this.startedAt > 30_000) this.delayMs = this.backoff.initialMs;
    const first = this.lastError === undefined;
    this.lastError = msg;
    o.onRestart?.(msg);
    (first ? o.log.warn : o.log.debug).call(o.log, { cluster: o.cluster, kind: o.kind.kind, err: msg, retryInMs: this.delayMs }, `watch of ${o.kind.plural} failed; retrying with backoff (the last known objects are still served)`);
    if (this.timer) clearTimeout(this.timer);
    // Jitter, so many informers (and replicas) do not retry in lockstep.
    this.timer = setTimeout(() => this.run(), this.delayMs * (0.75 + Math.random() * 0.5));
    this.delayMs = Math.min(this.delayMs * 2, this.backoff.maxMs);
  }

  private markSynced(): void {
    if (this.synced) return;
    this.synced = true;
    this.o.onSynced();
  }

  private run(): void {
    if (this.stopped) return;
    this.timer = undefined;
    this.startedAt = Date.now();
    const attempt = ++this.attempt;
    // A restart with a resourceVersion watches without listing: start() resolving with no
    // failure in this attempt means the watch was established (a failed one reports first).
    this.informer.start().then(
      () => void (!this.stopped && attempt === this.attempt && this.failedAttempt !== attempt && this.recovered()),
      (err: unknown) => this.failed(err),
    );
  }

  start(): void {
    this.stopped = false;
    this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.informer.stop();
  }
}

const withType = (obj: KubeObject, k: KubeKind): KubeObject => (obj.kind && obj.apiVersion ? obj : { ...obj, apiVersion: k.apiVersion, kind: k.kind });

function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { statusCode?: number; code?: string | number }).statusCode ?? (err as { code?: string | number }).code;
    return code !== undefined ? `${err.message} (${code})` : err.message;
  }
  if (err && typeof err === 'object') return JSON.stringify(err).slice(0, 300);
  return String(err);
}
