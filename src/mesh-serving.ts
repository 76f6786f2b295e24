// Mesh mode in the serving pipeline: sidecar snapshots carry their workload
// certificate and trust bundle (SDS), certificates are issued when a sidecar
// first appears and renewed before they expire, and a sidecar whose resources
// are the very objects of the last run keeps its snapshot (no re-encoding).
import type { Logger } from 'pino';
import type { WorkloadCertificates } from './ca/workload-certs.js';
import { gatewayKey, sidecarKey } from './ir/keys.js';
import type { CoreResult } from './ir/types.js';
import type { EnvoyResources } from './translate/index.js';
import { buildSnapshot, type Snapshot, type SnapshotCache } from './xds/snapshot.js';

/** Sidecar snapshot key -> the workload's SPIFFE ID, from the current config. */
export function sidecarIdentities(core: CoreResult | undefined): Map<string, string> {
  return new Map((core?.ir.mesh?.workloads ?? []).map((w) => [sidecarKey(w.ref), w.spiffeId]));
}

/** Every snapshot key that holds a mesh certificate: sidecars, and gateways in mesh mode. */
export function meshIdentities(core: CoreResult | undefined): Map<string, string> {
  const out = sidecarIdentities(core);
  for (const [ref, id] of Object.entries(core?.ir.mesh?.gateways ?? {})) out.set(gatewayKey(ref), id);
  return out;
}

const sameResources = (a: EnvoyResources, b: EnvoyResources): boolean =>
  (Object.keys(b) as Array<keyof EnvoyResources>).every((t) => a[t]?.length === b[t].length && b[t].every((r, i) => r === a[t][i]));

export class MeshServing {
  private identities = new Map<string, string>();
  /** What each proxy was last served, with its secrets, and the snapshot built from it. */
  private served = new Map<string, { resources: EnvoyResources; snapshot: Snapshot }>();
  private all = new Map<string, Snapshot>();

  constructor(
    private readonly cache: SnapshotCache,
    private readonly log: Logger,
    private readonly certs?: WorkloadCertificates,
  ) {}

  /** A new configuration: which sidecars exist and who they are. */
  begin(core: CoreResult): void {
    this.identities = meshIdentities(core);
  }

  /** The resources a proxy gets: a sidecar's with its secrets. */
  withSecrets(key: string, resources: EnvoyResources): EnvoyResources {
    const id = this.identities.get(key);
    if (!id || !this.certs) return resources;
    // Replaces the workload's earlier certificate (a renewal republishes what was served); gateway TLS secrets stay.
    const mine = this.certs.secrets(id);
    const names = new Set(mine.map((s) => s.name));
    return { ...resources, secret: [...resources.secret.filter((s) => !names.has(s.name)), ...mine] };
  }

  /** The last snapshot, when the proxy's resources are exactly the objects it was built from. */
  reuse(key: string, resources: EnvoyResources): Snapshot | undefined {
    const prev = this.served.get(key);
    return prev && sameResources(prev.resources, resources) ? prev.snapshot : undefined;
  }

  /** After the cache took `next`: remember it, and issue certificates sidecars do not have yet. */
  done(next: Map<string, Snapshot>, resourcesOf: (key: string) => EnvoyResources | undefined): void {
    this.served = new Map();
    for (const [key, snapshot] of next) {
      const resources = resourcesOf(key);
      if (resources) this.served.set(key, { resources, snapshot });
    }
    this.all = next;
    const certs = this.certs;
    if (!certs) return;
    const missing = [...new Set(this.identities.values())].filter((id) => !certs.current(id));
    if (missing.length) {
      certs.ensure(missing).then(
        () => this.republish(missing),
        (err: Error) => this.log.error({ err: err.message }, 'could not issue workload certificates; sidecars wait for them'),
      );
    }
  }

  /** Certificates were issued or renewed: rebuild the snapshots of the sidecars that hold them. */
  republish(ids: string[]): void {
    const wanted = new Set(ids);
    const next = new Map(this.all);
    for (const [key, id] of this.identities) {
      const prev = this.served.get(key);
      if (!prev || !wanted.has(id)) continue;
      const resources = this.withSecrets(key, prev.resources);
      try {
        const snapshot = buildSnapshot(resources, false, prev.snapshot);
        next.set(key, snapshot);
        this.served.set(key, { resources, snapshot });
      } catch (err) {
        this.log.error({ proxy: key, err: (err as Error).message }, 'could not encode a workload certificate; the proxy keeps its current one');
      }
    }
    this.all = next;
    this.cache.setAll(next);
  }
}
