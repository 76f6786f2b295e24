// What one stream has sent, what its proxy accepted and rejected, per type.
// Shared by state-of-the-world and delta streams.
//
// NACKs are handled per resource: the resources a proxy rejected are pinned
// at their last accepted content (or left out if it never accepted one) until
// their content changes, so the same rejected content is never re-sent and
// unrelated updates keep flowing.
//
// An ACK costs O(1) for SotW (the accepted set is the response's list, indexed
// only if a NACK needs it) and O(what was sent) for delta; after it, a stream
// that is up to date with its snapshot (`synced`) sees that at once.
import type { EncodedResource, TypeSnapshot } from './snapshot.js';
import { subscriptionKey } from './snapshot.js';

export interface Rejection {
  version: string;
  message: string;
  at: string;
}

export interface InFlight {
  nonce: string;
  resources: readonly EncodedResource[];
  removed: readonly string[];
  version: string;
  /** The snapshot version this response was built from, and when it was first seen. */
  snapshotVersion: string;
  since: number;
  /** The snapshot and subscription this response brings the proxy up to date with. */
  snapshot: TypeSnapshot;
  subscription: number;
}

export class TypeLedger {
  subscribed = false;
  /** Wildcard subscription (every resource of the type). */
  wildcard = true;
  names = new Set<string>();
  /** SotW: the key of the shared view this subscription gets ('' = wildcard). */
  subscriptionKey = '';
  /** Bumped on every subscription change. */
  subscription = 0;
  private lastNames: readonly string[] = [];
  private lastNamesKey?: Buffer;
  inFlight?: InFlight;
  /** Nonce of the last response sent; a request quoting it is current, not stale. */
  lastNonce?: string;
  /** SotW: the whole set the proxy accepted last. Delta: merged into `acceptedIndex`. */
  private acceptedList: readonly EncodedResource[] = [];
  private acceptedIndex?: Map<string, EncodedResource>;
  /** Resources the proxy rejected, by name: the rejected content hash and the error. */
  readonly rejected = new Map<string, Rejection>();
  /** Names reported to the host as rejected, until they are accepted or gone. */
  private readonly reported = new Set<string>();
  /** Delta: the version of each resource the proxy has (initial_resource_versions, then ACKs). */
  readonly known = new Map<string, string>();
  sentVersion?: string;
  ackedVersion?: string;
  lastNack?: Rejection & { names: string[] };
  /** Send even if nothing changed (EDS after CDS, RDS after LDS). */
  force = false;
  /** The snapshot the proxy is up to date with, for the subscription it had then. */
  private synced?: TypeSnapshot;
  private syncedSubscription = -1;

  wants(name: string): boolean {
    return this.wildcard || this.names.has(name);
  }

  /** Nothing to send: the proxy has what `ts` gives its subscription. */
  isSynced(ts: TypeSnapshot): boolean {
    return this.synced === ts && this.syncedSubscription === this.subscription;
  }

  markSynced(ts: TypeSnapshot, subscription = this.subscription): void {
    this.synced = ts;
    this.syncedSubscription = subscription;
  }

  /** The snapshot the proxy is up to date with, if its subscription has not changed since. */
  syncedSnapshot(): TypeSnapshot | undefined {
    return this.syncedSubscription === this.subscription ? this.synced : undefined;
  }

  /**
   * SotW: every request repeats the subscription; only a different one costs
   * anything. `namesKey`, the names as the request encoded them (ACKs read by
   * src/xds/requests.ts), answers "the same as last time" without the strings.
   */
  setSotwSubscription(namesKey: Buffer | undefined, namesOf: () => readonly string[]): void {
    if (namesKey && this.subscription > 0 && this.lastNamesKey?.equals(namesKey)) return;
    this.lastNamesKey = namesKey ? Buffer.from(namesKey) : undefined; // a copy: the request's buffer is not ours
    const names = namesOf();
    const wildcard = names.length === 0 || names.includes('*');
    if (this.subscription > 0 && wildcard === this.wildcard && sameNames(names, this.lastNames)) return;
    this.lastNames = [...names];
    this.wildcard = wildcard;
    this.names = new Set(names.filter((n) => n !== '*'));
    this.subscriptionKey = wildcard ? '' : subscriptionKey(this.names);
    this.subscription++;
  }

  /** Delta: the subscription changed (names, wildcard or what the proxy says it has). */
  subscriptionChanged(): void {
    this.subscription++;
  }

  /** The content the proxy accepted last for a resource. */
  accepted(name: string): EncodedResource | undefined {
    return this.index().get(name);
  }

  private index(): Map<string, EncodedResource> {
    if (!this.acceptedIndex) {
      this.acceptedIndex = new Map();
      for (const r of this.acceptedList) this.acceptedIndex.set(r.name, r);
    }
    return this.acceptedIndex;
  }

  /** What to send for a resource: itself, or the last accepted content if this content was rejected. */
  effective(r: EncodedResource): EncodedResource | undefined {
    const rej = this.rejected.get(r.name);
    if (!rej) return r;
    if (rej.version !== r.version) {
      this.rejected.delete(r.name); // changed since: try it
      return r;
    }
    return this.accepted(r.name);
  }

  ack(version: string, sotw: boolean): InFlight | undefined {
    const f = this.inFlight;
    this.inFlight = undefined;
    if (!f) return undefined;
    if (sotw) {
      // A SotW response is the whole set: what it does not name, the proxy no longer has.
      this.acceptedList = f.resources;
      this.acceptedIndex = undefined;
    } else {
      const idx = this.index();
      for (const r of f.resources) {
        idx.set(r.name, r);
        this.known.set(r.name, r.version);
      }
      for (const n of f.removed) {
        idx.delete(n);
        this.known.delete(n);
      }
    }
    this.ackedVersion = version || f.version;
    // The last NACK stays visible while anything it rejected is still held back.
    if (this.rejected.size === 0) this.lastNack = undefined;
    this.markSynced(f.snapshot, f.subscription);
    return f;
  }

  /**
   * Records a NACK. The rejected resources are those the error message names;
   * if it names none, every resource in the response whose content differs from
   * what the proxy had accepted (unchanged ones cannot be the cause).
   */
  nack(message: string): { flight?: InFlight; names: string[] } {
    const f = this.inFlight;
    this.inFlight = undefined;
    if (!f) return { names: [] };
    const named = f.resources.filter((r) => message.includes(r.name));
    const suspects = named.length ? named : f.resources.filter((r) => this.accepted(r.name)?.version !== r.version);
    const at = new Date().toISOString();
    for (const r of suspects) {
      this.rejected.set(r.name, { version: r.version, message, at });
      this.reported.add(r.name);
    }
    const names = suspects.map((r) => r.name);
    this.lastNack = { version: f.version, message, at, names };
    return { flight: f, names };
  }

  /** Names reported as rejected that no longer are (their content changed and was accepted, or they are gone). */
  takeResolved(): string[] {
    if (this.reported.size === 0) return [];
    const out: string[] = [];
    for (const n of this.reported) {
      if (this.rejected.has(n)) continue;
      out.push(n);
      this.reported.delete(n);
    }
    return out;
  }
}

function sameNames(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
