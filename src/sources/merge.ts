// Several sources (the file source, one Kubernetes source per cluster) as one
// stream of resource sets. Nothing is emitted until every source has emitted
// once, so readiness still means "everything has been read". The same
// resource (kind, namespace, name, cluster) from two sources is kept once:
// the older by creationTimestamp, then the earlier source; the other is
// reported.
import { combineLatest, map, type Observable } from 'rxjs';
import { resourceKey, type Resource } from '../resources/schema.js';
import type { Diagnostic, ResourceSet } from './file.js';

export interface NamedSource {
  /** Shown in diagnostics, e.g. "files in ./config" or "cluster west". */
  name: string;
  sets: Observable<ResourceSet>;
}

export function mergeSets(parts: ReadonlyArray<{ name: string; set: ResourceSet }>, defaultCluster: string): ResourceSet {
  if (parts.length === 1) return parts[0].set;
  const chosen = new Map<string, { r: Resource; from: string }>();
  const diagnostics: Diagnostic[] = [];
  const order: string[] = [];
  for (const { name, set } of parts) {
    for (const r of set.resources) {
      const id = `${r.cluster ?? defaultCluster}|${r.kind}/${r.metadata.namespace}/${r.metadata.name}`; // the default cluster written or not
      const prev = chosen.get(id);
      if (!prev) {
        chosen.set(id, { r, from: name });
        order.push(id);
        continue;
      }
      const older = (r.metadata.creationTimestamp ?? '~') < (prev.r.metadata.creationTimestamp ?? '~');
      const [keep, drop] = older ? [{ r, from: name }, prev] : [prev, { r, from: name }];
      chosen.set(id, keep);
      diagnostics.push({
        file: drop.from,
        resource: resourceKey(r),
        problems: [{ path: 'metadata.name', message: `${resourceKey(r)} in cluster ${r.cluster ?? defaultCluster} also comes from ${keep.from}, which is older and wins; this copy is ignored` }],
        keptPrevious: false,
      });
    }
  }
  return {
    resources: order.map((id) => chosen.get(id)!.r),
    rejected: parts.flatMap((p) => p.set.rejected),
    diagnostics: [...parts.flatMap((p) => p.set.diagnostics), ...diagnostics],
  };
}

export function mergeSources(sources: readonly NamedSource[], defaultCluster: string): Observable<ResourceSet> {
  if (sources.length === 1) return sources[0].sets;
  return combineLatest(sources.map((s) => s.sets)).pipe(map((sets) => mergeSets(sets.map((set, i) => ({ name: sources[i].name, set })), defaultCluster)));
}
