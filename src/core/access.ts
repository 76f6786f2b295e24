// AccessPolicy config -> allow rules with clients resolved to SPIFFE principal
// matches (spiffe://<trust domain>/ns/<ns>/sa/<sa>). Translation turns the
// rules into Envoy RBAC on the destination's sidecar.
import type { AccessIR, AccessRuleIR, PrincipalMatch } from '../ir/types.js';
import type { AccessAuthz, AccessPolicyConfig } from '../resources/policy-configs.js';
import type { Resource } from '../resources/schema.js';
import { globMatch, isLiteral, selectorMatches } from './match.js';
import type { PlacedPolicy } from './policies.js';
import type { MeshContext } from './workloads.js';

type Selector = NonNullable<AccessAuthz['allowedClients']>[number]['serviceAccountSelector'];

const reEscape = (s: string): string => s.replace(/[.+?^${}()|[\]\\*]/g, '\\$&');
/** A name glob as RE2: `*` never crosses a path segment. */
const globRe = (g: string | undefined): string => (g === undefined ? '[^/]+' : g.split('*').map(reEscape).join('[^/]*'));

export function resolveAccess(p: PlacedPolicy, ctx: MeshContext): AccessIR {
  const config = p.policy.spec.config as AccessPolicyConfig;
  const entries = [...(config.authz ? [config.authz] : []), ...(config.authzList ?? [])];
  const rules: AccessRuleIR[] = entries.map((a) => ({
    principals: a.allowedClients?.length ? a.allowedClients.flatMap((c) => principalsFor(c.serviceAccountSelector, ctx)) : null,
    ipBlocks: a.allowedIpBlocks ?? [],
    paths: a.allowedPaths ?? [],
    methods: a.allowedMethods ?? [],
    headers: (a.match?.request?.headers ?? []).map((h) => ({ name: h.name, values: h.values ?? [], notValues: h.notValues ?? [] })),
  }));
  // An AccessPolicy that only sets authn changes TLS, not who may call; one with an empty config allows nobody.
  const authnOnly = entries.length === 0 && config.authn !== undefined;
  return { ...(config.authn ? { tlsMode: config.authn.tlsMode } : {}), rules: authnOnly ? null : rules };
}

/**
 * The principals a serviceAccountSelector stands for. Unset fields match any
 * value; `workspace` means the namespaces of the matching workspaces; `labels`
 * match ServiceAccount resources; a `cluster` other than this one matches none.
 */
export function principalsFor(sel: Selector, ctx: MeshContext): PrincipalMatch[] {
  const td = ctx.trustDomain;
  if (sel.cluster !== undefined && !globMatch(sel.cluster, ctx.clusterName)) return [{ none: true }];
  if (sel.labels && Object.keys(sel.labels).length) {
    const accounts = ctx.resources.filter((r) => r.kind === 'ServiceAccount') as Resource[];
    const out = accounts
      .filter((a) => selectorMatches({ ...sel, cluster: undefined }, { metadata: a.metadata, workspace: ctx.ws.workspaceOf(a.metadata.namespace), cluster: ctx.clusterName }))
      .map((a) => ({ exact: `spiffe://${td}/ns/${a.metadata.namespace}/sa/${a.metadata.name}` }));
    return out.length ? out : [{ none: true }];
  }
  if (sel.workspace !== undefined) {
    const namespaces = [...ctx.namespaceLabels.keys()].filter((n) => {
      const w = ctx.ws.workspaceOf(n);
      return w !== undefined && globMatch(sel.workspace, w) && (sel.namespace === undefined || globMatch(sel.namespace, n));
    }).sort();
    if (!namespaces.length) return [{ none: true }];
    return namespaces.map((n) => (sel.name === undefined ? { prefix: `spiffe://${td}/ns/${n}/sa/` } : isLiteral(sel.name) ? { exact: `spiffe://${td}/ns/${n}/sa/${sel.name}` } : { regex: `spiffe://${reEscape(td)}/ns/${reEscape(n)}/sa/${globRe(sel.name)}` }));
  }
  if (isLiteral(sel.namespace) && isLiteral(sel.name)) return [{ exact: `spiffe://${td}/ns/${sel.namespace}/sa/${sel.name}` }];
  if (isLiteral(sel.namespace) && sel.name === undefined) return [{ prefix: `spiffe://${td}/ns/${sel.namespace}/sa/` }];
  return [{ regex: `spiffe://${reEscape(td)}/ns/${globRe(sel.namespace)}/sa/${globRe(sel.name)}` }];
}
