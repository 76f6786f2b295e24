// /debug/explain: what the /ui page draws, computed on demand from the last
// resource set the pipeline applied. The expensive part (why every policy does
// or does not apply) is computed once per configuration and shared by all
// viewers; each viewer then gets only its workspaces' part, like /debug/ir.
//   /debug/explain                    every route, summarised (the tree)
//   /debug/explain/route/<route id>   one route in full, with its destinations
//   /debug/explain/destinations       every destination with its policies
import { explainPolicies, destinationKey, labelProvenance, type PolicyExplanation } from '../../core/explain.js';
import type { CoreResult, DestinationIR, FinalRoute, IR } from '../../ir/types.js';
import { nsName, type RouteTableR } from '../../resources/schema.js';
import type { PipelineState } from '../../pipeline.js';
import { scopeIr, type Viewer } from '../access.js';
import type { DestinationsExplanation, ExplainPayload, RouteExplanation, UiDestination, UiRoute, UiRouteSummary } from './payload.js';

interface Explained {
  why: PolicyExplanation;
  tables: Map<string, RouteTableR>;
  summaries: Map<string, UiRouteSummary>;
}

// Keyed by the core result: a new configuration is a new object, so stale entries are collected.
const cache = new WeakMap<CoreResult, Explained>();

function explained(state: PipelineState, core: CoreResult): Explained {
  let e = cache.get(core);
  if (!e) {
    const resources = state.resources ?? [];
    const why = state.settings ? explainPolicies(resources, state.settings, core) : { routes: new Map(), destinations: new Map() };
    const tables = new Map(resources.filter((r) => r.kind === 'RouteTable').map((t) => [nsName(t), t as RouteTableR]));
    const summaries = new Map(core.ir.routes.map((r) => [r.id, summary(r, core.ir, why)]));
    e = { why, tables, summaries };
    cache.set(core, e);
  }
  return e;
}

const verdicts = (r: FinalRoute, why: PolicyExplanation) => why.routes.get(r.id) ?? { applied: r.policies, skipped: r.skipped };
// The chain's workspaces are part of the route the viewer owns (chainWorkspaces), so each link names its own.
const links = (r: FinalRoute, ir: IR) => r.path.map((l) => ({ table: l.table, route: l.route, workspace: ir.namespaces[l.table.split('/')[0]] }));

function summary(r: FinalRoute, ir: IR, why: PolicyExplanation): UiRouteSummary {
  const v = verdicts(r, why);
  return {
    id: r.id,
    gateway: r.gateway,
    hosts: r.hosts,
    table: r.table,
    route: r.route,
    workspace: r.workspace,
    path: links(r, ir),
    valid: r.valid,
    ...(r.denied ? { denied: r.denied } : {}),
    applied: v.applied.length,
    skipped: v.skipped.length,
  };
}

/** Every route of the viewer's, summarised; undefined before the first configuration. */
export function explainPayload(state: PipelineState, viewer: Viewer): ExplainPayload | undefined {
  const core = state.core;
  if (!core) return undefined;
  const { summaries } = explained(state, core);
  const ir = scopeIr(viewer, core.ir);
  return {
    generation: state.generation,
    gateways: ir.gateways.map((g) => ({
      ref: g.ref,
      workspace: g.workspace,
      listeners: g.listeners.map((l) => ({ name: l.name, port: l.port, hosts: [...new Set(l.virtualHosts.flatMap((v) => v.domains))] })),
    })),
    routes: ir.routes.map((r) => summaries.get(r.id)!),
  };
}

function destination(d: DestinationIR, why: PolicyExplanation): UiDestination {
  const { kind, namespace, name, owner, consumer, clientPolicies, serverPolicies } = d;
  return { kind, namespace, name, owner, consumer, clientPolicies, serverPolicies, skipped: why.destinations.get(destinationKey(d))?.skipped ?? [] };
}

/** One route in full; undefined if the viewer has no such route (another tenant's is answered the same). */
export function explainRoute(state: PipelineState, viewer: Viewer, id: string): RouteExplanation | undefined {
  const core = state.core;
  if (!core) return undefined;
  const { why, tables } = explained(state, core);
  const ir = scopeIr(viewer, core.ir);
  const r = ir.routes.find((x) => x.id === id);
  if (!r) return undefined;
  const v = verdicts(r, why);
  const sources = labelProvenance(r, tables);
  const backends = new Map(core.ir.backends.map((b) => [b.cluster, b]));
  const route: UiRoute = {
    id: r.id,
    gateway: r.gateway,
    hosts: r.hosts,
    table: r.table,
    route: r.route,
    workspace: r.workspace,
    rootWorkspace: r.rootWorkspace,
    path: links(r, core.ir),
    labels: r.labels,
    labelSources: Object.fromEntries([...sources].filter(([k]) => k in r.labels)),
    valid: r.valid,
    errors: r.errors,
    applied: v.applied,
    skipped: v.skipped,
    action:
      r.action.type === 'forward'
        ? {
            type: 'forward',
            destinations: r.action.destinations.map((d) => {
              const b = backends.get(d.cluster);
              return { ...d, ...(b ? { kind: b.kind, namespace: b.namespace, name: b.name, port: b.port } : {}) };
            }),
          }
        : r.action,
    ...(r.denied ? { denied: r.denied } : {}),
  };
  const used = new Set(route.action.type === 'forward' ? route.action.destinations.filter((d) => d.kind).map((d) => `${d.kind}/${d.namespace}/${d.name}`) : []);
  const destinations = ir.destinations.filter((d) => d.consumer === r.workspace && used.has(`${d.kind}/${d.namespace}/${d.name}`)).map((d) => destination(d, why));
  return { generation: state.generation, route, destinations };
}

export function explainDestinations(state: PipelineState, viewer: Viewer): DestinationsExplanation | undefined {
  const core = state.core;
  if (!core) return undefined;
  const { why } = explained(state, core);
  return { generation: state.generation, destinations: scopeIr(viewer, core.ir).destinations.map((d) => destination(d, why)) };
}
