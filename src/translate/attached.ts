// Policy references (on routes, backends, listeners) -> the policies as translation sees them.
import type { PolicyIR, PolicyRef } from '../ir/types.js';

export const policyKey = (ref: PolicyRef): string => `${ref.kind}/${ref.namespace}/${ref.name}`;

export const resolvePolicies = (refs: readonly PolicyRef[], byKey: Record<string, PolicyIR>): PolicyIR[] =>
  refs.map((ref) => byKey[policyKey(ref)]).filter((p): p is PolicyIR => !!p);
