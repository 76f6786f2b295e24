// Wires the stages: resource sets -> core -> translate -> snapshots.
import type { Logger } from 'pino';
import { map, type Observable } from 'rxjs';
import { createCore, type CoreSettings } from './core/index.js';
import type { CoreResult } from './ir/types.js';
import type { Resource } from './resources/schema.js';
import type { ResourceSet } from './sources/file.js';
import { createTranslator, type EnvoyResources, type TranslateOptions } from './translate/index.js';
import { buildSnapshot, type Snapshot, type SnapshotCache } from './xds/snapshot.js';
import type { Metrics } from './xds/metrics.js';
import { MeshServing } from './mesh-serving.js';
import type { RolloutTracker } from './rollout/tracker.js';

export interface PipelineState {
  core?: CoreResult;
  generation: number;
  /** The resource set and settings `core` was computed from: explain (the UI) recomputes why on demand. */
  resources?: readonly Resource[];
  settings?: CoreSettings;
  /** ACK counts per resource (serve): told which content each cache revision carries. */
  rollout?: RolloutTracker;
}

const diagnosticLines = (set: ResourceSet): Array<{ fields: object; line: string }> =>
  set.diagnostics.flatMap((d) =>
    d.problems.map((p) => ({
      fields: { file: d.file, document: d.document, line: d.line, resource: d.resource, field: p.path, keptPrevious: d.keptPrevious },
      line: `${d.file}${d.document !== undefined ? ` document ${d.document}` : ''}${d.line ? ` (line ${d.line})` : ''}${d.resource ? ` ${d.resource}` : ''}: ${p.path}: ${p.message}${d.keptPrevious ? ' - the last valid version is still served' : ''}`,
    })),
  );

export function logDiagnostics(set: ResourceSet, log: Logger): void {
  for (const d of diagnosticLines(set)) log.error(d.fields, d.line);
}

/**
 * What a server logs of each change: a file problem or an INVALID resource
 * when it appears or its messages change, not again on every later change
 * while it stays (the set and the status carry all of them each time; the
 * "configuration updated" line counts the invalid ones, status and
 * `meshplane validate` list them).
 */
function changeLogger(log: Logger): { diagnostics(set: ResourceSet): void; invalid(status: CoreResult['status']): number } {
  let lastDiagnostics = new Set<string>();
  let lastStatus: CoreResult['status'] | undefined;
  let lastInvalid = new Map<string, string>();
  let invalidCount = 0;
  return {
    diagnostics(set) {
      const now = new Set<string>();
      for (const d of diagnosticLines(set)) {
        now.add(d.line);
        if (!lastDiagnostics.has(d.line)) log.error(d.fields, d.line);
      }
      lastDiagnostics = now;
    },
    invalid(status) {
      // The core hands back the same status object when no status changed (a route edit often changes none).
      if (status === lastStatus) return invalidCount;
      const now = new Map<string, string>();
      for (const key in status) {
        const s = status[key];
        if (s.state !== 'INVALID') continue;
        const said = s.messages.join('; ');
        now.set(key, said);
        if (lastInvalid.get(key) !== said) log.warn({ resource: key, messages: s.messages }, `${key} is invalid: ${said}`);
      }
      for (const key of lastInvalid.keys()) if (!now.has(key) && status[key]) log.info({ resource: key, state: status[key].state }, `${key} is no longer invalid`);
      lastStatus = status;
      lastInvalid = now;
      return (invalidCount = now.size);
    },
  };
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
  /** Mesh mode: sidecars' certificates and snapshot reuse (docs/mesh.md). */
  mesh: MeshServing = new MeshServing(cache, log),
): () => void {
  const computeCore = createCore();
  const translateAll = createTranslator(opts); // reuses the translation of what did not change
  const changes = changeLogger(log);
  const apply = (set: ResourceSet, started: number) => {
    changes.diagnostics(set);
    const core = computeCore(set.resources, settings, set.rejected);
    const coreDone = performance.now();
    const perGateway = translateAll(core.ir);
    const translateDone = performance.now();
    const next = new Map<string, Snapshot>();
    mesh.begin(core);
    const served = new Map<string, EnvoyResources>();
    for (const [key, translated] of perGateway) {
      const resources = mesh.withSecrets(key, translated);
      served.set(key, resources);
      const reused = mesh.reuse(key, resources);
      if (reused) {
        next.set(key, reused);
        continue;
      }
      try {
        next.set(key, buildSnapshot(resources, false, cache.get(key)));
      } catch (err) {
        const prev = cache.get(key);
        if (prev) next.set(key, prev);
        log.error({ gateway: key, err: (err as Error).message }, 'could not encode the Envoy config for this gateway; keeping its previous config');
      }
    }
    const snapshotsDone = performance.now();
    cache.setAll(next);
    mesh.done(next, (key) => served.get(key));
    state.rollout?.record(set.resources, cache.revision);
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
    state.resources = set.resources;
    state.settings = settings;
    state.generation++;
    const invalid = changes.invalid(core.status);
    log.info(
      { generation: state.generation, resources: set.resources.length, gateways: next.size, routes: core.ir.routes.length, invalid, ms: Math.round(performance.now() - started),
        // Where the time went: the core, translation, encoding the snapshots (the rest: serving them, status, sinks).
        phasesMs: { core: Math.round(coreDone - started), translate: Math.round(translateDone - coreDone), snapshots: Math.round(snapshotsDone - translateDone) } },
      'configuration updated',
    );
  };
  const sub = sets.pipe(map((set) => ({ set, started: performance.now() }))).subscribe(({ set, started }) => {
    try {
      apply(set, started);
    } catch (err) {
      // A bug must not end the stream: keep serving what is served and wait for the next change.
      log.error({ err: (err as Error).message, stack: (err as Error).stack }, 'could not compute the configuration for this change; the previous configuration is still served');
    }
  });
  return () => sub.unsubscribe();
}
