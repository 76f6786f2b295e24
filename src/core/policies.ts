// Policy attachment (semantics §5-§7): which policies reach a final route or a
// destination, and which one wins when several of one kind select the same thing.
import type { DestinationIR, FinalRoute, PolicyRef, SkippedPolicy } from '../ir/types.js';
import type { PolicyKind, PolicyR } from '../resources/schema.js';
import { resourceKey } from '../resources/schema.js';
import { SHARED_KIND, type DestinationObject } from './destinations.js';
import { compareStr, selectorMatches } from './match.js';
import type { StatusBook } from './status.js';
import type { WorkspaceIndex } from './workspaces.js';

export const MERGING_KINDS: ReadonlySet<PolicyKind> = new Set([
  'AccessPolicy', 'AccessLogPolicy', 'ActiveHealthCheckPolicy', 'DLPPolicy', 'FailoverPolicy', 'WAFPolicy',
]);
export const SERVER_SIDE_KINDS: ReadonlySet<PolicyKind> = new Set(['AccessPolicy']);
/** Workload-scoped kinds never leave their workspace and never attach to destinations of other workspaces. */
export const WORKLOAD_SCOPED_KINDS: ReadonlySet<PolicyKind> = new Set(['AccessLogPolicy']);

export interface FeatureGates {
  VirtualDestinationWorkspacePolicyOverride: boolean;
  gatewayDefaultDenyAllHTTPRequests: boolean;
}
export const REQUIRE_AUTH_LABEL = 'gateway.gloo.solo.io/require_auth';

export interface PlacedPolicy {
  policy: PolicyR;
  workspace: string;
  key: string;
  ref: PolicyRef;
  /** Position by age (oldest first, ties by namespace/name): sorting by it is sorting by age. */
  rank: number;
}

export function placePolicies(policies: PolicyR[], ws: WorkspaceIndex): PlacedPolicy[] {
  const out: PlacedPolicy[] = [];
  const ts = new Map(policies.map((p) => [p, p.metadata.creationTimestamp ? Date.parse(p.metadata.creationTimestamp) : Number.POSITIVE_INFINITY]));
  // Equal timestamps: byAge's tie-break (namespace, then name), without parsing the timestamps again.
  const sorted = [...policies].sort((a, b) => ts.get(a)! - ts.get(b)! || (ts.get(a) === ts.get(b) ? compareStr(a.metadata.namespace, b.metadata.namespace) || compareStr(a.metadata.name, b.metadata.name) : 0));
  for (const p of sorted) {
    const w = ws.ownerOf(p);
    if (!w) continue;
    out.push({ policy: p, workspace: w, key: resourceKey(p), rank: out.length, ref: { kind: p.kind as PolicyKind, namespace: p.metadata.namespace, name: p.metadata.name, workspace: w } });
  }
  return out;
}

const phaseOf = (p: PolicyR): 'preAuthz' | 'postAuthz' => ((p.spec.config as { phase?: { preAuthz?: unknown } }).phase?.preAuthz ? 'preAuthz' : 'postAuthz');

/**
 * Resolves conflicts among policies (already oldest first) attached to one target.
 * Returns the winners and the skipped ones with the reason.
 */
export function resolveConflicts(candidates: PlacedPolicy[], target: string, status: Pick<StatusBook, 'warn'>): { applied: PolicyRef[]; skipped: SkippedPolicy[] } {
  if (candidates.length === 0) return { applied: [], skipped: [] };
  if (candidates.length === 1) return { applied: [candidates[0].ref], skipped: [] };
  const applied: PolicyRef[] = [];
  const skipped: SkippedPolicy[] = [];
  // One winner per slot (kind, and phase for transformations): scanned, as there are a few dozen kinds at most.
  const winners: PlacedPolicy[] = [];
  for (const c of candidates) {
    const kind = c.ref.kind;
    if (MERGING_KINDS.has(kind)) {
      applied.push(c.ref);
      continue;
    }
    const winner = winners.find((w) => w.ref.kind === kind && (kind !== 'TransformationPolicy' || phaseOf(w.policy) === phaseOf(c.policy)));
    if (!winner) {
      winners.push(c);
      applied.push(c.ref);
      continue;
    }
    const message = `${kind} conflicts with ${winner.ref.namespace}/${winner.ref.name} (older) already applied to ${target}; skipping ${c.ref.namespace}/${c.ref.name}`;
    const { namespace, name, workspace } = c.ref;
    if (kind === 'TransformationPolicy') {
      const phase = phaseOf(c.policy);
      skipped.push({ kind, namespace, name, workspace, reason: 'phase', message: `${message} (the oldest of phase ${phase} applies)`, winner: winner.ref, phase });
    } else skipped.push({ kind, namespace, name, workspace, reason: 'conflict', message, winner: winner.ref });
    status.warn(c.key, message);
  }
  return { applied, skipped };
}

export const selectsNothing = (p: PolicyR): boolean =>
  !p.spec.applyToRoutes?.length && !p.spec.applyToDestinations?.length && !p.spec.applyToWorkloads?.length && !p.spec.applyToListeners?.length;

export interface DestinationUse {
  kind: DestinationIR['kind'];
  object: DestinationObject;
  owner: string;
  consumers: Set<string>;
}

export function destinationSelected(p: PlacedPolicy, d: DestinationUse, clusterName: string): boolean {
  const sels = p.policy.spec.applyToDestinations;
  if (!sels?.length) {
    // An AccessPolicy that selects nothing at all applies to every destination of its workspace.
    return p.ref.kind === 'AccessPolicy' && selectsNothing(p.policy) && d.owner === p.workspace;
  }
  return sels.some((s) => (s.kind ?? 'SERVICE') === d.kind && selectorMatches(s.selector, { metadata: d.object.metadata, workspace: d.owner, cluster: d.object.cluster ?? clusterName }));
}

/** One DestinationIR per (destination, consuming workspace), with the §6 table applied. */
export function attachDestinationPolicies(
  uses: DestinationUse[],
  placed: PlacedPolicy[],
  ws: WorkspaceIndex,
  clusterName: string,
  status: StatusBook,
  gates: FeatureGates,
  /** Whether a sidecar enforces server-side policies on d for this consumer (mesh mode). */
  enforced: (d: DestinationUse, consumer: string) => boolean = () => false,
): DestinationIR[] {
  const out: DestinationIR[] = [];
  const destPolicies = placed.filter((p) => p.policy.spec.applyToDestinations?.length || (p.ref.kind === 'AccessPolicy' && selectsNothing(p.policy)));
  const counted = new Set<string>();
  for (const d of uses) {
    const selecting = destPolicies.filter((p) => destinationSelected(p, d, clusterName));
    for (const consumer of [...d.consumers].sort()) {
      // A policy in workspace X can only select what X sees.
      const from = (w: string) => selecting.filter((p) => p.workspace === w && ws.isVisible(SHARED_KIND[d.kind], d.object, d.owner, w));
      const client = (w: string) => from(w).filter((p) => !SERVER_SIDE_KINDS.has(p.ref.kind) && !(WORKLOAD_SCOPED_KINDS.has(p.ref.kind) && w !== d.owner));
      const server = (w: string) => from(w).filter((p) => SERVER_SIDE_KINDS.has(p.ref.kind));
      let clientSide: PlacedPolicy[];
      let serverSide: PlacedPolicy[];
      if (consumer === d.owner) {
        clientSide = client(consumer);
        serverSide = server(consumer);
      } else if (d.kind === 'SERVICE') {
        clientSide = client(consumer);
        serverSide = server(d.owner);
      } else if (d.kind === 'VIRTUAL_DESTINATION') {
        const mine = client(consumer);
        clientSide = gates.VirtualDestinationWorkspacePolicyOverride
          ? [...client(d.owner).filter((p) => !mine.some((m) => m.ref.kind === p.ref.kind)), ...mine]
          : mine;
        serverSide = server(consumer);
      } else {
        clientSide = client(consumer);
        serverSide = server(consumer);
      }
      const target = `${d.kind} ${d.object.metadata.namespace}/${d.object.metadata.name} (consumed by workspace "${consumer}")`;
      const c = resolveConflicts(clientSide.sort((a, b) => a.rank - b.rank), target, status);
      const s = resolveConflicts(serverSide.sort((a, b) => a.rank - b.rank), target, status);
      for (const p of [...clientSide, ...serverSide]) {
        const k = `${p.key}|${d.kind}|${d.object.metadata.namespace}/${d.object.metadata.name}`;
        if (!counted.has(k)) {
          counted.add(k);
          status.count(p.key, 'destinationsSelected');
        }
      }
      if (serverSide.length && !enforced(d, consumer)) {
        for (const p of serverSide) {
          // Server-side policies are enforced by the destination's own sidecar (docs/mesh.md).
          const behind = d.kind === 'VIRTUAL_DESTINATION' ? `none of its backing Services in workspace "${consumer}" has` : 'none of its workloads has';
          status.warn(p.key, `${p.ref.kind} applies server-side to ${d.kind} ${d.object.metadata.namespace}/${d.object.metadata.name}, but it has no enforcement point: ${behind} a sidecar (label the Pods sidecar.istio.io/inject: "true" or the namespace istio-injection: enabled)`);
        }
      }
      out.push({ kind: d.kind, namespace: d.object.metadata.namespace, name: d.object.metadata.name, ...(d.object.cluster ? { cluster: d.object.cluster } : {}), owner: d.owner, consumer, clientPolicies: c.applied, serverPolicies: s.applied });
    }
  }
  return out;
}

export function reportPolicySelection(placed: PlacedPolicy[], status: StatusBook): void {
  for (const p of placed) {
    const c = status.get(p.key)?.counters;
    if (c && (c.routesSelected || c.destinationsSelected || c.workloadsSelected || c.listenersSelected)) continue;
    status.accept(p.key);
    status.warn(p.key, `${p.ref.kind} ${p.ref.namespace}/${p.ref.name} selects no routes, destinations, workloads or listeners in workspace "${p.workspace}"`);
  }
}
