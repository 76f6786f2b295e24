// Several clusters in one computation (issue 14, item 8). Every resource lives
// in one cluster: the one its source stamped (`Resource.cluster`), or the
// default cluster (settings.clusterName). Namespaces are per cluster, keys of
// resources outside the default cluster end in `@<cluster>`, and references
// name the cluster they point into (`ref.cluster`), defaulting to the
// referrer's own.
import type { Resource, RouteTableR } from '../resources/schema.js';

export interface Clusters {
  readonly defaultCluster: string;
  /** Every cluster some resource lives in, and the default one. */
  readonly known: ReadonlySet<string>;
  /** The cluster of a resource, by name. */
  nameOf(r: { cluster?: string }): string;
  /**
   * The cluster a reference points into: its own `cluster`, else the referrer's.
   * undefined means the default cluster. With a single cluster every reference
   * is into it, whatever cluster name the manifest wrote (one cluster is all
   * meshplane was given); with several, an unknown name is an error.
   */
  resolve(refCluster: string | undefined, referrer?: string): { cluster?: string; error?: string };
}

export function indexClusters(resources: readonly Resource[], defaultCluster: string): Clusters {
  const known = new Set([defaultCluster]);
  for (const r of resources) if (r.cluster) known.add(r.cluster);
  const multi = known.size > 1;
  return {
    defaultCluster,
    known,
    nameOf: (r) => r.cluster ?? defaultCluster,
    resolve(refCluster, referrer) {
      const c = refCluster ?? referrer;
      if (c === undefined || c === defaultCluster) return {};
      if (known.has(c)) return { cluster: c };
      if (!multi) return {};
      return { error: `cluster "${c}" is not one meshplane reads (clusters: ${[...known].sort().join(', ')}); give its directory with --config-dir and --cluster-name` };
    },
  };
}

const normalized = new WeakMap<Resource, { defaultCluster: string; out: Resource }>();

/**
 * The same resources with `cluster` cleared for the default cluster, and the
 * destinations of route tables in other clusters pointing into their own
 * cluster unless they say otherwise. Copies are cached per input object so
 * unchanged resources keep their identity (the core memoises on it).
 */
export function normalizeClusters(input: readonly Resource[], defaultCluster: string): Resource[] {
  return input.map((r) => {
    if (r.cluster === undefined) return r;
    const hit = normalized.get(r);
    if (hit && hit.defaultCluster === defaultCluster) return hit.out;
    let out: Resource;
    if (r.cluster === defaultCluster) {
      const { cluster: _c, ...rest } = r;
      out = rest as Resource;
    } else if (r.kind === 'RouteTable') {
      const t = r as RouteTableR;
      const own = <D extends { ref: { cluster?: string } }>(d: D): D => ({ ...d, ref: { ...d.ref, cluster: d.ref.cluster ?? r.cluster } });
      out = {
        ...t,
        spec: {
          ...t.spec,
          http: t.spec.http.map((h) => (h.forwardTo ? { ...h, forwardTo: { ...h.forwardTo, destinations: h.forwardTo.destinations.map(own) } } : h)),
          virtualGateways: t.spec.virtualGateways?.map((g) => ({ ...g, cluster: g.cluster ?? r.cluster })),
        },
      } as Resource;
    } else out = r;
    normalized.set(r, { defaultCluster, out });
    return out;
  });
}
