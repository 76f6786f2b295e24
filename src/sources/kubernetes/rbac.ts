// The API access meshplane needs, derived from the kind table: list and watch
// every kind it reads, patch the status of the Gloo kinds, and a Lease for
// leader election. The Helm chart's ClusterRole is generated from this.
import { CUSTOM_KINDS, KUBE_KINDS } from './kinds.js';

export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

export function clusterRules(): PolicyRule[] {
  const byGroup = new Map<string, Set<string>>();
  const add = (group: string, resource: string) => (byGroup.get(group) ?? byGroup.set(group, new Set()).get(group)!).add(resource);
  for (const k of KUBE_KINDS) add(k.group, k.plural);
  const sorted = (s: Iterable<string>) => [...s].sort();
  const read = [...byGroup.keys()].sort().map((g) => ({ apiGroups: [g], resources: sorted(byGroup.get(g)!), verbs: ['list', 'watch'] }));
  const statusGroups = new Map<string, Set<string>>();
  for (const k of CUSTOM_KINDS) (statusGroups.get(k.group) ?? statusGroups.set(k.group, new Set()).get(k.group)!).add(`${k.plural}/status`);
  const status = [...statusGroups.keys()].sort().map((g) => ({ apiGroups: [g], resources: sorted(statusGroups.get(g)!), verbs: ['patch'] }));
  return [...read, ...status];
}

/** In meshplane's own namespace only: the Lease that elects the status writer. */
export const leaseRules = (): PolicyRule[] => [{ apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] }];
