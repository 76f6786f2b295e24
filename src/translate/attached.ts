// Policy references (on routes, backends, listeners) -> the policies as translation sees them.
import type { PolicyIR, PolicyRef } from '../ir/types.js';

const keys = new WeakMap<PolicyRef, string>();
/** Kind/namespace/name; the core shares one ref object among the routes a policy applies to, so it is built once. */
export const policyKey = (ref: PolicyRef): string => {
  let k = keys.get(ref);
  if (k === undefined) keys.set(ref, (k = `${ref.kind}/${ref.namespace}/${ref.name}`));
  return k;
};

export const resolvePolicies = (refs: readonly PolicyRef[], byKey: Record<string, PolicyIR>): PolicyIR[] =>
  refs.map((ref) => byKey[policyKey(ref)]).filter((p): p is PolicyIR => !!p);
