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
