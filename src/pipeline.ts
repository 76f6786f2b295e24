// Wires the stages: resource sets -> core -> translate -> snapshots.
import type { Logger } from 'pino';
import { concatMap, type Observable } from 'rxjs';
import type { WorkloadCertificates } from './ca/workload-certs.js';
import { sidecarKey } from './ir/keys.js';
import { createCore, type CoreSettings } from './core/index.js';
import type { CoreResult } from './ir/types.js';
import type { ResourceSet } from './sources/file.js';
import { translateAll, type EnvoyResources, type TranslateOptions } from './translate/index.js';
import { buildSnapshot, type Snapshot, type SnapshotCache } from './xds/snapshot.js';
import type { Metrics } from './xds/metrics.js';

export interface PipelineState {
  core?: CoreResult;
  generation: number;
  /** The last snapshots served, so a certificate renewal can republish only what it changed. */
  snapshots?: Map<string, Snapshot>;
  translated?: Map<string, EnvoyResources>;
}

/** Sidecar snapshot key -> the workload's SPIFFE ID, from the current config. */
export function sidecarIdentities(core: CoreResult | undefined): Map<string, string> {
  return new Map((core?.ir.mesh?.workloads ?? []).map((w) => [sidecarKey(w.ref), w.spiffeId]));
}

const sameResources = (a: EnvoyResources, b: EnvoyResources): boolean =>
  (Object.keys(b) as Array<keyof EnvoyResources>).every((t) => a[t]?.length === b[t].length && b[t].every((r, i) => r === a[t][i]));

/** A sidecar's resources with its current certificate and the trust bundle (SDS). */
function withSecrets(resources: EnvoyResources, id: string | undefined, certs: WorkloadCertificates | undefined): EnvoyResources {
  return id && certs ? { ...resources, secret: certs.secrets(id) } : resources;
}

/** Certificates were renewed: rebuild the snapshots of the sidecars that hold them. */
export function republishRenewed(ids: string[], state: PipelineState, certs: WorkloadCertificates, cache: SnapshotCache, log: Logger): void {
  if (!state.snapshots || !state.translated) return;
  const renewed = new Set(ids);
  const next = new Map(state.snapshots);
  for (const [key, id] of sidecarIdentities(state.core)) {
    const res = state.translated.get(key);
    if (!res || !renewed.has(id)) continue;
    try {
      next.set(key, buildSnapshot(withSecrets(res, id, certs)));
    } catch (err) {
      log.error({ proxy: key, err: (err as Error).message }, 'could not encode a renewed certificate; the proxy keeps its current one');
    }
  }
  state.snapshots = next;
  cache.setAll(next);
}

export function logDiagnostics(set: ResourceSet, log: Logger): void {
  for (const d of set.diagnostics) {
    for (const p of d.problems) {
      log.error(
        { file: d.file, document: d.document, line: d.line, resource: d.resource, field: p.path, keptPrevious: d.keptPrevious },
        `${d.file}${d.document !== undefined ? ` document ${d.document}` : ''}${d.line ? ` (line ${d.line})` : ''}${d.resource ? ` ${d.resource}` : ''}: ${p.path}: ${p.message}${d.keptPrevious ? ' - the last valid version is still served' : ''}`,
      );
    }
  }
}

/**
 * Subscribes the cache to a stream of resource sets. A gateway whose
 * translation fails keeps its previous snapshot.
 */
export function runPipeline(
  sets: Observable<ResourceSet>,
  settings: CoreSettings,
  opts: TranslateOptions,
  cache: SnapshotCache,
  log: Logger,
  state: PipelineState,
  metrics?: Metrics,
  sinks: Array<(core: CoreResult) => void> = [],
  certs?: WorkloadCertificates,
): () => void {
  const computeCore = createCore();
  const step = async (set: ResourceSet) => {
    const started = performance.now();
    logDiagnostics(set, log);
    const core = computeCore(set.resources, settings, set.rejected);
    const perGateway = translateAll(core.ir, opts);
    const identities = sidecarIdentities(core);
    if (certs && identities.size) {
      await certs.ensure(identities.values()).catch((err: Error) => log.error({ err: err.message }, 'could not issue workload certificates; sidecars wait for them'));
    }
    return { set, started, core, perGateway, identities };
  };
  const sub = sets.pipe(concatMap(step)).subscribe(({ set, started, core, perGateway, identities }) => {
    const next = new Map<string, Snapshot>();
    const served = new Map<string, EnvoyResources>();
    for (const [key, translated] of perGateway) {
      const resources = withSecrets(translated, identities.get(key), certs);
      served.set(key, resources);
      // The same resource objects as last time (mesh translation reuses them): the same snapshot.
      const prevRes = state.translated?.get(key);
      const prevSnap = state.snapshots?.get(key);
      if (prevRes && prevSnap && sameResources(prevRes, resources)) {
        next.set(key, prevSnap);
        continue;
      }
      try {
        next.set(key, buildSnapshot(resources));
      } catch (err) {
        const prev = cache.get(key);
        if (prev) next.set(key, prev);
        log.error({ gateway: key, err: (err as Error).message }, 'could not encode the Envoy config for this gateway; keeping its previous config');
      }
    }
    cache.setAll(next);
    state.snapshots = next;
    state.translated = served;
    if (metrics) {
      metrics.translation.observe((performance.now() - started) / 1000);
      metrics.resources.reset();
      for (const [key, snap] of next) for (const [type, ts] of Object.entries(snap)) metrics.resources.set({ proxy: key, type }, ts.resources.size);
    }
    for (const sink of sinks) {
      try {
        sink(core);
      } catch (err) {
        log.error({ err: (err as Error).message }, 'could not write derived configuration');
      }
    }
    state.core = core;
    state.generation++;
    const invalid = Object.entries(core.status).filter(([, s]) => s.state === 'INVALID');
    for (const [key, s] of invalid) log.warn({ resource: key, messages: s.messages }, `${key} is invalid: ${s.messages.join('; ')}`);
    log.info(
      { generation: state.generation, resources: set.resources.length, gateways: next.size, routes: core.ir.routes.length, invalid: invalid.length, ms: Math.round(performance.now() - started) },
      'configuration updated',
    );
  });
  return () => sub.unsubscribe();
}
