// Encoded, versioned resources per proxy. Versions are content hashes, so the
// same config gives the same versions on every replica and after restarts.
import { createHash } from 'node:crypto';
import type { EnvoyResources } from '../translate/index.js';
import { sharedEncodeCache } from './encode-cache.js';
import { encodeResource, TYPES, typeUrl, type ResourceType } from './protos.js';

/** Push order: what is referenced goes before what references it, so Envoy never waits on warming. */
export const RESOURCE_TYPES: readonly ResourceType[] = ['secret', 'cluster', 'endpoint', 'listener', 'route'];

export interface EncodedResource {
  name: string;
  typeUrl: string;
  value: Uint8Array;
  version: string;
}

export interface TypeSnapshot {
  version: string;
  resources: Map<string, EncodedResource>;
  /** When this version was first seen (performance.now()), for ACK latency. */
  since: number;
}

export type Snapshot = Record<ResourceType, TypeSnapshot>;

export const hash = (...parts: Array<string | Uint8Array>): string => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex').slice(0, 16);
};

export function buildSnapshot(resources: EnvoyResources, strict = false): Snapshot {
  const out = {} as Snapshot;
  for (const type of RESOURCE_TYPES) {
    const encoded = new Map<string, EncodedResource>();
    for (const r of [...(resources[type] ?? [])].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const { value, version } = strict
        ? (() => { const v = encodeResource(TYPES[type], r.body, true); return { value: v, version: hash(v) }; })()
        : sharedEncodeCache.get(TYPES[type], r.body, () => { const v = encodeResource(TYPES[type], r.body); return { value: v, version: hash(v) }; });
      encoded.set(r.name, { name: r.name, typeUrl: typeUrl(type), value, version });
    }
    out[type] = { version: versionOf([...encoded.values()]), resources: encoded, since: performance.now() };
  }
  return out;
}

/** The version of a set of resources: a hash of their names and content hashes. */
export const versionOf = (resources: Array<{ name: string; version: string }>): string =>
  hash(...[...resources].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).flatMap((e) => [e.name, '\0', e.version, '\0']));

export const typeOfUrl = (url: string): ResourceType | undefined =>
  (Object.keys(TYPES) as ResourceType[]).find((t) => typeUrl(t) === url);

type Listener = (key: string) => void;

/** Latest snapshot per proxy key; streams subscribe to hear about changes. */
export class SnapshotCache {
  private readonly snapshots = new Map<string, Snapshot>();
  private readonly listeners = new Set<Listener>();

  get(key: string): Snapshot | undefined {
    return this.snapshots.get(key);
  }

  keys(): string[] {
    return [...this.snapshots.keys()].sort();
  }

  /** Replaces the whole set of snapshots; keys that disappear are dropped. */
  setAll(next: Map<string, Snapshot>): void {
    const changed: string[] = [];
    for (const [key, snap] of next) {
      const prev = this.snapshots.get(key);
      if (prev) for (const t of RESOURCE_TYPES) if (prev[t].version === snap[t].version) snap[t].since = prev[t].since;
      if (!prev || RESOURCE_TYPES.some((t) => prev[t].version !== snap[t].version)) changed.push(key);
      this.snapshots.set(key, snap);
    }
    for (const key of [...this.snapshots.keys()]) {
      if (!next.has(key)) {
        this.snapshots.delete(key);
        changed.push(key);
      }
    }
    for (const key of changed) for (const l of this.listeners) l(key);
  }

  subscribe(l: Listener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
}
