// Encoded, versioned resources per proxy. Versions are content hashes, so the
// same config gives the same versions on every replica and after restarts.
//
// Work is done once per snapshot, not per stream: a type's sorted resource
// list and version are computed when the snapshot is built, the response
// bytes a subscription gets are built once and shared (views), and what
// changed since the previous snapshot of a key is computed once for all delta
// streams. A type whose version did not change keeps its TypeSnapshot object,
// so streams that have it see at once (by identity) that there is nothing to send.
import type { EnvoyResources } from '../translate/index.js';
import { encodings, hash } from './encodings.js';
import { TYPES, typeUrl, type ResourceType } from './protos.js';
import { sotwBlock } from './wire.js';

/** Push order: what is referenced goes before what references it, so Envoy never waits on warming. */
export const RESOURCE_TYPES: readonly ResourceType[] = ['secret', 'cluster', 'endpoint', 'listener', 'route'];

export interface EncodedResource {
  name: string;
  typeUrl: string;
  value: Uint8Array;
  version: string;
  /** Wire entries, encoded on first use and shared by every response that carries the resource. */
  sotwEntry?: Buffer;
  deltaEntry?: Buffer;
}

/** What every SotW stream with one subscription gets from one TypeSnapshot. */
export interface SotwView {
  resources: readonly EncodedResource[];
  version: string;
  /** The encoded `resources` field of the response. */
  block: Buffer;
}

/** What changed from the previous TypeSnapshot of the same key. */
export interface TypeChanges {
  from: TypeSnapshot;
  /** Resources that are new or whose content changed. */
  changed: readonly EncodedResource[];
  removed: readonly string[];
}

export interface TypeSnapshot {
  version: string;
  /** By name, in name order. */
  resources: Map<string, EncodedResource>;
  /** When this version was first seen (performance.now()), for ACK latency. */
  since: number;
  /** Shared SotW views by subscription key ('' = wildcard), built on first use. */
  views?: Map<string, SotwView>;
  /** The snapshot this one replaced (one level only), until `changes` is computed. */
  previous?: TypeSnapshot;
  changes?: TypeChanges;
  /** The last cache revision in which this was a key's current snapshot (ACK counts per resource). */
  currentThrough?: number;
  /** The translated list it was built from, so the next build of the same list can reuse it. */
  input?: TranslatedList;
}

type TranslatedList = EnvoyResources[ResourceType];

export type Snapshot = Record<ResourceType, TypeSnapshot>;

/** Counts of the shared work, for tests and benchmarks: each is done once per snapshot, never per stream. */
export const work = { viewsBuilt: 0, changeListsBuilt: 0, fullComparisons: 0 };

export { hash };

const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/**
 * Encodes and versions a proxy's resources. With the proxy's previous
 * snapshot, a type whose translated list is the one it was built from (the
 * same names and body objects, in order: what the translator hands over for a
 * type a change did not reach) is that snapshot's TypeSnapshot again: not
 * sorted, looked up or hashed (a Pod move changes one type of five).
 */
export function buildSnapshot(resources: EnvoyResources, strict = false, previous?: Snapshot): Snapshot {
  const out = {} as Snapshot;
  const now = performance.now();
  for (const type of RESOURCE_TYPES) {
    const input = resources[type] ?? [];
    const last = previous?.[type];
    if (last && !strict && sameInput(last.input, input)) {
      encodings.keep(last.resources.values());

      out[type] = last;
      continue;
    }
    const list = [...input].sort(byName);
    const encoded = new Map<string, EncodedResource>();
    const sorted: EncodedResource[] = [];
    for (const r of list) {
      const e = encodings.encode(type, r.name, r.body, strict);
      // The last of several resources with one name wins, in the version as in the content
      // (the sort is stable, so duplicates are adjacent and in the order given).
      if (encoded.has(r.name)) sorted[sorted.length - 1] = e;
      else sorted.push(e);
      encoded.set(r.name, e);
    }
    out[type] = { version: versionOfSorted(sorted), resources: encoded, since: now, input };
  }
  return out;
}

/** The same translated list: names and body objects, in order (bodies are never mutated once handed over). */
function sameInput(a: TranslatedList | undefined, b: TranslatedList): boolean {
  if (a === b) return true;
  if (!a || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i].body !== b[i].body || a[i].name !== b[i].name) return false;
  return true;
}

/** The version of a set of resources sorted by name: a hash of their names and content hashes. */
function versionOfSorted(resources: readonly { name: string; version: string }[]): string {
  let s = '';
  for (const r of resources) s += `${r.name}\0${r.version}\0`;
  return hash(s);
}

/** The version of a set of resources: a hash of their names and content hashes. */
export const versionOf = (resources: Array<{ name: string; version: string }>): string => versionOfSorted([...resources].sort(byName));

/** Subscription key of a set of names (sorted, NUL-separated); '' is the wildcard. */
export const subscriptionKey = (names: Iterable<string>): string => '\0' + [...names].sort().join('\0');

/**
 * The resources a subscription gets from a snapshot, with their version and
 * encoded block: built once per snapshot and subscription, shared by streams.
 * `key` is '' for the wildcard, else subscriptionKey(names).
 */
export function sotwView(ts: TypeSnapshot, key: string, names: () => Iterable<string>): SotwView {
  const views = (ts.views ??= new Map());
  let v = views.get(key);
  if (v) return v;
  let resources: EncodedResource[];
  if (key === '') resources = [...ts.resources.values()];
  else {
    resources = [];
    for (const n of [...names()].sort()) {
      const r = ts.resources.get(n);
      if (r) resources.push(r);
    }
  }
  v = { resources, version: key === '' ? ts.version : versionOfSorted(resources), block: sotwBlock(resources) };
  views.set(key, v);
  work.viewsBuilt++;
  return v;
}

/** A view of resources sorted by name (a stream's own, when it holds rejected resources back). */
export const viewOf = (resources: EncodedResource[]): SotwView => ({ resources, version: versionOfSorted(resources), block: sotwBlock(resources) });

/** What changed between `from` and `ts`, if `from` is the snapshot `ts` replaced; computed once. */
export function changesSince(ts: TypeSnapshot, from: TypeSnapshot): TypeChanges | undefined {
  if (ts.changes?.from === from) return ts.changes;
  if (ts.previous !== from) return undefined;
  const changed: EncodedResource[] = [];
  const removed: string[] = [];
  for (const r of ts.resources.values()) if (from.resources.get(r.name)?.version !== r.version) changed.push(r);
  for (const name of from.resources.keys()) if (!ts.resources.has(name)) removed.push(name);
  ts.changes = { from, changed, removed };
  ts.previous = undefined;
  work.changeListsBuilt++;
  return ts.changes;
}

export const typeOfUrl = (url: string): ResourceType | undefined =>
  (Object.keys(TYPES) as ResourceType[]).find((t) => typeUrl(t) === url);

type Listener = (key: string) => void;

/** How long one turn of the event loop tells streams about a change before yielding. */
const NOTIFY_SLICE_MS = 4;

/** Latest snapshot per proxy key; streams subscribe to hear about changes of their key. */
export class SnapshotCache {
  private readonly snapshots = new Map<string, Snapshot>();
  private readonly listeners = new Set<Listener>();
  private readonly keyListeners = new Map<string, Set<() => void>>();
  /** Bumped by every setAll: a proxy that ACKed a snapshot current at revision r has every change made up to r. */
  revision = 0;

  get(key: string): Snapshot | undefined {
    return this.snapshots.get(key);
  }

  keys(): string[] {
    return [...this.snapshots.keys()].sort();
  }

  /** Replaces the whole set of snapshots; keys that disappear are dropped. */
  setAll(next: Map<string, Snapshot>): void {
    const changed: string[] = [];
    const revision = ++this.revision;
    for (const [key, snap] of next) {
      const prev = this.snapshots.get(key);
      let differs = !prev;
      if (prev && prev !== snap) {
        for (const t of RESOURCE_TYPES) {
          if (prev[t] === snap[t]) continue;
          if (prev[t].version === snap[t].version) snap[t] = prev[t]; // same content: keep the one streams know
          else {
            differs = true;
            snap[t].previous = prev[t];
            prev[t].previous = undefined; // one level: a stream further behind gets a full comparison
            prev[t].changes = undefined;
          }
        }
      }
      if (differs) changed.push(key);
      for (const t of RESOURCE_TYPES) snap[t].currentThrough = revision;
      this.snapshots.set(key, snap);
    }
    for (const key of [...this.snapshots.keys()]) {
      if (!next.has(key)) {
        this.snapshots.delete(key);
        changed.push(key);
      }
    }
    encodings.sweep();
    for (const key of changed) {
      for (const l of this.listeners) l(key);
      const ls = this.keyListeners.get(key);
      if (ls) for (const l of ls) this.pending.add(l);
    }
    this.notify();
  }

  /** Streams to tell about a change, told a batch per event-loop turn. */
  private readonly pending = new Set<() => void>();
  private notifying = false;

  /**
   * Tells streams in batches, yielding between them, so the first responses
   * are on the wire (and being read) while the rest are written, and ACKs are
   * read in between. A stream told later sees the latest snapshot then.
   */
  private notify(): void {
    if (this.notifying) return;
    this.notifying = true;
    const started = performance.now();
    try {
      for (const l of this.pending) {
        this.pending.delete(l);
        l();
        if (this.pending.size > 0 && performance.now() - started >= NOTIFY_SLICE_MS) {
          setImmediate(() => this.notify());
          return;
        }
      }
    } finally {
      this.notifying = false;
    }
  }

  /** Hears about every changed key. */
  subscribe(l: Listener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  /** Hears about changes of one key (what a stream needs; no cost for other keys' changes). */
  subscribeKey(key: string, l: () => void): () => void {
    let ls = this.keyListeners.get(key);
    if (!ls) this.keyListeners.set(key, (ls = new Set()));
    ls.add(l);
    return () => {
      ls.delete(l);
      this.pending.delete(l);
      if (ls.size === 0 && this.keyListeners.get(key) === ls) this.keyListeners.delete(key);
    };
  }
}
