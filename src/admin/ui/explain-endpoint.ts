// /debug/explain: what the /ui page draws, computed on demand from the last
// resource set the pipeline applied. The expensive part (why every policy does
// or does not apply) is computed once per configuration and shared by all
// viewers; each viewer then gets only its workspaces' part, like /debug/ir.
import { explainPolicies, destinationKey, labelProvenance, type PolicyExplanation } from '../../core/explain.js';
import type { CoreResult, FinalRoute, IR, ResourceStatus } from '../../ir/types.js';
import { nsName, type RouteTableR } from '../../resources/schema.js';
import type { PipelineState } from '../../pipeline.js';
import { scopeIr, type Viewer } from '../access.js';
import type { ExplainPayload, UiRoute } from './payload.js';

interface Explained {
  why: PolicyExplanation;
  tables: Map<string, RouteTableR>;
}

// Keyed by the core result: a new configuration is a new object, so stale entries are collected.
const cache = new WeakMap<CoreResult, Explained>();

function explained(state: PipelineState, core: CoreResult): Explained {
  let e = cache.get(core);
  if (!e) {
    const resources = state.resources ?? [];
    const why = state.settings ? explainPolicies(resources, state.settings, core) : { routes: new Map(), destinations: new Map() };
    const tables = new Map(resources.filter((r) => r.kind === 'RouteTable').map((t) => [nsName(t), t as RouteTableR]));
    e = { why, tables };
    cache.set(core, e);
  }
  return e;
}

/** The explain view for one viewer, or undefined before the first configuration. */
export function explainPayload(state: PipelineState, viewer: Viewer, status: Record<string, ResourceStatus>): ExplainPayload | undefined {
  const core = state.core;
  if (!core) return undefined;
  const { why, tables } = explained(state, core);
  const full = core.ir;
  const ir = scopeIr(viewer, full);
  const backends = new Map(full.backends.map((b) => [b.cluster, b]));
  const route = (r: FinalRoute): UiRoute => {
    const v = why.routes.get(r.id) ?? { applied: r.policies, skipped: r.skipped };
    const sources = labelProvenance(r, tables);
    return {
      id: r.id,
      gateway: r.gateway,
      hosts: r.hosts,
      table: r.table,
      route: r.route,
      workspace: r.workspace,
      rootWorkspace: r.rootWorkspace,
      // The chain's workspaces are part of the route the viewer owns (chainWorkspaces), so name them per link.
      path: r.path.map((l) => ({ table: l.table, route: l.route, workspace: full.namespaces[l.table.split('/')[0]] })),
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
  };
  return {
    generation: state.generation,
    gateways: gateways(ir),
    routes: ir.routes.map(route),
    destinations: ir.destinations.map((d) => ({
      kind: d.kind,
      namespace: d.namespace,
      name: d.name,
      owner: d.owner,
      consumer: d.consumer,
      clientPolicies: d.clientPolicies,
      serverPolicies: d.serverPolicies,
      skipped: why.destinations.get(destinationKey(d))?.skipped ?? [],
    })),
    status,
  };
}

function gateways(ir: IR): ExplainPayload['gateways'] {
  return ir.gateways.map((g) => ({
    ref: g.ref,
    workspace: g.workspace,
    listeners: g.listeners.map((l) => ({ name: l.name, port: l.port, hosts: [...new Set(l.virtualHosts.flatMap((v) => v.domains))] })),
  }));
}
