// Gloo's rate-limit client and server configs -> what the reference rate-limit
// service (github.com/envoyproxy/ratelimit) and Envoy's route actions can do.
//
// Ordered `actions` pass through: Envoy sends their entries in order and the
// service walks its descriptor tree in that order. Gloo's set-style rules
// (`setDescriptors` matched by `setActions`, entries in any order) have no
// counterpart in the reference service, so each set rule becomes its own
// ordered descriptor: Envoy gets one rate limit per rule whose actions are a
// generic key naming the rule followed by the actions producing the rule's
// entries, in the rule's order, and the service gets the matching tree path.
// Envoy sends a descriptor only when every action produced its entry, which is
// the set rule's own condition: all its entries are present.
import type { Descriptor, RateLimitAction, RateLimitEntry, SetDescriptor } from '../resources/rate-limit-configs.js';
import { actionDescriptorKey } from '../resources/rate-limit-configs.js';

export const SET_RULE_KEY = 'meshplane.set';

export interface ExpandedRateLimits {
  /** Envoy route rate limits: ordered actions plus an optional limit override. */
  actions: Array<{ actions: RateLimitAction[]; limit?: RateLimitEntry['limit'] }>;
  /** The service's descriptor tree entries for this server config. */
  descriptors: Descriptor[];
  /** Refusals: what cannot be enforced as written. */
  errors: string[];
  /** Worth knowing, not wrong: e.g. a set rule that no action can ever match. */
  notes: string[];
}

/** Could one request match both rules? Shared keys must not pin different values. */
const compatible = (a: SetDescriptor, b: SetDescriptor): boolean =>
  a.simpleDescriptors.every((x) => b.simpleDescriptors.every((y) => x.key !== y.key || x.value === undefined || y.value === undefined || x.value === y.value));
/** a is less specific than b: its entries are a strict subset of b's (values pinned count). */
const lessSpecific = (a: SetDescriptor, b: SetDescriptor): boolean =>
  a.simpleDescriptors.length < b.simpleDescriptors.length &&
  a.simpleDescriptors.every((x) => b.simpleDescriptors.some((y) => y.key === x.key && (x.value === undefined || x.value === y.value)));

/**
 * `ruleId` prefixes set rules (unique per server config, e.g. "ns.name").
 * `entries` are the policy's rate limits (from its client config or `raw`).
 */
export function expandRateLimits(ruleId: string, descriptors: Descriptor[], sets: SetDescriptor[], entries: RateLimitEntry[]): ExpandedRateLimits {
  const out: ExpandedRateLimits = { actions: [], descriptors: [...descriptors], errors: [], notes: [] };
  // Gloo applies only the most specific matching set rule unless the other says alwaysApply;
  // the reference service applies every matching descriptor, so such a pair cannot be mapped.
  sets.forEach((a, i) =>
    sets.forEach((b, j) => {
      if (i !== j && !a.alwaysApply && compatible(a, b) && lessSpecific(a, b)) {
        out.errors.push(`UNSUPPORTED: raw.setDescriptors[${i}] is less specific than raw.setDescriptors[${j}]: Gloo would skip [${i}] when [${j}] matches, the reference rate-limit service applies both; set alwaysApply: true on [${i}] to apply both`);
      }
    }),
  );
  sets.forEach((rule, i) => {
    const id = `${ruleId}.${i}`;
    let leaf: Descriptor = { key: rule.simpleDescriptors.at(-1)!.key, ...(rule.simpleDescriptors.at(-1)!.value !== undefined ? { value: rule.simpleDescriptors.at(-1)!.value } : {}), rateLimit: rule.rateLimit };
    for (const sd of rule.simpleDescriptors.slice(0, -1).reverse()) leaf = { key: sd.key, ...(sd.value !== undefined ? { value: sd.value } : {}), descriptors: [leaf] };
    out.descriptors.push({ key: SET_RULE_KEY, value: id, descriptors: [leaf] });
  });
  for (const e of entries) {
    if (e.actions) {
      out.actions.push({ actions: e.actions, ...(e.limit ? { limit: e.limit } : {}) });
      continue;
    }
    const byKey = new Map(e.setActions!.map((a) => [actionDescriptorKey(a), a]));
    sets.forEach((rule, i) => {
      const missing = rule.simpleDescriptors.map((d) => d.key).filter((k) => !byKey.has(k));
      if (missing.length) {
        out.notes.push(`raw.setDescriptors[${i}] never matches through these setActions: no action produces ${missing.map((k) => `"${k}"`).join(', ')}`);
        return;
      }
      out.actions.push({
        actions: [{ genericKey: { descriptorKey: SET_RULE_KEY, descriptorValue: `${ruleId}.${i}` } }, ...rule.simpleDescriptors.map((d) => byKey.get(d.key)!)],
        ...(e.limit ? { limit: e.limit } : {}),
      });
    });
  }
  return out;
}
