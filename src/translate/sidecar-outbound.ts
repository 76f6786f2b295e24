// Mesh mode: a sidecar's outbound side. Routes, clusters and endpoints for
// exactly what the workload's workspace may reach, through the same route,
// cluster and filter translators as gateways. The result depends only on the
// workspace, the namespace (short host names) and the workload's access-log
// policies, so workloads that share those share one translation.
import type { Backend, FinalRoute, IR, OutboundServiceIR, UpstreamTlsIR, WorkloadIR } from '../ir/types.js';
import { cluster, clusterLoadAssignment, type ProxyLocality } from './clusters.js';
import type { FilterInstance } from './filter-policies.js';
import { httpFilterChain } from './filters.js';
import { collectClusters } from './index.js';
import { policyKey } from './attached.js';
import { ContentMemo, irIndex } from './sidecar-memo.js';
import { envoyRoutes } from './routes.js';
import { BLACKHOLE_CLUSTER, blackHoleCluster, callerAccess, defaultChain, externalChains, externalRbacFilter, routedByHost, tlsInspector, unknownHostVirtualHost } from './sidecar-external.js';
import { meshTlsContext, OUTBOUND_PORT, PASSTHROUGH_CLUSTER } from './sidecar.js';
import { ADS_CONFIG_SOURCE, ANY, type EnvoyResources, type NamedResource } from './types.js';
import { protoStruct } from './values.js';

export type OutboundCache = Map<string, Omit<EnvoyResources, 'secret'>>;

const HCM = 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
export const TLS_MODE_METADATA = 'envoy.transport_socket_match';

/** The default route a sidecar uses for a destination: the destination's client-side policies act on it. */
function defaultRoute(s: OutboundServiceIR, workspace: string): FinalRoute {
  const table = `${s.namespace}/${s.name}`;
  return {
    id: `sidecar|${s.cluster}`,
    gateway: null,
    hosts: s.domains,
    table,
    route: `default:${s.port}`,
    path: [{ table, route: `default:${s.port}`, index: 0 }],
    workspace,
    rootWorkspace: workspace,
    chainWorkspaces: [workspace],
    labels: {},
    matchers: [{}],
    action: { type: 'forward', destinations: [{ cluster: s.cluster, weight: 1 }] },
    valid: true,
    errors: [],
    policies: s.policies,
    skipped: [],
    order: 0,
  };
}

const memo = new ContentMemo<Omit<EnvoyResources, 'secret'>>(2_000);

/** What the outbound translation of a workload reads besides the workload itself. */
interface OutboundReads {
  routes: FinalRoute[];
  clusters: string[];
  refs: string[];
}

function outboundReads(ir: IR, wl: WorkloadIR): OutboundReads {
  const { backends, routes } = irIndex(ir);
  const tableRoutes = wl.outbound.routes.map((id) => routes.get(id)).filter((r): r is FinalRoute => !!r);
  const clusters = new Set(wl.outbound.services.map((s) => s.cluster));
  const refs = new Set<string>();
  for (const s of wl.outbound.services) for (const p of [...s.policies, ...(s.access ?? [])]) refs.add(policyKey(p));
  for (const r of tableRoutes) {
    for (const p of r.policies) refs.add(policyKey(p));
    if (r.action.type === 'forward') for (const d of r.action.destinations) clusters.add(d.cluster);
  }
  for (const k of refs) for (const c of Object.values(ir.policies[k]?.clusters ?? {})) clusters.add(c);
  for (const c of [...clusters]) for (const p of backends.get(c)?.clientPolicies ?? []) refs.add(policyKey(p));
  return { routes: tableRoutes, clusters: [...clusters].sort(), refs: [...refs].sort() };
}

/** The same reads as content, for the content memo. */
function outboundInputs(ir: IR, wl: WorkloadIR, logs: unknown[], reads: OutboundReads): unknown {
  const { backends } = irIndex(ir);
  return {
    ns: wl.namespace,
    locality: wl.locality,
    identity: wl.outbound.services.some((s) => s.access?.length) ? wl.spiffeId : undefined,
    outbound: wl.outbound,
    logs,
    routes: reads.routes,
    backends: reads.clusters.map((c) => [backends.get(c), ir.mesh?.upstreamTls[c]]),
    policies: reads.refs.map((k) => ir.policies[k]),
  };
}

/**
 * The cheapest reuse: the core's endpoint fast path hands over the same IR
 * objects for everything an endpoint change did not touch, so identity checks
 * on what was read decide without serialising anything. Two translation runs
 * are kept (a run is one OutboundCache).
 */
interface IdentityEntry {
  outbound: WorkloadIR['outbound'];
  policies: IR['policies'];
  reads: OutboundReads;
  backends: unknown[];
  tls: unknown[];
  result: Omit<EnvoyResources, 'secret'>;
}
let run: OutboundCache | undefined;
let current = new Map<string, IdentityEntry>();
let previous = new Map<string, IdentityEntry>();

function unchanged(e: IdentityEntry, ir: IR, wl: WorkloadIR): boolean {
  if (e.outbound !== wl.outbound || e.policies !== ir.policies) return false;
  const { backends, routes } = irIndex(ir);
  return e.reads.routes.every((r) => routes.get(r.id) === r) && e.reads.clusters.every((c, i) => backends.get(c) === e.backends[i] && ir.mesh?.upstreamTls[c] === e.tls[i]);
}

export function outboundResources(ir: IR, wl: WorkloadIR, cache: OutboundCache, logs: unknown[]): Omit<EnvoyResources, 'secret'> {
  // Workloads share a translation unless it depends on their locality or (AccessPolicies on ExternalServices) their identity.
  const byIdentity = wl.outbound.services.some((s) => s.access?.length);
  const key = `${wl.outbound.workspace}|${wl.namespace}|${JSON.stringify(wl.policies)}${wl.locality ? `|${wl.locality.region ?? ''}/${wl.locality.zone ?? ''}` : ''}${byIdentity ? `|${wl.spiffeId}` : ''}`;
  const hit = cache.get(key);
  if (hit) return hit;
  if (run !== cache) {
    run = cache;
    previous = current;
    current = new Map();
  }
  const known = current.get(key) ?? previous.get(key);
  let out: Omit<EnvoyResources, 'secret'>;
  if (known && unchanged(known, ir, wl)) {
    out = known.result;
    current.set(key, known);
  } else {
    const reads = outboundReads(ir, wl);
    out = memo.get(outboundInputs(ir, wl, logs, reads), () => translateOutbound(ir, wl, logs));
    const { backends } = irIndex(ir);
    current.set(key, { outbound: wl.outbound, policies: ir.policies, reads, backends: reads.clusters.map((c) => backends.get(c)), tls: reads.clusters.map((c) => ir.mesh?.upstreamTls[c]), result: out });
  }
  cache.set(key, out);
  return out;
}

function translateOutbound(ir: IR, wl: WorkloadIR, logs: unknown[]): Omit<EnvoyResources, 'secret'> {
  const { backends: backendsByCluster, routes: routesById } = irIndex(ir);
  const tableRoutes = wl.outbound.routes.map((id) => routesById.get(id)).filter((r): r is FinalRoute => !!r);
  const tableHosts = new Map<string, FinalRoute[]>();
  for (const r of tableRoutes) for (const h of r.hosts) tableHosts.set(h, [...(tableHosts.get(h) ?? []), r]);

  const mode = wl.outbound.mode ?? 'ALLOW_ANY';
  const byHost = wl.outbound.services.filter(routedByHost);
  const ports = [...new Set([...byHost.map((s) => s.port), ...(tableHosts.size ? [80] : [])])].sort((a, b) => a - b);
  const out: Omit<EnvoyResources, 'secret'> = { listener: [], route: [], cluster: [], endpoint: [] };
  const used = new Set<string>();
  const chains: Array<Record<string, unknown>> = [];
  for (const port of ports) {
    const name = `outbound|${port}|${wl.namespace}`;
    const filters: FilterInstance[] = [];
    // Route tables' hosts win over a Service's own name (as a VirtualService does in Istio).
    const taken = new Set(tableHosts.keys());
    const virtualHosts: Array<Record<string, unknown>> = [];
    for (const [host, rs] of [...tableHosts.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
      virtualHosts.push({ name: host, domains: [host], routes: rs.flatMap((r) => { const t = envoyRoutes(r, ir, backendsByCluster); filters.push(...t.filters); return t.routes; }) });
    }
    for (const s of byHost.filter((x) => x.port === port)) {
      const domains = [...s.domains, ...(s.kind === 'SERVICE' && s.namespace === wl.namespace ? [s.name] : [])].filter((d) => !taken.has(d));
      for (const d of domains) taken.add(d);
      if (!domains.length) continue;
      const t = envoyRoutes(defaultRoute(s, wl.outbound.workspace), ir, backendsByCluster);
      filters.push(...t.filters);
      const access = callerAccess(ir, s, wl.spiffeId);
      if (access) filters.push(externalRbacFilter());
      virtualHosts.push({ name: `${s.kind === 'SERVICE' ? 'svc' : s.kind === 'EXTERNAL_SERVICE' ? 'es' : 'vd'}/${s.namespace}/${s.name}:${port}`, domains, routes: t.routes, ...(access ? { typedPerFilterConfig: access.perFilter } : {}) });
    }
    // Hosts this workspace cannot reach go where they were going, unchanged (ALLOW_ANY), or get a 502 (REGISTRY_ONLY).
    virtualHosts.push(unknownHostVirtualHost(mode, PASSTHROUGH_CLUSTER));
    const rc = { name, virtualHosts };
    out.route.push({ name, body: rc });
    collectClusters(rc, used);
    for (const f of filters) collectClusters(f.typedConfig, used);
    chains.push({
      name,
      filterChainMatch: { destinationPort: { value: port } },
      filters: [{
        name: 'envoy.filters.network.http_connection_manager',
        typedConfig: ANY(HCM, {
          statPrefix: `outbound_${port}`,
          stripAnyHostPort: true,
          rds: { configSource: ADS_CONFIG_SOURCE, routeConfigName: name },
          httpFilters: httpFilterChain(filters),
          ...(logs.length ? { accessLog: logs } : {}),
        }),
      }],
    });
  }
  // ExternalService ports taken by address, SNI or port rather than by host (issue 13).
  const ext = externalChains(ir, wl.outbound.services, new Set(ports), backendsByCluster, (s) => defaultRoute(s, wl.outbound.workspace), wl.spiffeId);
  for (const c of ext.used) used.add(c);
  for (const f of ext.filterConfigs) collectClusters(f, used);
  const inspector = tlsInspector(ext.tlsPorts);
  out.listener.push({
    name: 'outbound',
    body: {
      name: 'outbound',
      address: { socketAddress: { address: '0.0.0.0', portValue: OUTBOUND_PORT } },
      trafficDirection: 'OUTBOUND',
      listenerFilters: [{ name: 'envoy.filters.listener.original_dst', typedConfig: ANY('envoy.extensions.filters.listener.original_dst.v3.OriginalDst') }, ...(inspector ? [inspector] : [])],
      filterChains: [...chains, ...ext.chains],
      // Anything else goes where it was going, unchanged (ALLOW_ANY; a STRICT peer refuses it), or is closed (REGISTRY_ONLY).
      defaultFilterChain: defaultChain(mode, PASSTHROUGH_CLUSTER),
    },
  });
  out.cluster.push({ name: PASSTHROUGH_CLUSTER, body: { name: PASSTHROUGH_CLUSTER, type: 'ORIGINAL_DST', lbPolicy: 'CLUSTER_PROVIDED', connectTimeout: { seconds: 5 } } });
  if (mode === 'REGISTRY_ONLY' && !ext.clusters.some((c) => c.name === BLACKHOLE_CLUSTER)) out.cluster.push(blackHoleCluster());
  out.cluster.push(...ext.clusters);
  const backends = ir.backends.filter((b) => used.has(b.cluster));
  for (const b of backends) {
    const tls = ir.mesh?.upstreamTls[b.cluster];
    out.cluster.push(meshCluster(b, ir, tls, undefined, wl.locality));
    if (b.discovery === 'EDS') out.endpoint.push(meshEndpoints(b, ir, tls, wl.locality));
  }
  return out;
}

/** Auto mTLS: endpoints that run a sidecar get the mesh's TLS, the others plain text (Istio's transport socket match). */
export function meshCluster(b: Backend, ir: IR, tls: UpstreamTlsIR | undefined, gateway?: string, near?: ProxyLocality): NamedResource {
  const c = cluster(b, ir.policies, gateway, near);
  if (!tls) return c;
  return {
    name: c.name,
    body: {
      ...c.body,
      transportSocketMatches: [
        {
          name: 'mtls',
          match: protoStruct({ tlsMode: 'istio' }),
          transportSocket: {
            name: 'envoy.transport_sockets.tls',
            typedConfig: ANY('envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext', { commonTlsContext: meshTlsContext(tls.principals.map((p) => ({ exact: p }))) }),
          },
        },
        { name: 'plaintext', match: protoStruct({}), transportSocket: { name: 'envoy.transport_sockets.raw_buffer', typedConfig: ANY('envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer') } },
      ],
    },
  };
}

export function meshEndpoints(b: Backend, ir: IR, tls: UpstreamTlsIR | undefined, near?: ProxyLocality): NamedResource {
  const cla = clusterLoadAssignment(b, ir.policies, near);
  if (!tls) return cla;
  const meshed = new Set(tls.meshedEndpoints);
  const endpoints = (cla.body.endpoints as Array<{ lbEndpoints: Array<{ endpoint: { address: { socketAddress: { address: string; portValue: number } } } }> }>).map((g) => ({
    ...g,
    lbEndpoints: g.lbEndpoints.map((e) => {
      const sa = e.endpoint.address.socketAddress;
      return meshed.has(`${sa.address}:${sa.portValue}`) ? { ...e, metadata: { filterMetadata: { [TLS_MODE_METADATA]: protoStruct({ tlsMode: 'istio' }) } } } : e;
    }),
  }));
  return { name: cla.name, body: { ...cla.body, endpoints } };
}
