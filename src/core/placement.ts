// placePolicies between computations (issue 10 item 3): while the workspaces
// are the same index and each policy kept its key and creation time, the
// order by age and the owners are the last computation's; only the replaced
// policy objects are swapped in.
import type { PolicyR } from '../resources/schema.js';
import { placePolicies, type PlacedPolicy } from './policies.js';
import type { WorkspaceIndex } from './workspaces.js';

export interface PlacementMemo {
  policies?: PolicyR[];
  ws?: WorkspaceIndex;
  placed?: PlacedPolicy[];
}

const sameSlot = (a: PolicyR, b: PolicyR): boolean =>
  a.kind === b.kind && a.metadata.namespace === b.metadata.namespace && a.metadata.name === b.metadata.name && a.cluster === b.cluster && a.metadata.creationTimestamp === b.metadata.creationTimestamp;

export function placePoliciesMemo(policies: PolicyR[], ws: WorkspaceIndex, memo: PlacementMemo): PlacedPolicy[] {
  const last = memo.policies;
  let placed: PlacedPolicy[] | undefined;
  if (last && memo.placed && memo.ws === ws && last.length === policies.length) {
    let swap: Map<PolicyR, PolicyR> | undefined;
    let same = true;
    for (let i = 0; i < policies.length && same; i++) {
      if (policies[i] === last[i]) continue;
      if (sameSlot(policies[i], last[i])) (swap ??= new Map()).set(last[i], policies[i]);
      else same = false;
    }
    if (same) placed = swap ? memo.placed.map((p) => (swap!.has(p.policy) ? { ...p, policy: swap!.get(p.policy)! } : p)) : memo.placed;
  }
  placed ??= placePolicies(policies, ws);
  memo.policies = policies;
  memo.ws = ws;
  memo.placed = placed;
  return placed;
}
