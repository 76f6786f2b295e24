// The translation core: (resources, settings) -> { ir, status }. Pure and
// deterministic: no clocks, no randomness, no I/O; input order never matters.
import type { CoreResult, FinalRoute, SecretIR } from '../ir/types.js';
import type {
  ExternalEndpointR,
  ExternalServiceR,
  PodR,
  PolicyR,
  Resource,
  RouteTableR,
  SecretR,
  ServiceR,
  VirtualDestinationR,
  VirtualGatewayR,
  WorkspaceR,
  WorkspaceSettingsR,
} from '../resources/schema.js';
import type { Backend } from '../ir/types.js';
import { clusterSuffix, isPolicyKind, nsName, resourceKey } from '../resources/schema.js';
import { attachPolicies, patchAttachMemos, type AttachMemos, type Binding, type RoutingStage } from './attach.js';
import { indexClusters, normalizeClusters } from './clusters.js';
import { checkExternalServiceOverlap, resolveExternalTls } from './external-services.js';
import { byAge, compareStr } from './match.js';
import type { FeatureGates } from './policies.js';
import { newRouteAttachMemo } from './route-attachment.js';
import { indexChildTables } from './child-index.js';
import { DEFAULT_ROUTE_LIMITS, flattenRootTable, type FlattenContext, type RouteLimits, type TableInfo } from './routes.js';
import { newStatusJSONCache, StatusBook, type KeyOrderCache } from './status.js';
import { indexWorkspaces, type NamespaceInfo, type WorkspaceIndex } from './workspaces.js';
import type { DestinationCatalog } from './destinations.js';
import { slicesByService, updateEndpoints } from './endpoint-updates.js';
import { RoutingMemo } from './incremental-routes.js';
import { Dedupe, keepUnchanged, ResourceInterner, srcOf, type KeptPolicies } from './incremental-inputs.js';

export type { FeatureGates } from './policies.js';

export type { RouteLimits } from './routes.js';

export interface CoreSettings {
  /** Mesh mode: the SPIFFE trust domain of workload identities (default cluster.local). */
  trustDomain?: string;
  /** Mesh mode: what sidecars do with hosts they do not know, unless their WorkspaceSettings say (default ALLOW_ANY). */
  outboundTrafficPolicy?: 'ALLOW_ANY' | 'REGISTRY_ONLY';
  clusterName: string;
  featureGates: FeatureGates;
  /** Defaults in DEFAULT_ROUTE_LIMITS; see docs/operations.md "Limits". */
  limits?: Partial<RouteLimits>;
}

export const DEFAULT_SETTINGS: CoreSettings = {
  clusterName: 'cluster-1',
  featureGates: { VirtualDestinationWorkspacePolicyOverride: false, gatewayDefaultDenyAllHTTPRequests: false },
};

/** A resource the source could not accept, reported in status under its key. */
export interface RejectedResource {
  key: string;
  messages: string[];
}

export type { RoutingStage } from './attach.js';

const KUBE_KINDS = new Set(['Namespace', 'Service', 'EndpointSlice', 'Pod', 'ServiceAccount', 'Secret', 'ConfigMap', 'Workspace']);

export function computeCore(input: readonly Resource[], settings: CoreSettings = DEFAULT_SETTINGS, rejected: readonly RejectedResource[] = []): CoreResult {
  return createCore()(input, settings, rejected);
}

/**
 * A core function that remembers its last routing stage: when only policies
 * changed (the other resources are the same objects), routing is reused and
 * only attachment runs again. The result is identical to an uncached run.
 */
export function createCore(): (input: readonly Resource[], settings?: CoreSettings, rejected?: readonly RejectedResource[]) => CoreResult {
  let memo: { inputs: Resource[]; settingsKey: string; stage: RoutingStage } | undefined;
  const attachMemos: AttachMemos = { routes: newRouteAttachMemo(), references: new Map(), placement: {}, statusJSON: newStatusJSONCache(), sameWorld: false };
  const routingMemo = new RoutingMemo();
  const worlds: { last?: World } = {};
  const kept: KeptPolicies = { byKey: {}, json: new WeakMap() };
  let last: { input: readonly Resource[]; sideKey: string; result: CoreResult } | undefined;
  const interned = new ResourceInterner();
  const nsMemo: NamespacesMemo = { policies: [], out: [] };
  const deduped = new Dedupe();
  const routingOrder: KeyOrderCache = {};
  return (raw, settings = DEFAULT_SETTINGS, rejected = []) => {
    const input = interned.of(raw);
    // Only EndpointSlices changed (the usual churn of a mesh): patch the last result's endpoints.
    const sideKey = JSON.stringify([settings, rejected]);
    const slices = memo && last?.sideKey === sideKey ? changedSlicesOnly(last.input, input) : undefined;
    if (slices?.length) {
      const swap = new Map(slices.map((c) => [c.before, c.after]));
      let found = 0;
      const nonPolicyNow = memo!.inputs.map((r) => {
        const to = swap.get(r);
        if (!to) return r;
        found++;
        return to;
      });
      // Every changed slice must be one the memo's inputs hold (the last computation's).
      const patched = found === swap.size && swap.size === slices.length ? updateEndpoints(memo!.stage, last!.result, slices, nonPolicyNow) : undefined;
      if (patched) {
        memo = { ...memo!, inputs: nonPolicyNow, stage: { ...patched.stage, resources: nonPolicyNow } };
        // Routing's memo and world take the new endpoints: the next edit (a route, a policy) is incremental again.
        routingMemo.patchEndpoints(swap, patched.replacedStageBackends);
        if (worlds.last) worlds.last = { ...worlds.last, catalog: patched.stage.catalog };
        // Attachment's memos carry backends (with endpoints): swapped, or dropped where that is not enough.
        patchAttachMemos(attachMemos, { replaced: patched.replaced, reresolve: patched.reresolve, stageReplaced: patched.replacedStageBackends, finalBackends: patched.result.ir.backends });
        last = { input, sideKey, result: patched.result };
        return patched.result;
      }
    }
    const { resources, pre } = deduped.of(normalizeClusters(input, settings.clusterName), interned);
    const nonPolicy = resources.filter((r) => !isPolicyKind(r.kind));
    const policies = resources.filter((r) => isPolicyKind(r.kind)) as PolicyR[];
    // Namespaces that hold only policies must still be claimed by their workspace.
    const policyNamespaces = namespacesOf(policies, nsMemo);
    const settingsKey = JSON.stringify(settings) + '\0' + policyNamespaces.map(([k]) => k).join(',');
    const reuse = memo && memo.settingsKey === settingsKey && memo.inputs.length === nonPolicy.length && memo.inputs.every((r, i) => r === nonPolicy[i]);
    const stage = reuse ? memo!.stage : computeRouting(nonPolicy, settings, policyNamespaces.map(([, info]) => info), routingMemo, worlds);
    // The attachment memo checks each route by identity: routing reuses the objects of unchanged routes.
    memo = { inputs: nonPolicy, settingsKey, stage };
    const status = stage.status.clone(routingOrder);
    status.merge(pre);
    for (const r of rejected) for (const m of r.messages) status.invalid(r.key, m);
    const sameWorld = reuse || routingMemo.sameWorld;
    attachMemos.sameWorld = sameWorld;
    const result = attachPolicies(stage, policies, settings, status, attachMemos);
    // Policy IR reads the policy and the world routing reads (Services, workspaces, admin resources...).
    keepUnchanged(result.ir.policies, kept, sameWorld);
    last = { input, sideKey, result };
    return result;
  };
}

interface NamespacesMemo {
  policies: PolicyR[];
  out: Array<[string, NamespaceInfo]>;
}
/** The namespaces policies are in, by key; the last answer while each policy kept its namespace and cluster. */
function namespacesOf(policies: PolicyR[], memo: NamespacesMemo): Array<[string, NamespaceInfo]> {
  const last = memo.policies;
  const same = last.length === policies.length && policies.every((p, i) => p === last[i] || (p.metadata.namespace === last[i].metadata.namespace && p.cluster === last[i].cluster));
  if (!same) memo.out = [...new Map(policies.map((p) => [`${p.metadata.namespace}${clusterSuffix(p.cluster)}`, { name: p.metadata.namespace, cluster: p.cluster, labels: {} }])).entries()].sort(([a], [b]) => compareStr(a, b));
  memo.policies = policies;
  return memo.out;
}

/** The EndpointSlices that changed, if nothing else did (same resources, same order). */
function changedSlicesOnly(before: readonly Resource[], after: readonly Resource[]): Array<{ before: Resource; after: Resource }> | undefined {
  if (before.length !== after.length) return undefined;
  const changed: Array<{ before: Resource; after: Resource }> = [];
  for (let i = 0; i < after.length; i++) {
    const a = before[i];
    const b = after[i];
    if (a === b) continue;
    if (a.kind !== 'EndpointSlice' || b.kind !== 'EndpointSlice' || resourceKey(a) !== resourceKey(b) || srcOf(a) !== srcOf(b)) return undefined;
    changed.push({ before: a, after: b });
  }
  return changed;
}

/** What routing reads besides route tables: reused whole while those are all that changed. */
interface World {
  /** Statuses of the world's resources; cloned, never written, once built. */
  status: StatusBook;
  ws: WorkspaceIndex;
  catalog: DestinationCatalog;
  clusters: ReturnType<typeof indexClusters>;
  gatewaysByKey: Map<string, VirtualGatewayR>;
  namespaceOwners: Record<string, string>;
  externalSecrets: Record<string, SecretIR>;
}

function computeRouting(resources: Resource[], settings: CoreSettings, extraNamespaces: readonly NamespaceInfo[] = [], memo?: RoutingMemo, worlds?: { last?: World }): RoutingStage {
  // Namespaces are per cluster: every namespace some resource (or policy) is in, with the Namespace's labels.
  const namespaces = new Map<string, NamespaceInfo>();
  const seen = (ns: string, cluster: string | undefined) => {
    const k = `${ns}${clusterSuffix(cluster)}`;
    if (!namespaces.has(k)) namespaces.set(k, { name: ns, cluster, labels: {} });
  };
  for (const n of extraNamespaces) seen(n.name, n.cluster);
  // Resources come sorted by kind, then namespace: runs of one namespace are looked up once.
  let lastNs: string | undefined;
  let lastCluster: string | undefined;
  for (const r of resources) {
    const ns = r.metadata.namespace;
    if (!ns || (ns === lastNs && r.cluster === lastCluster)) continue;
    lastNs = ns;
    lastCluster = r.cluster;
    seen(ns, r.cluster);
  }
  for (const r of resources) if (r.kind === 'Namespace') namespaces.set(`${r.metadata.name}${clusterSuffix(r.cluster)}`, { name: r.metadata.name, cluster: r.cluster, labels: r.metadata.labels });
  memo?.begin(resources, JSON.stringify([settings, [...namespaces.entries()]]));
  const world = memo?.sameWorld && worlds?.last ? worlds.last : buildWorld(resources, settings, namespaces);
  if (worlds) worlds.last = world;
  const { ws, catalog, clusters, gatewaysByKey } = world;
  const status = world.status.clone();
  const owned = (r: Resource): boolean => ws.ownerOf(r) !== undefined;
  for (const r of resources) {
    if (r.kind === 'RouteTable' && !owned(r)) {
      status.invalid(resourceKey(r), `namespace "${r.metadata.namespace}" is not selected by any workspace, so this ${r.kind} is not translated; add the namespace to a Workspace's workloadClusters`);
    }
  }

  // ---- route tables -------------------------------------------------------
  const tables: TableInfo[] = [];
  for (const r of resources) if (r.kind === 'RouteTable' && owned(r)) tables.push(tableInfo(r as RouteTableR, ws.ownerOf(r)!));
  for (const t of tables) {
    status.accept(t.statusKey);
    if (t.table.spec.portalMetadata) status.add(t.statusKey, 'ACCEPTED', 'spec.portalMetadata is ignored: it describes the API for the Gloo developer portal, which meshplane does not include; routing is unaffected');
    for (const n of duplicateNames(t.table)) {
      status.warn(t.statusKey, `several routes are named "${n}"; policies and explain tell them apart by position only`);
    }
  }
  const backends = new Map<string, Backend>();
  const fctx: FlattenContext = {
    ws,
    status,
    catalog,
    children: indexChildTables(tables.filter((t) => !t.table.spec.hosts?.length), memo?.childIndex),
    backends,
    clusterName: settings.clusterName,
    limits: { ...DEFAULT_ROUTE_LIMITS, ...settings.limits },
    memo,
  };
  const gatewayRoutes = new Map<string, number>();

  const roots = tables.filter((t) => t.table.spec.hosts?.length).sort((a, b) => (b.table.spec.weight ?? 0) - (a.table.spec.weight ?? 0) || byAge(a.table, b.table));
  // Each root's routes, joined once at the end (pushing 10k routes one by one grew the list several times).
  const parts: FinalRoute[][] = [];
  let count = 0;
  const bindings: Binding[] = [];
  for (const root of roots) {
    const refs = root.table.spec.virtualGateways ?? [];
    if (refs.length === 0) {
      const flat = flattenRootTable(fctx, root, null, root.table.spec.hosts!);
      if (flat.overLimit) status.invalid(root.statusKey, flat.overLimit);
      parts.push(flat.routes);
      count += flat.routes.length;
      continue;
    }
    for (const ref of refs) {
      const inCluster = clusters.resolve(ref.cluster);
      const key = `${ref.namespace ?? root.table.metadata.namespace}/${ref.name}${clusterSuffix(inCluster.cluster)}`;
      if (inCluster.error) {
        status.invalid(root.statusKey, `virtual gateway ${key}: ${inCluster.error}`);
        continue;
      }
      const gw = gatewaysByKey.get(key);
      if (!gw) {
        status.invalid(root.statusKey, `virtual gateway ${key} not found (or in a namespace no workspace selects)`);
        continue;
      }
      const gwWs = ws.ownerOf(gw)!;
      // Semantics §3: the table is visible to the gateway's workspace, or the gateway is shared wholesale (kind ALL).
      if (gwWs !== root.workspace && !ws.isVisible('ROUTE_TABLE', root.table, root.workspace, gwWs) && !ws.isVisible('VIRTUAL_GATEWAY' as never, gw, gwWs, root.workspace)) {
        status.invalid(
          root.statusKey,
          `virtual gateway ${key} belongs to workspace "${gwWs}": bind it by sharing this table with that workspace (${ws.explainInvisible('ROUTE_TABLE', root.table, root.workspace, gwWs)}), or share the gateway wholesale (kind ALL both ways)`,
        );
        continue;
      }
      const flat = flattenRootTable(fctx, root, key, root.table.spec.hosts!);
      if (flat.overLimit) {
        status.invalid(root.statusKey, flat.overLimit);
        continue;
      }
      // Tables bind in order (weight, then age): the one that would take a gateway over its limit is refused.
      const cost = flat.cost;
      const used = gatewayRoutes.get(key) ?? 0;
      if (used + cost > fctx.limits.maxRoutesPerGateway) {
        status.invalid(root.statusKey, `binding it to virtual gateway ${key} would give the gateway ${used + cost} routes (limit maxRoutesPerGateway = ${fctx.limits.maxRoutesPerGateway}; raise it with --max-routes-per-gateway or the settings file), so its routes are not served there; the tables bound before it keep theirs`);
        continue;
      }
      gatewayRoutes.set(key, used + cost);
      bindings.push({ gateway: key, root, routes: flat.routes, start: count });
      parts.push(flat.routes);
      count += flat.routes.length;
    }
  }

  for (const t of tables) status.accept(t.statusKey);
  const routes = parts.length === 1 ? parts[0].slice() : parts.flat();
  return { status, ws, catalog, resources, gatewaysByKey, routes, bindings, backends, namespaces: world.namespaceOwners, externalSecrets: world.externalSecrets };
}

const tableInfos = new WeakMap<RouteTableR, TableInfo>();
/** A table and its owner, the same object while both are (what routing's per-table caches are keyed by). */
function tableInfo(table: RouteTableR, workspace: string): TableInfo {
  let info = tableInfos.get(table);
  if (info?.workspace !== workspace) tableInfos.set(table, (info = { table, key: nsName(table), statusKey: resourceKey(table), workspace }));
  return info;
}

const duplicates = new WeakMap<RouteTableR, string[]>();
/** The route names a table uses more than once (remembered per table object). */
function duplicateNames(table: RouteTableR): string[] {
  let out = duplicates.get(table);
  if (!out) {
    const seen = new Set<string>();
    const twice = new Set<string>();
    for (const r of table.spec.http) (seen.has(r.name) ? twice : seen).add(r.name);
    duplicates.set(table, (out = [...twice]));
  }
  return out;
}

/** The world stage of routing: workspaces, ownership, destinations, gateways (everything but route tables). */
function buildWorld(resources: Resource[], settings: CoreSettings, namespaces: Map<string, NamespaceInfo>): World {
  const status = new StatusBook();
  const of = <T extends Resource>(kind: string) => resources.filter((r) => r.kind === kind) as T[];
  const clusters = indexClusters(resources, settings.clusterName);
  const ws = indexWorkspaces(of<WorkspaceR>('Workspace'), of<WorkspaceSettingsR>('WorkspaceSettings'), [...namespaces.values()], settings.clusterName, status);
  const owned = (r: Resource): boolean => ws.ownerOf(r) !== undefined;
  for (const r of resources) {
    if (r.kind !== 'RouteTable' && !KUBE_KINDS.has(r.kind) && !owned(r)) {
      status.invalid(resourceKey(r), `namespace "${r.metadata.namespace}" is not selected by any workspace, so this ${r.kind} is not translated; add the namespace to a Workspace's workloadClusters`);
    }
  }

  const secretsByKey = new Map(of<SecretR>('Secret').map((r) => [nsName(r), r]));
  // Overlap first (seed 05), then TLS origination: an ExternalService waiting for its Secret is not translated.
  const tls = resolveExternalTls(checkExternalServiceOverlap(of<ExternalServiceR>('ExternalService').filter(owned), ws, status), secretsByKey, status);
  const externalServices = tls.accepted;
  const catalog: DestinationCatalog = {
    services: new Map(of<ServiceR>('Service').map((s) => [nsName(s), s])),
    virtualDestinations: new Map(of<VirtualDestinationR>('VirtualDestination').filter(owned).map((v) => [nsName(v), v])),
    externalServices: new Map(externalServices.map((e) => [nsName(e), e])),
    externalEndpoints: of<ExternalEndpointR>('ExternalEndpoint').filter(owned),
    // One index of slices for the world and the endpoint patch (src/core/endpoint-updates.ts): they must key alike.
    slicesByService: slicesByService(resources),
    pods: new Map(of<PodR>('Pod').map((p) => [nsName(p), p])),
    clusterName: settings.clusterName,
    clusters,
    origination: tls.origination,
  };
  const gatewaysByKey = new Map(of<VirtualGatewayR>('VirtualGateway').filter(owned).map((g) => [nsName(g), g]));
  for (const g of gatewaysByKey.values()) status.accept(resourceKey(g));
  for (const r of resources) if (r.kind !== 'RouteTable' && (owned(r) || KUBE_KINDS.has(r.kind))) status.accept(resourceKey(r));
  const namespaceOwners: Record<string, string> = {};
  for (const [key, info] of [...namespaces.entries()].sort(([a], [b]) => compareStr(a, b))) {
    const w = ws.workspaceOf(info.name, info.cluster);
    if (w) namespaceOwners[key] = w;
  }
  return { status, ws, catalog, clusters, gatewaysByKey, namespaceOwners, externalSecrets: tls.secrets };
}

