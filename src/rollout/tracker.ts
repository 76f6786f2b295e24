// ACK counts per configuration resource: of the connected proxies whose
// config is built from a resource, how many run its current version, which
// rejected it and with what error, which have not answered yet.
//
// A resource's current version took effect at the snapshot-cache revision in
// which its content last changed; a proxy runs it once it has ACKed, for every
// type it subscribes to, a snapshot that was current at that revision or later.
import type { CoreResult, ProxyRollout, ResourceStatus } from '../ir/types.js';
import { resourceKey, type Resource } from '../resources/schema.js';
import type { ProxyInfo } from '../xds/stream.js';
import type { ProxyRejection } from '../xds/server.js';
import { ownerOfEnvoyResource } from '../translate/names.js';
import { proxyDependencies } from './dependencies.js';

/** At most this many proxies are named per list (the count says how many there are). */
const MAX_NAMED = 5;
/** Kinds whose rejections show on their own Envoy resources (clusters, endpoints, secrets), not on listeners and routes. */
const OWN_RESOURCE_KINDS = new Set(['Service', 'VirtualDestination', 'ExternalService', 'Secret']);

interface Seen {
  ref: Resource;
  /** Content as text, computed only when the object changes identity. */
  text?: string;
  since: number;
}

const contentOf = (r: Resource): string => JSON.stringify([r.metadata.labels, r.spec, r.body ?? null]);

export class RolloutTracker {
  private readonly seen = new Map<string, Seen>();

  constructor(private readonly clusterName: string) {}

  /** After the cache took the snapshots computed from `resources` (revision `revision`). */
  record(resources: readonly Resource[], revision: number): void {
    // The same resources at the same positions but for a few: only those are looked at.
    const last = this.last;
    this.last = resources;
    if (last && last.length === resources.length) {
      const keyOf = (r: Resource) => resourceKey(r.cluster === this.clusterName ? { ...r, cluster: undefined } : r);
      const changed: Array<[string, Resource]> = [];
      let sameKeys = true;
      for (let i = 0; i < resources.length && sameKeys; i++) {
        if (resources[i] === last[i]) continue;
        const key = keyOf(resources[i]);
        if (key === keyOf(last[i])) changed.push([key, resources[i]]);
        else sameKeys = false;
      }
      if (sameKeys) {
        for (const [key, r] of changed) this.see(key, r, revision);
        return;
      }
    }
    const present = new Set<string>();
    for (const r of resources) {
      const key = resourceKey(r.cluster === this.clusterName ? { ...r, cluster: undefined } : r);
      present.add(key);
      this.see(key, r, revision);
    }
    for (const key of this.seen.keys()) if (!present.has(key)) this.seen.delete(key);
  }

  private last?: readonly Resource[];

  private see(key: string, r: Resource, revision: number): void {
    const prev = this.seen.get(key);
    if (!prev) return void this.seen.set(key, { ref: r, since: revision });
    if (prev.ref === r) return;
    const text = contentOf(r);
    if ((prev.text ?? contentOf(prev.ref)) !== text) prev.since = revision;
    prev.ref = r;
    prev.text = text;
  }

  /** The revision at which a resource's current content took effect. */
  since(key: string): number | undefined {
    return this.seen.get(key)?.since;
  }

  /** Every resource some connected proxy should have, with its ACK counts. */
  rollouts(core: CoreResult, proxies: ProxyInfo[], rejections: ProxyRejection[]): Map<string, ProxyRollout> {
    const deps = proxyDependencies(core);
    const rejectedBy = new Map<string, ProxyRejection[]>();
    for (const r of rejections) rejectedBy.set(r.node, [...(rejectedBy.get(r.node) ?? []), r]);
    const out = new Map<string, ProxyRollout & { pendingAll: string[]; rejectionsAll: Array<{ proxy: string; message: string }> }>();
    for (const p of proxies) {
      const keys = deps.get(p.key);
      if (!keys) continue;
      const types = Object.values(p.types);
      const mine = rejectedBy.get(p.nodeId) ?? [];
      for (const key of keys) {
        const since = this.seen.get(key)?.since;
        const ro = out.get(key) ?? { connected: 0, acked: 0, rejecting: 0, pendingAll: [], rejectionsAll: [] };
        out.set(key, ro);
        ro.connected++;
        const hit = mine.find((r) => affects(r, key));
        if (hit) {
          ro.rejecting++;
          ro.rejectionsAll.push({ proxy: p.nodeId, message: `rejected ${hit.type} ${hit.resource}: ${hit.message.trim().split('\n')[0]}` });
        } else if (since !== undefined && types.length > 0 && types.every((t) => (t.ackedRevision ?? -1) >= since)) ro.acked++;
        else ro.pendingAll.push(p.nodeId);
      }
    }
    const result = new Map<string, ProxyRollout>();
    for (const [key, { pendingAll, rejectionsAll, ...counts }] of out) {
      result.set(key, {
        ...counts,
        ...(pendingAll.length ? { pending: pendingAll.sort().slice(0, MAX_NAMED) } : {}),
        ...(rejectionsAll.length ? { rejections: rejectionsAll.sort((a, b) => (a.proxy < b.proxy ? -1 : 1)).slice(0, MAX_NAMED) } : {}),
      });
    }
    return result;
  }

  /** `statuses` with each resource's ACK counts added (a copy where changed). */
  withRollouts(statuses: Record<string, ResourceStatus>, core: CoreResult, proxies: ProxyInfo[], rejections: ProxyRejection[]): Record<string, ResourceStatus> {
    for (const [key, ro] of this.rollouts(core, proxies, rejections)) {
      const s = statuses[key];
      if (s) statuses[key] = { ...s, proxies: ro };
    }
    return statuses;
  }
}

/**
 * Does a proxy's rejection concern this resource? Clusters, endpoints and
 * secrets name the destination or Secret they come from; listeners and routes
 * combine a gateway's route tables and policies, so a rejected listener or
 * route concerns every resource of that proxy except destinations and Secrets.
 */
function affects(r: ProxyRejection, key: string): boolean {
  const owner = ownerOfEnvoyResource(r.type, r.resource);
  if (owner === key) return true;
  if (r.type !== 'listener' && r.type !== 'route') return false;
  return !OWN_RESOURCE_KINDS.has(key.slice(0, key.indexOf('/')));
}
