// AccessPolicy allow rules and service isolation -> Envoy RBAC HTTP filters
// on a sidecar's inbound chain. An ALLOW policy set with no match denies with
// 403 ("RBAC: access denied"), so a destination with an AccessPolicy denies
// everything its rules do not allow.
import type { AccessRuleIR, PolicyIR, PrincipalMatch } from '../ir/types.js';
import { ANY } from './types.js';

const RBAC = 'envoy.extensions.filters.http.rbac.v3.RBAC';
export const RBAC_FILTER = 'envoy.filters.http.rbac';
export const ISOLATION_FILTER = 'envoy.filters.http.rbac.isolation';

const any = { any: true };
const or = <T>(key: 'orRules' | 'orIds', items: T[]): T | Record<string, unknown> => (items.length === 1 ? items[0] : { [key]: key === 'orRules' ? { rules: items } : { ids: items } });
const and = (key: 'andRules' | 'andIds', items: unknown[]): unknown => (items.length === 0 ? any : items.length === 1 ? items[0] : { [key]: key === 'andRules' ? { rules: items } : { ids: items } });

/** Istio-style path: "*" any, "/p*" prefix, "*s" suffix, else exact. */
export function pathMatcher(p: string): Record<string, unknown> | undefined {
  if (p === '*') return undefined;
  if (p.endsWith('*')) return { prefix: p.slice(0, -1) };
  if (p.startsWith('*')) return { suffix: p.slice(1) };
  return { exact: p };
}

function principalId(m: PrincipalMatch): Record<string, unknown> {
  if ('none' in m) return { notId: any };
  const matcher = 'exact' in m ? { exact: m.exact } : 'prefix' in m ? { prefix: m.prefix } : { safeRegex: { regex: m.regex } };
  return { authenticated: { principalName: matcher } };
}

function cidr(block: string): Record<string, unknown> {
  const [addressPrefix, bits] = block.split('/');
  return { addressPrefix, prefixLen: { value: bits !== undefined ? Number(bits) : addressPrefix.includes(':') ? 128 : 32 } };
}

const header = (name: string, value: string) => ({ header: { name, stringMatch: { exact: value } } });

export function rbacPolicy(rule: AccessRuleIR): Record<string, unknown> {
  const perms: unknown[] = [];
  const paths = rule.paths.map(pathMatcher);
  if (paths.length && !paths.includes(undefined)) perms.push(or('orRules', paths.map((m) => ({ urlPath: { path: m } }))));
  if (rule.methods.length) perms.push(or('orRules', rule.methods.map((m) => header(':method', m))));
  for (const h of rule.headers) {
    if (h.values.length) perms.push(or('orRules', h.values.map((v) => header(h.name, v))));
    if (h.notValues.length) perms.push({ notRule: or('orRules', h.notValues.map((v) => header(h.name, v))) });
  }
  const ids: unknown[] = [];
  if (rule.principals) ids.push(or('orIds', rule.principals.map(principalId)));
  if (rule.ipBlocks.length) ids.push(or('orIds', rule.ipBlocks.map((b) => ({ directRemoteIp: cidr(b) }))));
  return { permissions: [and('andRules', perms)], principals: [and('andIds', ids)] };
}

/**
 * The AccessPolicies of one inbound port, merged into one allow-list. Undefined
 * when none restricts callers (no AccessPolicy, or authn-only ones).
 */
export function accessFilter(policies: PolicyIR[]): Record<string, unknown> | undefined {
  const restricting = policies.filter((p) => p.kind === 'AccessPolicy' && p.access?.rules);
  if (!restricting.length) return undefined;
  const rbacPolicies: Record<string, unknown> = {};
  for (const p of restricting) p.access!.rules!.forEach((r, i) => (rbacPolicies[`${p.namespace}/${p.name}[${i}]`] = rbacPolicy(r)));
  return { name: RBAC_FILTER, typedConfig: ANY(RBAC, { rules: { action: 'ALLOW', policies: rbacPolicies } }) };
}

/** Service isolation: only peers of the owning and importing workspaces' namespaces. */
export function isolationFilter(allowed: PrincipalMatch[] | null): Record<string, unknown> | undefined {
  if (!allowed) return undefined;
  return {
    name: ISOLATION_FILTER,
    typedConfig: ANY(RBAC, { rules: { action: 'ALLOW', policies: { 'service-isolation': { permissions: [any], principals: [or('orIds', allowed.map(principalId))] } } } }),
  };
}
