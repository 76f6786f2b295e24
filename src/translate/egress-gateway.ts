// The egress gateway's access control (issue 13): per exposed ExternalService
// (one virtual host each), the AccessPolicies of the gateway's workspace as an
// RBAC allow-list on the caller's mesh identity; 403 for anyone else.
import type { IR, ListenerIR, PolicyIR } from '../ir/types.js';
import { resolvePolicies } from './attached.js';
import type { FilterInstance } from './filter-policies.js';
import { rbacPolicy } from './rbac.js';
import { ANY, type NamedResource } from './types.js';

const RBAC = 'envoy.extensions.filters.http.rbac.v3';
export const EGRESS_RBAC_FILTER = 'envoy.filters.http.rbac.egress';

/** The allow-list of one virtual host; AccessPolicies the core could not resolve (no mesh) deny. */
function allowList(policies: PolicyIR[]): Record<string, unknown> | undefined {
  const access = policies.filter((p) => p.kind === 'AccessPolicy');
  if (!access.length) return undefined;
  const rbacPolicies: Record<string, unknown> = {};
  let restricts = false;
  for (const p of access) {
    if (!p.access) {
      restricts = true; // fail closed
      continue;
    }
    if (!p.access.rules) continue; // authn only
    restricts = true;
    p.access.rules.forEach((r, i) => (rbacPolicies[`${p.namespace}/${p.name}[${i}]`] = rbacPolicy(r)));
  }
  return restricts ? { rules: { action: 'ALLOW', policies: rbacPolicies } } : undefined;
}

/**
 * The route configuration of an egress listener with its per-virtual-host
 * RBAC, and the filter it needs. A new object when RBAC applies: the route
 * configuration passed in is memoised (and its encoding cached by identity),
 * so it is never changed.
 */
export function egressAccess(l: ListenerIR, routeConfig: NamedResource, ir: IR): { resource: NamedResource; filter: FilterInstance } | undefined {
  if (!l.egress) return undefined;
  let used = false;
  const virtualHosts = (routeConfig.body as { virtualHosts: Array<Record<string, unknown>> }).virtualHosts.map((vh) => {
    const refs = l.egress![vh.name as string];
    if (!refs?.length) return vh;
    const rbac = allowList(resolvePolicies(refs, ir.policies));
    if (!rbac) return vh;
    used = true;
    return { ...vh, typedPerFilterConfig: { ...((vh.typedPerFilterConfig as Record<string, unknown>) ?? {}), [EGRESS_RBAC_FILTER]: ANY(`${RBAC}.RBACPerRoute`, { rbac }) } };
  });
  if (!used) return undefined;
  return { resource: { ...routeConfig, body: { ...routeConfig.body, virtualHosts } }, filter: { name: EGRESS_RBAC_FILTER, slot: 'ext_authz', priority: 0, typedConfig: ANY(`${RBAC}.RBAC`) } };
}
