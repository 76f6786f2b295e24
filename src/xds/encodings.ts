// Encoded resources cached by content: a resource whose translated body is
// unchanged is never re-encoded or re-hashed, and identical resources of
// different proxies are encoded once and share one EncodedResource (and so
// its wire entries). Looked up by type and name; the body is the one last
// encoded under that name (a translator that kept the object costs nothing)
// or is compared with it (a walk with no allocation that stops at the first
// difference). Bodies handed over must
// not be mutated afterwards. Entries the last generation did not use
// (SnapshotCache.setAll calls sweep()) are dropped, so memory follows what is served.
import { hash as oneShotHash } from 'node:crypto';
import { loadAssignmentEntry } from './endpoints-encoder.js';
import { encodeSplit, type RunIndex, type SplitPlan } from './parts.js';
import { assertKnownFields, encodeResource, lookupType, TYPES, typeUrl, type ResourceType } from './protos.js';
import type { EncodedResource } from './snapshot.js';
import { ownedEntry } from './wire.js';

/** A content hash: the first 16 hex digits of SHA-256. */
export const hash = (data: string | Uint8Array): string => oneShotHash('sha256', data, 'hex').slice(0, 16);

interface Entry {
  resource: EncodedResource;
  name: string;
  type: ResourceType;
  body: unknown;
  strict: boolean;
  used: number;
  /** A RouteConfiguration's runs of route entries, for its next encoding (src/xds/parts.ts). */
  runs?: RunIndex;
}

/**
 * A cached encoding points at its entry, for keep() (a WeakMap made every
 * scavenge walk its ephemerons); the pointer goes when the entry leaves the
 * cache, so a resource still served does not keep its translated body alive.
 */
const ENTRY = Symbol('encodings entry');
type Cached = EncodedResource & { [ENTRY]?: Entry };
const forget = (e: Entry): void => void ((e.resource as Cached)[ENTRY] = undefined);

/** The variant used last (the previous content of a name, usually its only one). */
const latest = (variants: Entry[] | undefined): Entry | undefined => variants?.reduce<Entry | undefined>((a, v) => (!a || v.used > a.used ? v : a), undefined);

/**
 * A RouteConfiguration is encoded route by route, each Envoy route object
 * once (the translator keeps the objects of routes that did not change), so a
 * one-route edit of a 10k-route configuration encodes one route.
 */
const routeEntries = new WeakMap<object, Uint8Array>();
const ROUTE_PLAN: SplitPlan = { virtualHosts: { split: { routes: { cache: routeEntries } } } };

/** Content variants kept per name (different proxies may get different content under one name). */
const MAX_VARIANTS = 8;

export class ResourceEncodings {
  private readonly byName = new Map<ResourceType, Map<string, Entry[]>>();
  private generation = 0;
  /** Encodings done and avoided, for tests and benchmarks. */
  readonly stats = { encoded: 0, reused: 0 };

  encode(type: ResourceType, name: string, body: Record<string, unknown>, strict = false): EncodedResource {
    let names = this.byName.get(type);
    if (!names) this.byName.set(type, (names = new Map()));
    const variants = names.get(name);
    let e: Entry | undefined;
    // The same object (a translator that kept it), else equal content.
    if (variants) for (const v of variants) if (sameContent(v.body, body)) { e = v; break; }
    if (e) this.stats.reused++; // the body kept is the first one: a new equal one dies young
    else {
      let runs: { prior?: RunIndex; next: RunIndex } | undefined;
      if (strict) assertKnownFields(lookupType(TYPES[type]), body);
      const url = typeUrl(type);
      // Endpoints, the most frequent change, are written in place when their shape is the translator's.
      const { entry, value } =
        (type === 'endpoint' && loadAssignmentEntry(url, body)) ||
        ownedEntry(url, type === 'route' ? encodeSplit(lookupType(TYPES.route), body, ROUTE_PLAN, (runs = { prior: latest(variants)?.runs, next: new Map() })) : encodeResource(TYPES[type], body));
      const resource: Cached = { name, typeUrl: url, value, version: hash(value), sotwEntry: entry, [ENTRY]: undefined };
      e = { resource, name, type, body, strict, used: this.generation, ...(runs ? { runs: runs.next } : {}) };
      resource[ENTRY] = e;
      this.stats.encoded++;
      this.add(names, e, variants);
    }
    if (strict && !e.strict) {
      assertKnownFields(lookupType(TYPES[type]), body);
      e.strict = true;
    }
    e.used = this.generation;
    return e.resource;
  }

  private add(names: Map<string, Entry[]>, e: Entry, variants: Entry[] | undefined): void {
    if (!variants) names.set(e.name, [e]);
    else {
      variants.push(e);
      if (variants.length > MAX_VARIANTS) forget(variants.sort((a, b) => b.used - a.used).pop()!);
    }
  }

  /**
   * Marks encodings as used by this generation without looking them up again
   * (a snapshot type reused whole). One that left the cache meanwhile (its
   * snapshot carried over unbuilt) stays out: still served, not shared.
   */
  keep(resources: Iterable<EncodedResource>): void {
    for (const r of resources) {
      const e = (r as Cached)[ENTRY];
      if (e) e.used = this.generation;
    }
  }

  /** Ends a generation: drops what it did not use (what is served is what the last build used). */
  sweep(): void {
    const oldest = this.generation++;
    for (const names of this.byName.values()) {
      for (const [name, variants] of names) {
        let stale = 0;
        for (const v of variants) if (v.used < oldest) stale++;
        if (stale === 0) continue;
        for (const v of variants) if (v.used < oldest) forget(v);
        if (stale === variants.length) names.delete(name);
        else {
          let kept = 0;
          for (const v of variants) if (v.used >= oldest) variants[kept++] = v;
          variants.length = kept;
        }
      }
    }
  }

  clear(): void {
    for (const names of this.byName.values()) for (const variants of names.values()) for (const v of variants) forget(v);
    this.byName.clear();
  }
}

/** Structural equality of translated bodies (plain objects, arrays, primitives, byte arrays). */
function sameContent(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameContent(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  if (ArrayBuffer.isView(a) || ArrayBuffer.isView(b)) return ArrayBuffer.isView(a) && ArrayBuffer.isView(b) && Buffer.compare(bytes(a), bytes(b)) === 0;
  // for-in allocates nothing (Object.keys would, per object compared)
  let keys = 0;
  for (const k in a) {
    keys++;
    if (!hasOwn(b, k) || !sameContent((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  }
  for (const _ in b) keys--;
  return keys === 0;
}

const hasOwn = (o: object, k: string) => Object.prototype.hasOwnProperty.call(o, k);
const bytes = (v: ArrayBufferView) => new Uint8Array(v.buffer, v.byteOffset, v.byteLength);

/** The process-wide cache buildSnapshot uses. */
export const encodings = new ResourceEncodings();
