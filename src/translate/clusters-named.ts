// The Envoy clusters a piece of config names: every served one must exist, or Envoy rejects the config.

/** Finds every `cluster` / `clusterName` / `name` of weighted clusters in a config tree. */
export function collectClusters(node: unknown, into: Set<string>): void {
  if (Array.isArray(node)) return node.forEach((n) => collectClusters(n, into));
  if (!node || typeof node !== 'object') return;
  for (const [k, v] of Object.entries(node)) {
    if ((k === 'cluster' || k === 'clusterName') && typeof v === 'string') into.add(v);
    else if (k === 'weightedClusters') for (const c of (v as { clusters: Array<{ name: string }> }).clusters) into.add(c.name);
    else collectClusters(v, into);
  }
}

const named = new WeakMap<object, string[]>();
/** collectClusters for a config object that never changes (a filter's typed config): walked once per object. */
export function collectClustersOnce(node: object, into: Set<string>): void {
  let names = named.get(node);
  if (!names) {
    const found = new Set<string>();
    collectClusters(node, found);
    named.set(node, (names = [...found]));
  }
  for (const n of names) into.add(n);
}
