// The one place that owns the HTTP filter order (semantics §8):
//   cors, csrf, fault, [preAuthz: jwt, transform, ratelimit], ext_authz,
//   [postAuthz: jwt, transform, ratelimit], router
// Within a phase group, lower policy priority first, then jwt, transform,
// rate limit. A filter is present only if a route on the listener uses it, and
// is disabled by default: the routes a policy selects switch it on with their
// per-route config, so a policy never leaks onto a route it does not select.
import type { FilterInstance, FilterSlot } from './filter-policies.js';
import { mergeFilter } from './filter-policies.js';
import { ANY } from './types.js';

export const FILTER_ORDER = ['cors', 'csrf', 'fault', 'preAuthz', 'ext_authz', 'postAuthz', 'router'] as const;
const IN_GROUP: FilterSlot[] = ['jwt', 'transform', 'ratelimit'];

function position(f: FilterInstance): number {
  if (f.slot === 'cors' || f.slot === 'csrf' || f.slot === 'fault' || f.slot === 'ext_authz') return FILTER_ORDER.indexOf(f.slot);
  return FILTER_ORDER.indexOf(f.phase ?? 'postAuthz');
}

export function collectFilters(instances: FilterInstance[]): FilterInstance[] {
  const byName = new Map<string, FilterInstance>();
  for (const f of instances) {
    const prev = byName.get(f.name);
    byName.set(f.name, prev ? mergeFilter(prev, f) : f);
  }
  return [...byName.values()].sort(
    (a, b) =>
      position(a) - position(b) ||
      a.priority - b.priority ||
      IN_GROUP.indexOf(a.slot) - IN_GROUP.indexOf(b.slot) ||
      (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  );
}

export function httpFilterChain(filters: FilterInstance[]): Array<Record<string, unknown>> {
  return [
    ...collectFilters(filters).map((f) => ({ name: f.name, typedConfig: f.typedConfig, disabled: true })),
    { name: 'envoy.filters.http.router', typedConfig: ANY('envoy.extensions.filters.http.router.v3.Router') },
  ];
}
