// Leader election with a coordination.k8s.io/v1 Lease, the way client-go's
// leaderelection does it: the holder renews every retry period; the others
// take over when the lease record has not changed for a lease duration *as
// they observed it* (their own clock, so clock skew between nodes does not
// matter). Takeover is an update with the observed resourceVersion, so two
// candidates can never both win. A leader that cannot renew within the renew
// deadline steps down by itself; a graceful stop releases the lease at once.
import type { Logger } from 'pino';
import { KubeApiError, type KubeHttp } from '../sources/kubernetes/client.js';

export interface LeaseElectorOptions {
  http: KubeHttp;
  namespace: string;
  name: string;
  identity: string;
  log: Logger;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  onChange?: (leader: boolean) => void;
}

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}
interface Lease {
  apiVersion: 'coordination.k8s.io/v1';
  kind: 'Lease';
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec: LeaseSpec;
}

/** RFC 3339 with microseconds, as MicroTime wants it. */
const microTime = (d: Date): string => d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

export class LeaseElector {
  private leader = false;
  private timer?: NodeJS.Timeout;
  private stopped = true;
  private lastRenew = 0;
  /** The record we last saw from another holder, and when we first saw it (our clock). */
  private observed?: { record: string; at: number };
  readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private readonly path: string;

  constructor(private readonly o: LeaseElectorOptions) {
    this.leaseDurationMs = o.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = o.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = o.retryPeriodMs ?? 2_000;
    if (!(this.renewDeadlineMs < this.leaseDurationMs && this.retryPeriodMs < this.renewDeadlineMs)) {
      throw new Error('leader election needs retry period < renew deadline < lease duration');
    }
    this.path = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(o.namespace)}/leases/${encodeURIComponent(o.name)}`;
  }

  get isLeader(): boolean {
    return this.leader;
  }

  get identity(): string {
    return this.o.identity;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    void this.tick();
  }

  /** Stops campaigning; a leader releases the lease so another replica takes over at once. */
  async stop(release = true): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.leader && release) {
      try {
        const lease = await this.o.http.request<Lease>('GET', this.path);
        if (lease.spec.holderIdentity === this.o.identity) {
          const now = microTime(new Date());
          await this.o.http.request('PUT', this.path, { ...lease, spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: now, acquireTime: now } });
          this.o.log.info({ lease: `${this.o.namespace}/${this.o.name}` }, 'released the leader lease');
        }
      } catch (err) {
        this.o.log.warn({ err: (err as Error).message }, 'could not release the leader lease; another replica takes over when it expires');
      }
    }
    this.setLeader(false);
  }

  private setLeader(leader: boolean): void {
    if (leader === this.leader) return;
    this.leader = leader;
    this.o.log.info({ identity: this.o.identity, lease: `${this.o.namespace}/${this.o.name}` }, leader ? 'became the leader: this replica writes status' : 'not the leader: another replica writes status');
    this.o.onChange?.(leader);
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    try {
      await this.tryAcquireOrRenew();
    } catch (err) {
      this.o.log.debug({ err: (err as Error).message }, 'leader election round failed');
    }
    if (this.leader && Date.now() - this.lastRenew > this.renewDeadlineMs) {
      this.o.log.warn({ lastRenewMsAgo: Date.now() - this.lastRenew }, 'could not renew the leader lease in time; stepping down');
      this.setLeader(false);
    }
    if (!this.stopped) this.timer = setTimeout(() => void this.tick(), this.retryPeriodMs);
  }

  private record(now: Date, transitions: number, acquired?: string): LeaseSpec {
    return {
      holderIdentity: this.o.identity,
      leaseDurationSeconds: Math.max(1, Math.round(this.leaseDurationMs / 1000)),
      acquireTime: acquired ?? microTime(now),
      renewTime: microTime(now),
      leaseTransitions: transitions,
    };
  }

  private async tryAcquireOrRenew(): Promise<void> {
    const { http } = this.o;
    const now = new Date();
    let lease: Lease;
    try {
      lease = await http.request<Lease>('GET', this.path);
    } catch (err) {
      if (!(err instanceof KubeApiError && err.statusCode === 404)) throw err;
      const fresh: Lease = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: this.o.name, namespace: this.o.namespace }, spec: this.record(now, 0) };
      await http.request('POST', `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(this.o.namespace)}/leases`, fresh);
      this.lastRenew = Date.now();
      this.setLeader(true);
      return;
    }
    const spec = lease.spec ?? {};
    const mine = spec.holderIdentity === this.o.identity;
    if (!mine) {
      const record = JSON.stringify([spec.holderIdentity, spec.renewTime, lease.metadata.resourceVersion]);
      if (this.observed?.record !== record) this.observed = { record, at: Date.now() };
      const durationMs = (spec.leaseDurationSeconds ?? 0) * 1000;
      const held = !!spec.holderIdentity && Date.now() - this.observed.at < durationMs;
      if (held) {
        this.setLeader(false);
        return;
      }
    }
    const transitions = (spec.leaseTransitions ?? 0) + (mine ? 0 : 1);
    const next: Lease = { ...lease, spec: this.record(now, transitions, mine ? spec.acquireTime : undefined) };
    await http.request('PUT', this.path, next); // carries metadata.resourceVersion: a conflict means someone else won
    this.lastRenew = Date.now();
    if (!mine) this.o.log.info({ previous: spec.holderIdentity || '(released)', transitions }, 'took over the leader lease');
    this.setLeader(true);
  }
}
