// Several sources, one per cluster (issue 14, item 8): each source's resources
// are stamped with the cluster it reads, and the sets are merged into one.
// Status keys of resources outside the default cluster end in "@<cluster>".
import type { Resource } from '../resources/schema.js';
import type { ResourceSet } from './file.js';

const stamped = new WeakMap<Resource, { cluster: string; out: Resource }>();

/** The set with every resource in `cluster` (undefined: the default cluster, left as is). */
export function stampCluster(set: ResourceSet, cluster: string | undefined): ResourceSet {
  if (cluster === undefined) return set;
  return {
    // Copies keep their identity across scans of unchanged files: the core memoises on it.
    resources: set.resources.map((r) => {
      const hit = stamped.get(r);
      if (hit?.cluster === cluster) return hit.out;
      const out = { ...r, cluster };
      stamped.set(r, { cluster, out });
      return out;
    }),
    rejected: set.rejected.map((x) => ({ ...x, key: x.key.startsWith('file:') ? x.key : `${x.key}@${cluster}`, messages: x.messages.map((m) => `cluster ${cluster}: ${m}`) })),
    diagnostics: set.diagnostics.map((d) => ({ ...d, ...(d.resource ? { resource: `${d.resource}@${cluster}` } : {}) })),
  };
}

export function mergeResourceSets(sets: readonly ResourceSet[]): ResourceSet {
  if (sets.length === 1) return sets[0];
  return {
    resources: sets.flatMap((s) => s.resources),
    rejected: sets.flatMap((s) => s.rejected),
    diagnostics: sets.flatMap((s) => s.diagnostics),
  };
}
