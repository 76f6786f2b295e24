// Why a policy does or does not apply (issue 15): for every final route and
// every destination, each policy whose selector could have matched is listed
// as attached or skipped with one structured reason. Pure, computed on demand
// (explain, validate, the UI) from the same inputs as the core, so the hot
// path of the core pays nothing for it.
import type { CoreResult, DestinationIR, FinalRoute, PolicyRef, SkippedPolicy } from '../ir/types.js';
import type { PolicyR, Resource, RouteTableR, WorkspaceR, WorkspaceSettingsR } from '../resources/schema.js';
import { clusterSuffix, isPolicyKind, nsName, resourceKey } from '../resources/schema.js';
import { UNSUPPORTED_KINDS } from '../resources/policy-configs.js';
import type { CoreSettings } from './index.js';
import { labelsMatch, selectorMatches } from './match.js';
import { MERGING_KINDS, SERVER_SIDE_KINDS, WORKLOAD_SCOPED_KINDS, destinationSelected, placePolicies, selectsNothing, type PlacedPolicy } from './policies.js';
import { SHARED_KIND, type DestinationObject } from './destinations.js';
import { StatusBook } from './status.js';
import { normalizeClusters } from './clusters.js';
import { indexWorkspaces, type NamespaceInfo, type WorkspaceIndex } from './workspaces.js';

export interface PolicyVerdicts {
  applied: PolicyRef[];
  skipped: SkippedPolicy[];
}

export interface PolicyExplanation {
  /** By FinalRoute.id. */
  routes: Map<string, PolicyVerdicts>;
  /** By `${kind}/${namespace}/${name}@${consumer}`. */
  destinations: Map<string, PolicyVerdicts>;
}

export const destinationKey = (d: Pick<DestinationIR, 'kind' | 'namespace' | 'name' | 'consumer'>): string => `${d.kind}/${d.namespace}/${d.name}@${d.consumer}`;
const refText = (p: PolicyRef): string => `${p.kind} ${p.namespace}/${p.name}`;

interface Context {
  ws: WorkspaceIndex;
  tables: Map<string, RouteTableR>;
  placed: PlacedPolicy[];
  clusterName: string;
}

export function explainPolicies(input: readonly Resource[], settings: CoreSettings, core: CoreResult): PolicyExplanation {
  const first = new Map<string, Resource>();
  for (const r of [...normalizeClusters(input, settings.clusterName)].sort((a, b) => (resourceKey(a) < resourceKey(b) ? -1 : resourceKey(a) > resourceKey(b) ? 1 : 0))) if (!first.has(resourceKey(r))) first.set(resourceKey(r), r);
  const resources = [...first.values()];
  const of = <T extends Resource>(kind: string) => resources.filter((r) => r.kind === kind) as T[];
  const namespaces = new Map<string, NamespaceInfo>();
  for (const r of resources) {
    const k = `${r.metadata.namespace}${clusterSuffix(r.cluster)}`;
    if (r.metadata.namespace && !namespaces.has(k)) namespaces.set(k, { name: r.metadata.namespace, cluster: r.cluster, labels: {} });
  }
  for (const n of of<Resource>('Namespace')) namespaces.set(`${n.metadata.name}${clusterSuffix(n.cluster)}`, { name: n.metadata.name, cluster: n.cluster, labels: n.metadata.labels });
  const ws = indexWorkspaces(of<WorkspaceR>('Workspace'), of<WorkspaceSettingsR>('WorkspaceSettings'), [...namespaces.values()], settings.clusterName, new StatusBook());
  const policies = resources.filter((r) => isPolicyKind(r.kind) && !UNSUPPORTED_KINDS[r.kind]) as PolicyR[];
  const ctx: Context = { ws, tables: new Map(of<RouteTableR>('RouteTable').map((t) => [nsName(t), t])), placed: placePolicies(policies, ws), clusterName: settings.clusterName };
  const routes = new Map(core.ir.routes.map((r) => [r.id, explainRoute(ctx, r)]));
  const objects = new Map<string, DestinationObject>();
  for (const r of resources) if (r.kind === 'Service' || r.kind === 'VirtualDestination' || r.kind === 'ExternalService') objects.set(`${r.kind}/${nsName(r)}`, r as DestinationObject);
  const destinations = new Map<string, PolicyVerdicts>();
  for (const d of core.ir.destinations) {
    const obj = objects.get(`${KIND_NAME[d.kind]}/${d.namespace}/${d.name}${clusterSuffix(d.cluster)}`);
    if (obj) destinations.set(destinationKey(d), explainDestination(ctx, d, obj, settings));
  }
  return { routes, destinations };
}

const KIND_NAME = { SERVICE: 'Service', VIRTUAL_DESTINATION: 'VirtualDestination', EXTERNAL_SERVICE: 'ExternalService' } as const;

/** Who set each effective label of a route: the last link of the fold (semantics §4). */
export function labelProvenance(route: FinalRoute, tables: Map<string, RouteTableR>): Map<string, string> {
  const setBy = new Map<string, string>();
  for (const link of route.path) {
    const t = tables.get(link.table);
    if (!t) continue;
    for (const k of Object.keys(t.metadata.labels)) setBy.set(k, `table ${link.table}`);
    const r = t.spec.http[link.index];
    for (const k of Object.keys(r?.labels ?? {})) setBy.set(k, `route ${link.table}:${link.route}`);
  }
  return setBy;
}

function explainRoute(ctx: Context, route: FinalRoute): PolicyVerdicts {
  const skipped: SkippedPolicy[] = [...route.skipped];
  const listed = new Set([...route.policies, ...route.skipped].map(refText));
  const [ns, name] = route.table.split('/');
  const target = { metadata: { name, namespace: ns, labels: route.labels }, workspace: route.workspace, cluster: ctx.clusterName };
  const provenance = labelProvenance(route, ctx.tables);
  const root = ctx.tables.get(route.path[0]?.table ?? '');
  const defining = ctx.tables.get(route.table);
  for (const p of ctx.placed) {
    const sels = p.policy.spec.applyToRoutes;
    if (!sels?.length || listed.has(refText(p.ref))) continue;
    let best: SkippedPolicy | undefined;
    const consider = (s: SkippedPolicy) => {
      if (!best || RANK[s.reason] < RANK[best.reason]) best = s;
    };
    for (const s of sels) {
      const sel = s.route;
      const others = selectorMatches(sel ? { ...sel, labels: undefined } : undefined, target);
      if (!others) continue;
      const labelsOk = labelsMatch(sel?.labels, route.labels);
      const onChain = route.chainWorkspaces.includes(p.workspace);
      if (labelsOk && onChain) {
        if (!route.valid) consider({ ...p.ref, reason: 'invalid-route', message: `${refText(p.ref)} selects this route, but the route is invalid (it answers 500): ${route.errors.join('; ')}` });
        continue;
      }
      if (labelsOk && !onChain) {
        const sees = (root && ctx.ws.isVisible('ROUTE_TABLE', root, route.rootWorkspace, p.workspace)) || (defining && ctx.ws.isVisible('ROUTE_TABLE', defining, route.workspace, p.workspace));
        if (sees) {
          consider({ ...p.ref, reason: 'workspace-not-on-chain', message: `${refText(p.ref)} is in workspace "${p.workspace}", which sees this route's table but is not on its delegation chain (${route.chainWorkspaces.join(' > ')}); policies reach only the routes their workspace delegates (semantics §5)` });
        } else if (defining && related(ctx.ws, p.workspace, route.chainWorkspaces, defining)) {
          const missing = ctx.ws.explainInvisible('ROUTE_TABLE', defining, route.workspace, p.workspace);
          consider({ ...p.ref, reason: 'not-imported', message: `${refText(p.ref)} is in workspace "${p.workspace}", which does not see route table ${route.table}: ${missing}`, missing: missing.split(' and ') });
        }
        continue;
      }
      if (!labelsOk && onChain) {
        const diffs = Object.entries(sel?.labels ?? {})
          .filter(([k, v]) => route.labels[k] !== v)
          .map(([k, v]) => ({ key: k, want: v, ...(route.labels[k] !== undefined ? { have: route.labels[k] } : {}), ...(provenance.has(k) ? { setBy: provenance.get(k) } : {}) }));
        // Only a selector about labels this route has (or had on its chain) could have matched.
        if (!diffs.some((d) => d.have !== undefined || d.setBy !== undefined)) continue;
        const words = diffs.map((d) => (d.have === undefined ? `${d.key}=${d.want} wanted, the route has no ${d.key}` : `${d.key}=${d.want} wanted, the route has ${d.key}=${d.have}${d.setBy ? ` (set by ${d.setBy})` : ''}`));
        consider({ ...p.ref, reason: 'labels', message: `${refText(p.ref)} does not match the route's effective labels: ${words.join('; ')}`, labels: diffs });
      }
    }
    if (best) skipped.push(best);
  }
  return { applied: route.policies, skipped };
}

const RANK: Record<SkippedPolicy['reason'], number> = { conflict: 0, phase: 0, 'invalid-route': 1, gate: 2, 'client-server-table': 3, 'workspace-not-on-chain': 4, 'not-imported': 5, labels: 6 };

/** The policy's workspace has some ROUTE_TABLE sharing rule, either way, with a workspace on the chain. */
function related(ws: WorkspaceIndex, w: string, chain: string[], table: RouteTableR): boolean {
  return chain.some((c) => ws.exportsTo(c, w, 'ROUTE_TABLE', table) || ws.importsFrom(w, c, 'ROUTE_TABLE', table) || ws.exportsTo(w, c, 'ROUTE_TABLE', table) || ws.importsFrom(c, w, 'ROUTE_TABLE', table));
}

function explainDestination(ctx: Context, d: DestinationIR, obj: DestinationObject, settings: CoreSettings): PolicyVerdicts {
  const applied = [...d.clientPolicies, ...d.serverPolicies];
  const appliedKeys = new Set(applied.map(refText));
  const skipped: SkippedPolicy[] = [];
  const use = { kind: d.kind, object: obj, owner: d.owner, consumers: new Set([d.consumer]) };
  const what = `${KIND_NAME[d.kind]} ${d.namespace}/${d.name}`;
  for (const p of ctx.placed) {
    if (appliedKeys.has(refText(p.ref))) continue;
    if (!(p.policy.spec.applyToDestinations?.length || (p.ref.kind === 'AccessPolicy' && selectsNothing(p.policy)))) continue;
    if (!destinationSelected(p, use, ctx.clusterName)) continue;
    const shared = SHARED_KIND[d.kind];
    const visible = ctx.ws.isVisible(shared, obj, d.owner, p.workspace);
    // A workspace that sees the destination has its own entry; one that half-shares with the owner
    // (an export or an import, not both) is told why on the owner's entry; unrelated tenants are not listed.
    const halfShared = !visible && d.consumer === d.owner && (ctx.ws.exportsTo(d.owner, p.workspace, shared, obj) || ctx.ws.importsFrom(p.workspace, d.owner, shared, obj));
    if (p.workspace !== d.owner && p.workspace !== d.consumer && !halfShared) continue;
    const server = SERVER_SIDE_KINDS.has(p.ref.kind);
    const side = server ? 'server-side' : 'client-side';
    if (!visible) {
      const missing = ctx.ws.explainInvisible(SHARED_KIND[d.kind], obj, d.owner, p.workspace);
      skipped.push({ ...p.ref, reason: 'not-imported', message: `${refText(p.ref)} is in workspace "${p.workspace}", which does not see ${what}: ${missing}`, missing: missing.split(' and ') });
      continue;
    }
    const mine = p.workspace === d.consumer;
    if (d.owner !== d.consumer) {
      if (WORKLOAD_SCOPED_KINDS.has(p.ref.kind) && p.workspace !== d.owner) {
        skipped.push({ ...p.ref, reason: 'client-server-table', message: `${p.ref.kind} is workload-scoped and stays in its own workspace` });
        continue;
      }
      if (d.kind === 'VIRTUAL_DESTINATION' && !mine && !server) {
        const gate = settings.featureGates.VirtualDestinationWorkspacePolicyOverride;
        const overriddenBy = d.clientPolicies.find((c) => c.kind === p.ref.kind && c.workspace === d.consumer);
        skipped.push({
          ...p.ref,
          reason: 'gate',
          message: gate
            ? `with VirtualDestinationWorkspacePolicyOverride on, the owner's ${p.ref.kind} is replaced by workspace "${d.consumer}"'s ${overriddenBy ? refText(overriddenBy) : 'policy of the same kind'}`
            : `the owner's client-side policies do not reach an imported VirtualDestination unless the feature gate VirtualDestinationWorkspacePolicyOverride is on`,
          ...(overriddenBy ? { winner: overriddenBy } : {}),
        });
        continue;
      }
      const applies = d.kind === 'SERVICE' ? (server ? !mine : mine) : mine; // semantics §6
      if (!applies) {
        const who = mine ? `the consuming workspace "${d.consumer}"` : `the owning workspace "${d.owner}"`;
        skipped.push({ ...p.ref, reason: 'client-server-table', message: `${who}'s ${side} policies do not apply to ${what} used from workspace "${d.consumer}" (semantics §6: owner server-side and consumer client-side for a Service; the consumer's for VirtualDestinations and ExternalServices)` });
        continue;
      }
    }
    if (!MERGING_KINDS.has(p.ref.kind)) {
      const winner = applied.find((a) => a.kind === p.ref.kind);
      if (winner) {
        skipped.push({ ...p.ref, reason: 'conflict', message: `${p.ref.kind} conflicts with ${winner.namespace}/${winner.name} (older), which applies to ${what}`, winner });
      }
    }
  }
  return { applied, skipped };
}
