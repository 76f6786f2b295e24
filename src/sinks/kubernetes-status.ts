// Writes each Gloo resource's status (state, messages, counters,
// observedGeneration, proxy ACK counts) to its status subresource: only on the
// leader, only when it differs from what the object already carries, and at
// most `qps` writes a second (a token bucket), so a big change or a failover
// never floods the API server. The object's current status comes from the
// informer, so a new leader rewrites nothing that is already right.
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import { statusWithRejections } from '../admin/server.js';
import type { CoreResult, ResourceStatus } from '../ir/types.js';
import { gatewayKey } from '../ir/keys.js';
import { KubeApiError } from '../sources/kubernetes/client.js';
import type { CrdStatus } from '../sources/kubernetes/crds.js';
import { objectPath, type KubeKind } from '../sources/kubernetes/kinds.js';
import type { ClusterSource } from '../sources/kubernetes/source.js';
import type { XdsServer } from '../xds/server.js';
import type { RolloutTracker } from '../rollout/tracker.js';

export interface StatusWriterOptions {
  source: ClusterSource;
  log: Logger;
  isLeader: () => boolean;
  xds?: XdsServer;
  /** ACK counts per resource (written as status.proxies). */
  rollout?: RolloutTracker;
  /** Sustained writes per second, and the burst allowed above it. */
  qps?: number;
  burst?: number;
  /** How often statuses are compared even without a config change (proxy ACKs, external edits). */
  resyncMs?: number;
  registry?: Registry;
}

/** Our status fields in a canonical order, so equal statuses compare equal as text. */
export function canonicalStatus(s: Partial<CrdStatus> | undefined): string {
  if (!s) return '';
  return JSON.stringify({
    state: s.state,
    messages: s.messages ?? [],
    counters: s.counters && Object.keys(s.counters).length ? Object.fromEntries(Object.entries(s.counters).sort(([a], [b]) => (a < b ? -1 : 1))) : undefined,
    observedGeneration: s.observedGeneration,
    proxies: s.proxies && {
      acked: s.proxies.acked,
      connected: s.proxies.connected,
      pending: s.proxies.pending,
      rejecting: s.proxies.rejecting,
      rejections: s.proxies.rejections?.map((r) => ({ message: r.message, proxy: r.proxy })),
    },
  });
}

interface Desired {
  kind: KubeKind;
  namespace: string;
  name: string;
  status: CrdStatus;
}

export class StatusWriter {
  private core?: CoreResult;
  /** desired() as of the last reconcile; writes read from it. */
  private latest = new Map<string, Desired>();
  private readonly pending = new Set<string>();
  /** What we last wrote per key (canonical), until the informer shows it. */
  private readonly written = new Map<string, string>();
  private tokens: number;
  private lastRefill = Date.now();
  private pumpTimer?: NodeJS.Timeout;
  private resyncTimer?: NodeJS.Timeout;
  private inFlight = 0;
  private readonly qps: number;
  private readonly burst: number;
  private readonly writes?: Counter<'result'>;
  private closed = false;

  constructor(private readonly o: StatusWriterOptions) {
    this.qps = o.qps ?? 50;
    this.burst = o.burst ?? 100;
    this.tokens = this.burst;
    if (o.registry) {
      this.writes = new Counter({ name: 'meshplane_status_writes_total', help: 'Status subresource writes, by result', labelNames: ['result'], registers: [o.registry] });
    }
    this.resyncTimer = setInterval(() => this.reconcile(), o.resyncMs ?? 5000);
    this.resyncTimer.unref();
  }

  /** The pipeline's sink: a new core result. */
  update(core: CoreResult): void {
    this.core = core;
    this.reconcile();
  }

  /** The statuses every Gloo object should carry now. */
  desired(): Map<string, Desired> {
    const out = new Map<string, Desired>();
    if (!this.core) return out;
    const statuses: Record<string, ResourceStatus> = this.o.xds ? statusWithRejections({ core: this.core, rollout: this.o.rollout }, this.o.xds) : this.core.status;
    for (const [key, kind, obj] of this.o.source.customObjects()) {
      const s = statuses[key];
      if (!s) continue;
      const status: CrdStatus = { state: s.state, messages: s.messages, ...(s.counters ? { counters: s.counters } : {}), observedGeneration: obj.metadata.generation ?? 0 };
      // ACK counts of the proxies built from it; a gateway says so even when none is connected.
      if (s.proxies) status.proxies = s.proxies;
      else if (kind.kind === 'VirtualGateway' && this.o.xds) status.proxies = { connected: 0, acked: 0, rejecting: 0 };
      out.set(key, { kind, namespace: obj.metadata.namespace ?? '', name: obj.metadata.name, status });
    }
    return out;
  }

  /** Queues every object whose status differs from what it should be. */
  reconcile(): void {
    if (this.closed || !this.o.isLeader() || !this.core) return;
    this.latest = this.desired();
    for (const [key, d] of this.latest) {
      const want = canonicalStatus(d.status);
      const have = canonicalStatus(this.o.source.object(key)?.status as Partial<CrdStatus> | undefined);
      if (want === have) {
        this.written.delete(key);
        continue;
      }
      if (this.written.get(key) === want) continue; // written; the watch event is on its way
      this.pending.add(key);
    }
    this.pump();
  }

  private pump(): void {
    if (this.pumpTimer || this.closed) return;
    const now = Date.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.lastRefill) / 1000) * this.qps);
    this.lastRefill = now;
    while (this.pending.size && this.tokens >= 1 && this.inFlight < 8) {
      if (!this.o.isLeader()) {
        this.pending.clear();
        return;
      }
      const key = this.pending.values().next().value as string;
      this.pending.delete(key);
      this.tokens -= 1;
      void this.write(key);
    }
    if (this.pending.size) {
      this.pumpTimer = setTimeout(() => {
        this.pumpTimer = undefined;
        this.pump();
      }, Math.max(10, Math.ceil(1000 / this.qps)));
    }
  }

  private async write(key: string): Promise<void> {
    const d = this.latest.get(key);
    if (!d) return;
    const want = canonicalStatus(d.status);
    this.inFlight++;
    this.written.set(key, want);
    try {
      // A merge patch: absent optional fields are nulled so nothing stale stays behind.
      // A merge patch merges objects: fields we no longer write are removed by naming them null.
      const status = { counters: null, ...d.status, proxies: d.status.proxies ? { pending: null, rejections: null, ...d.status.proxies } : null };
      await this.o.source.http.request('PATCH', `${objectPath(d.kind, d.namespace, d.name)}/status`, { status }, 'application/merge-patch+json');
      this.writes?.inc({ result: 'ok' });
    } catch (err) {
      this.written.delete(key);
      if (err instanceof KubeApiError && err.statusCode === 404) {
        this.writes?.inc({ result: 'gone' });
      } else {
        this.writes?.inc({ result: 'error' });
        this.o.log.warn({ resource: key, err: (err as Error).message }, 'could not write status; retrying at the next resync');
      }
    } finally {
      this.inFlight--;
      if (this.pending.size) this.pump();
    }
  }

  close(): void {
    this.closed = true;
    if (this.pumpTimer) clearTimeout(this.pumpTimer);
    if (this.resyncTimer) clearInterval(this.resyncTimer);
  }
}
