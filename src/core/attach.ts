// Policy attachment over a routing stage (semantics §5-§7), and what it
// remembers between computations (issue 10 item 3): the world's mesh and
// egress plan, the policies' placement, their references, each route's
// attachment and the destinations' attachment are reused while what they read
// is unchanged, with their status writes replayed in order. Purely caches: the
// result is a fresh computation's (test/unit/incremental*.test.ts).
import type { Backend, CoreResult, DestinationIR, FinalRoute, SecretIR } from '../ir/types.js';
import type { PodR, PolicyR, Resource, SecretR, VirtualGatewayR } from '../resources/schema.js';
import { clusterSuffix, nsName, resourceKey } from '../resources/schema.js';
import { UNSUPPORTED_KINDS } from '../resources/policy-configs.js';
import type { DestinationCatalog } from './destinations.js';
import { planEgress, type EgressPlan } from './egress.js';
import { buildGateways } from './gateways.js';
import type { CoreSettings } from './index.js';
import { compareStr, selectorMatches } from './match.js';
import { resolvePolicyReferencesMemo, type PolicyReferenceMemo } from './policy-references.js';
import { attachDestinationPolicies, reportPolicySelection, selectsNothing, type DestinationUse, type PlacedPolicy } from './policies.js';
import { attachRoutePolicies, type RouteAttachMemo } from './route-attachment.js';
import { placePoliciesMemo, type PlacementMemo } from './placement.js';
import type { TableInfo } from './routes.js';
import { RecordingStatus, replayStatus, type StatusBook, type StatusJSONCache, type StatusOp } from './status.js';
import { buildMesh, DEFAULT_TRUST_DOMAIN, hasEnforcementPoint, namespaceLabelsOf, planMesh, type MeshContext, type MeshPlan } from './workloads.js';
import type { WorkspaceIndex } from './workspaces.js';

// Secrets and ConfigMaps too: ExtAuthPolicy glooAuth reads API keys, client secrets and Rego modules.
const ADMIN_KINDS = new Set(['ExtAuthServer', 'RateLimitServerSettings', 'RateLimitClientConfig', 'RateLimitServerConfig', 'Secret', 'ConfigMap']);

/** A root table bound to a gateway: its routes are stage.routes[start, start + routes.length). */
export interface Binding {
  gateway: string;
  root: TableInfo;
  routes: FinalRoute[];
  start: number;
}

/** Everything that does not depend on policies: memoised across policy edits. */
export interface RoutingStage {
  status: StatusBook;
  ws: WorkspaceIndex;
  catalog: DestinationCatalog;
  resources: Resource[];
  gatewaysByKey: Map<string, VirtualGatewayR>;
  routes: FinalRoute[];
  bindings: Binding[];
  backends: Map<string, Backend>;
  namespaces: Record<string, string>;
  /** SDS secrets ExternalServices originate TLS with (CA, client certificate). */
  externalSecrets: Record<string, SecretIR>;
}

/** What attachment reads of the world alone (no policies): the egress and mesh plans, and lookups. */
interface WorldPlan {
  namespaceLabels: Map<string, Record<string, string>>;
  egress: EgressPlan;
  plan: MeshPlan;
  admin: Map<string, Resource>;
  pods: PodR[];
  secrets: Map<string, SecretR>;
  /** The plans' status writes and the backends they added, in order. */
  ops: StatusOp[];
  backends: Backend[];
}

/** The destinations' attachment and what it read. */
interface DestinationsRecord {
  backends: Map<string, Backend>;
  policies: PlacedPolicy[];
  plan: MeshPlan;
  destinations: DestinationIR[];
  /** The destinations by "KIND/ns/name[@cluster]@consumer". */
  destIndex: Map<string, DestinationIR>;
  finalBackends: Backend[];
  ops: StatusOp[];
}

/** What an endpoint patch changed (src/core/endpoint-updates.ts): which backends read the moved endpoints, and how to make them again. */
export interface EndpointPatch {
  /** The backends that read the moved endpoints, made again (client policies kept), by cluster. */
  replaced: ReadonlyMap<string, Backend>;
  reresolve: (b: Backend) => Backend | undefined;
  /** Routing's backends made again, by cluster. */
  stageReplaced: ReadonlyMap<string, Backend>;
  /** The patched result's backends (client policies attached). */
  finalBackends: Backend[];
}

/**
 * After an endpoint patch: what attachment remembers, patched so the next
 * computation reuses it. Destinations' attachment and policies' references
 * read no endpoints, only their backends carry them, so those are swapped;
 * the world's plan is dropped if a backend it holds (what sidecars reach)
 * read them.
 */
export function patchAttachMemos(memos: AttachMemos, patch: EndpointPatch): void {
  const reads = (b: Backend) => patch.replaced.has(b.cluster);
  if (memos.world?.backends.some(reads)) {
    memos.world = undefined;
    memos.destinations = undefined;
  }
  for (const rec of memos.references.values()) {
    if (!rec.backends.some(reads)) continue;
    const next = rec.backends.map((b) => (reads(b) ? patch.reresolve(b) : b));
    if (next.some((b) => !b)) {
      memos.references.clear();
      memos.destinations = undefined;
      break;
    }
    rec.backends = next as Backend[];
  }
  const d = memos.destinations;
  if (!d) return;
  const backends = new Map(d.backends);
  for (const cluster of patch.replaced.keys()) {
    const b = d.backends.get(cluster);
    if (!b) continue;
    const now = patch.stageReplaced.get(cluster) ?? patch.reresolve(b);
    if (!now) {
      memos.destinations = undefined;
      return;
    }
    backends.set(cluster, now);
  }
  memos.destinations = { ...d, backends, finalBackends: patch.finalBackends };
}

/** What attachment remembers between computations; sameWorld: only route tables and policies changed since the last. */
export interface AttachMemos {
  routes: RouteAttachMemo;
  references: PolicyReferenceMemo;
  placement: PlacementMemo;
  world?: WorldPlan;
  destinations?: DestinationsRecord;
  statusJSON: StatusJSONCache;
  sameWorld: boolean;
}

export function attachPolicies(stage: RoutingStage, policyResources: PolicyR[], settings: CoreSettings, status: StatusBook, memos: AttachMemos): CoreResult {
  const { ws, catalog, resources, gatewaysByKey, bindings } = stage;
  const owned = (r: Resource): boolean => ws.ownerOf(r) !== undefined;
  for (const p of policyResources) {
    if (!owned(p)) status.invalid(resourceKey(p), `namespace "${p.metadata.namespace}" is not selected by any workspace, so this ${p.kind} is not translated; add the namespace to a Workspace's workloadClusters`);
  }
  // ---- policies -----------------------------------------------------------
  const supported = policyResources.filter((p) => {
    const why = UNSUPPORTED_KINDS[p.kind];
    if (why) status.invalid(resourceKey(p), `UNSUPPORTED: ${p.kind} is not translated: ${why}`);
    return !why;
  });
  const placed = placePoliciesMemo(supported, ws, memos.placement);
  const allBackends = new Map(stage.backends);
  const addBackend = (b: Backend) => void (allBackends.has(b.cluster) || allBackends.set(b.cluster, b));
  // Mesh mode: what sidecars may reach becomes backends (and so destination uses) of their workspaces.
  const world = memos.sameWorld && memos.world ? memos.world : planWorld(stage, settings);
  memos.world = world;
  replayStatus(status, world.ops);
  for (const b of world.backends) addBackend(b);
  const meshCtx: MeshContext = { ws, catalog, resources, namespaceLabels: world.namespaceLabels, clusterName: settings.clusterName, trustDomain: settings.trustDomain ?? DEFAULT_TRUST_DOMAIN, status, outboundMode: settings.outboundTrafficPolicy, egress: world.egress };
  const { plan, admin } = world;
  const policyIR = resolvePolicyReferencesMemo(placed, { ws, catalog, admin, addBackend }, status, memos.references, memos.sameWorld);
  const routes = attachRoutePolicies(stage.routes, placed, settings.clusterName, status, settings.featureGates, memos.routes);

  const { destinations, destIndex, finalBackends } = attachDestinations(stage, allBackends, placed, plan, meshCtx, settings, status, memos);

  // Workload and listener selection: counted so status says what a policy reaches.
  for (const p of placed) {
    for (const sel of p.policy.spec.applyToWorkloads ?? []) {
      const n = world.pods.filter((pod) => ws.ownerOf(pod) === p.workspace && selectorMatches(sel.selector, { metadata: pod.metadata, workspace: p.workspace, cluster: catalog.clusters.nameOf(pod) })).length;
      if (n) status.count(p.key, 'workloadsSelected', n);
    }
  }

  // ---- gateways -----------------------------------------------------------
  // The attached routes of a binding are at the same positions as its routes in stage.routes.
  const attached = bindings.map((b) => ({ ...b, routes: routes.slice(b.start, b.start + b.routes.length) }));
  const { gateways, secrets: sds } = buildGateways(gatewaysByKey, { ws, catalog, status, placed, bindings: attached, secrets: world.secrets, egress: world.egress, trustDomain: meshCtx.trustDomain, destinations: destIndex, meshMode: plan.meshedPods.size > 0 });

  const mesh = buildMesh(meshCtx, { plan, destinations, placed, routes, policies: policyIR, backends: new Map(finalBackends.map((b) => [b.cluster, b])), gateways: gatewaysByKey });

  reportPolicySelection(placed, status);

  return { ir: { gateways, routes, destinations, backends: finalBackends, policies: policyIR, secrets: { ...stage.externalSecrets, ...sds }, namespaces: stage.namespaces, ...(mesh ? { mesh } : {}) }, status: status.toJSON(memos.statusJSON) };
}

/** Egress gateways first (sidecars send some ExternalService ports to them, issue 13), then the mesh. */
function planWorld(stage: RoutingStage, settings: CoreSettings): WorldPlan {
  const { ws, catalog, resources, gatewaysByKey } = stage;
  const recorder = new RecordingStatus();
  const backends: Backend[] = [];
  const namespaceLabels = namespaceLabelsOf(resources);
  const egress = planEgress({ ws, catalog, status: recorder, gateways: gatewaysByKey }, (b) => void backends.push(b));
  const meshCtx: MeshContext = { ws, catalog, resources, namespaceLabels, clusterName: settings.clusterName, trustDomain: settings.trustDomain ?? DEFAULT_TRUST_DOMAIN, status: recorder, outboundMode: settings.outboundTrafficPolicy, egress };
  const plan = planMesh(meshCtx, (b) => void backends.push(b));
  const admin = new Map(resources.filter((r) => ADMIN_KINDS.has(r.kind)).map((r) => [resourceKey(r), r]));
  const pods = resources.filter((r) => r.kind === 'Pod') as PodR[];
  const secrets = new Map((resources.filter((r) => r.kind === 'Secret') as SecretR[]).map((r) => [nsName(r), r]));
  return { namespaceLabels, egress, plan, admin, pods, secrets, ops: recorder.ops, backends };
}

const destinationPolicy = (p: PlacedPolicy): boolean => !!p.policy.spec.applyToDestinations?.length || (p.ref.kind === 'AccessPolicy' && selectsNothing(p.policy));
const sameBackends = (a: Map<string, Backend>, b: Map<string, Backend>): boolean => {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) {
    const w = b.get(k);
    if (w !== v && (w === undefined || JSON.stringify(w) !== JSON.stringify(v))) return false;
  }
  return true;
};
const samePolicies = (a: PlacedPolicy[], b: PlacedPolicy[]): boolean => a.length === b.length && a.every((p, i) => p.policy === b[i].policy && p.rank === b[i].rank && p.workspace === b[i].workspace);

/**
 * One DestinationIR per (destination, consuming workspace) and the backends
 * with their client policies; reused while the world, the backends and the
 * destination policies (those that can select a destination) are unchanged.
 */
function attachDestinations(stage: RoutingStage, allBackends: Map<string, Backend>, placed: PlacedPolicy[], plan: MeshPlan, meshCtx: MeshContext, settings: CoreSettings, status: StatusBook, memos: AttachMemos): Pick<DestinationsRecord, 'destinations' | 'destIndex' | 'finalBackends'> {
  const policies = placed.filter(destinationPolicy);
  const last = memos.destinations;
  if (memos.sameWorld && last && last.plan === plan && samePolicies(policies, last.policies) && sameBackends(allBackends, last.backends)) {
    replayStatus(status, last.ops);
    memos.destinations = { ...last, backends: allBackends, policies };
    return last;
  }
  const { ws, catalog } = stage;
  const owned = (r: Resource): boolean => ws.ownerOf(r) !== undefined;
  const uses = new Map<string, DestinationUse>();
  const use = (kind: DestinationUse['kind'], object: DestinationUse['object'], consumer: string) => {
    const k = `${kind}/${nsName(object)}`;
    const owner = ws.ownerOf(object)!;
    const u = uses.get(k) ?? { kind, object, owner, consumers: new Set([owner]) };
    u.consumers.add(consumer);
    uses.set(k, u);
  };
  for (const s of catalog.services.values()) if (owned(s)) use('SERVICE', s, ws.ownerOf(s)!);
  for (const v of catalog.virtualDestinations.values()) use('VIRTUAL_DESTINATION', v, ws.ownerOf(v)!);
  for (const e of catalog.externalServices.values()) use('EXTERNAL_SERVICE', e, ws.ownerOf(e)!);
  for (const b of allBackends.values()) {
    const k = `${b.namespace}/${b.name}${clusterSuffix(b.resourceCluster)}`;
    const obj = b.kind === 'SERVICE' ? catalog.services.get(k) : b.kind === 'VIRTUAL_DESTINATION' ? catalog.virtualDestinations.get(k) : catalog.externalServices.get(k);
    use(b.kind, obj!, b.cluster.slice(b.cluster.lastIndexOf('@') + 1).split('#')[0]);
  }
  const recorder = new RecordingStatus();
  const sorted = [...uses.entries()].sort(([a], [b]) => compareStr(a, b)).map(([, u]) => u);
  const destinations = attachDestinationPolicies(sorted, policies, ws, settings.clusterName, recorder, settings.featureGates, (d, consumer) => hasEnforcementPoint(plan, meshCtx, d, consumer));
  replayStatus(status, recorder.ops);
  const destIndex = new Map(destinations.map((d) => [`${d.kind}/${d.namespace}/${d.name}${clusterSuffix(d.cluster)}@${d.consumer}`, d]));
  const finalBackends = [...allBackends.values()]
    .map((b) => ({ ...b, clientPolicies: destIndex.get(`${b.kind}/${b.namespace}/${b.name}${clusterSuffix(b.resourceCluster)}@${b.cluster.slice(b.cluster.lastIndexOf('@') + 1).split('#')[0]}`)?.clientPolicies ?? [] }))
    .sort((a, b) => compareStr(a.cluster, b.cluster));
  memos.destinations = { backends: allBackends, policies, plan, destinations, destIndex, finalBackends, ops: recorder.ops };
  return { destinations, destIndex, finalBackends };
}
