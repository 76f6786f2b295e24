// What one stream has sent, what its proxy accepted and rejected, per type.
// Shared by state-of-the-world and delta streams.
//
// NACKs are handled per resource: the resources a proxy rejected are pinned
// at their last accepted content (or left out if it never accepted one) until
// their content changes, so the same rejected content is never re-sent and
// unrelated updates keep flowing.
import type { EncodedResource } from './snapshot.js';

export interface Rejection {
  version: string;
  message: string;
  at: string;
}

export interface InFlight {
  nonce: string;
  resources: EncodedResource[];
  removed: string[];
  version: string;
  /** The snapshot version this response was built from, and when it was first seen. */
  snapshotVersion: string;
  since: number;
}

export class TypeLedger {
  subscribed = false;
  /** Wildcard subscription (every resource of the type). */
  wildcard = true;
  names = new Set<string>();
  inFlight?: InFlight;
  /** Nonce of the last response sent; a request quoting it is current, not stale. */
  lastNonce?: string;
  /** Content the proxy ACKed, by resource name. */
  readonly accepted = new Map<string, EncodedResource>();
  /** Resources the proxy rejected, by name: the rejected content hash and the error. */
  readonly rejected = new Map<string, Rejection>();
  /** Delta: the version of each resource the proxy has (initial_resource_versions, then ACKs). */
  readonly known = new Map<string, string>();
  sentVersion?: string;
  ackedVersion?: string;
  lastNack?: Rejection & { names: string[] };
  /** Send even if nothing changed (EDS after CDS, RDS after LDS). */
  force = false;

  wants(name: string): boolean {
    return this.wildcard || this.names.has(name);
  }

  /** What to send for a resource: itself, or the last accepted content if this content was rejected. */
  effective(r: EncodedResource): EncodedResource | undefined {
    const rej = this.rejected.get(r.name);
    if (!rej) return r;
    if (rej.version !== r.version) {
      this.rejected.delete(r.name); // changed since: try it
      return r;
    }
    return this.accepted.get(r.name);
  }

  ack(version: string, sotw: boolean): InFlight | undefined {
    const f = this.inFlight;
    this.inFlight = undefined;
    if (!f) return undefined;
    if (sotw && this.wildcard) {
      // A SotW response is the whole set: what it does not name, the proxy no longer has.
      const names = new Set(f.resources.map((r) => r.name));
      for (const n of [...this.accepted.keys()]) if (!names.has(n)) this.accepted.delete(n);
    }
    for (const r of f.resources) {
      this.accepted.set(r.name, r);
      this.known.set(r.name, r.version);
    }
    for (const n of f.removed) {
      this.accepted.delete(n);
      this.known.delete(n);
    }
    this.ackedVersion = version || f.version;
    // The last NACK stays visible while anything it rejected is still held back.
    if (this.rejected.size === 0) this.lastNack = undefined;
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
    const suspects = named.length ? named : f.resources.filter((r) => this.accepted.get(r.name)?.version !== r.version);
    const at = new Date().toISOString();
    for (const r of suspects) this.rejected.set(r.name, { version: r.version, message, at });
    this.lastNack = { version: f.version, message, at, names: suspects.map((r) => r.name) };
    return { flight: f, names: suspects.map((r) => r.name) };
  }
}
