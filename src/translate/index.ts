// IR -> Envoy resources, one set per gateway (keyed by the gateway's ns/name).
import { isDeepStrictEqual } from 'node:util';
import type { Backend, GatewayIR, IR, PolicyIR, UpstreamTlsIR } from '../ir/types.js';
import { backendPolicies } from './cluster-policies.js';
import { resolvePolicies } from './attached.js';
import { listener, listenerSecrets, type ListenerChain } from './listeners.js';
import { gatewayKey, proxylessKey, sidecarKey } from '../ir/keys.js';
import { egressAccess } from './egress-gateway.js';
import { originationSecrets } from './external-tls.js';
import { translateSidecar } from './sidecar.js';
import { irIndex } from './sidecar-memo.js';
import { meshCluster, meshEndpoints, type OutboundCache } from './sidecar-outbound.js';
import { proxylessWorkspaces, translateProxyless } from './proxyless.js';
import { newRouteMemo, routeConfiguration, type RouteMemo } from './routes.js';
import { collectClusters, collectClustersOnce } from './clusters-named.js';
import type { EnvoyResources, NamedResource, TranslateOptions } from './types.js';

export type { EnvoyResources, NamedResource, TranslateOptions } from './types.js';

export function translateGateway(ir: IR, gw: GatewayIR, opts: TranslateOptions, memo?: RouteMemo): EnvoyResources {
  const backendsByCluster = memo ? irIndex(ir).backends : new Map(ir.backends.map((b) => [b.cluster, b]));
  const out: EnvoyResources = { listener: [], route: [], cluster: [], endpoint: [], secret: [] };
  const used = new Set<string>();
  const byPort = new Map<number, ListenerChain[]>();
  for (const l of gw.listeners) {
    const routed = routeConfiguration(l, ir, backendsByCluster, memo);
    // An egress gateway's access filter is per call: the memoised route configuration is never changed.
    const egress = egressAccess(l, routed.resource, ir);
    const rc = egress ? { ...routed, resource: egress.resource, filters: [...routed.filters, egress.filter] } : routed;
    out.route.push(rc.resource);
    byPort.set(l.port, [...(byPort.get(l.port) ?? []), { l, filters: rc.filters, policies: resolvePolicies(l.policies, ir.policies) }]);
    // Every cluster any route or filter config names must be served, or Envoy rejects the config.
    if (rc.clusters) for (const c of rc.clusters) used.add(c);
    else collectClusters(rc.resource.body, used);
    for (const f of rc.filters) collectClustersOnce(f.typedConfig, used);
  }
  for (const chains of byPort.values()) out.listener.push(listener(chains, opts));
  const backends = ir.backends.filter((b) => used.has(b.cluster));
  // Listener certificates, and the CA / client certificate of TLS originated to external services.
  out.secret = [...listenerSecrets(gw.listeners, ir.secrets), ...originationSecrets(backends, ir.secrets)];
  // Mesh mode: the gateway has a workload certificate and uses mTLS to endpoints with sidecars.
  const tls = (b: Backend) => (ir.mesh?.gateways[gw.ref] ? ir.mesh.upstreamTls[b.cluster] : undefined);
  const last = new Map<string, { backend: Backend; made: { cluster: NamedResource; tls: unknown; reads: PolicyIR[] } }>();
  for (const b of backends) {
    const made = gatewayBackend(b, ir, tls(b), gw.ref, memo);
    out.cluster.push(made.cluster);
    if (made.endpoints) out.endpoint.push(made.endpoints);
    if (memo) last.set(b.cluster, { backend: b, made: made as { cluster: NamedResource; tls: unknown; reads: PolicyIR[] } });
  }
  memo?.lastBackends.set(gw.ref, last);
  return out;
}

/**
 * A backend's cluster (and EDS endpoints) for a gateway; the same objects
 * while the backend, its TLS and its policies are. An EDS backend whose
 * endpoints alone moved (a new object, otherwise equal) keeps its cluster
 * object: only its endpoints are made again.
 */
function gatewayBackend(b: Backend, ir: IR, tls: UpstreamTlsIR | undefined, gateway: string, memo: RouteMemo | undefined): { cluster: NamedResource; endpoints?: NamedResource } {
  const reads = memo ? backendPolicies(b, ir.policies) : [];
  const same = (m: { tls: unknown; reads: PolicyIR[] }) => m.tls === tls && m.reads.length === reads.length && m.reads.every((p, i) => p === reads[i]);
  const known = memo?.backends.get(b)?.get(gateway);
  if (known && same(known)) return known;
  const last = memo?.lastBackends.get(gateway)?.get(b.cluster);
  const cluster = last && b.discovery === 'EDS' && same(last.made) && sameButEndpoints(last.backend, b) ? last.made.cluster : meshCluster(b, ir, tls, gateway);
  const made = { tls, reads, cluster, ...(b.discovery === 'EDS' ? { endpoints: meshEndpoints(b, ir, tls) } : {}) };
  if (memo) {
    let byGateway = memo.backends.get(b);
    if (!byGateway) memo.backends.set(b, (byGateway = new Map()));
    byGateway.set(gateway, made);
  }
  return made;
}

/** An EDS cluster reads everything of its backend but the endpoints (they go to its ClusterLoadAssignment). */
function sameButEndpoints(a: Backend, b: Backend): boolean {
  let n = 0;
  for (const k in b) {
    n++;
    if (k !== 'endpoints' && !isDeepStrictEqual(a[k as keyof Backend], b[k as keyof Backend])) return false;
  }
  for (const _ in a) n--;
  return n === 0;
}

export { collectClusters } from './clusters-named.js';

/**
 * Every snapshot: one per gateway (key "gateway:ns/name"), one per workspace for
 * proxyless clients (key "proxyless:<ws>"), one per sidecar workload ("sidecar:ns/pod").
 */
export function translateAll(ir: IR, opts: TranslateOptions, memo?: RouteMemo): Map<string, EnvoyResources> {
  if (memo) memo.seen = new Set();
  const out = new Map(ir.gateways.map((gw) => [gatewayKey(gw.ref), translateGateway(ir, gw, opts, memo)]));
  // Hosts no gateway has any more: their memo goes.
  if (memo?.seen) {
    for (const key of memo.runs.keys()) if (!memo.seen.has(key)) memo.runs.delete(key);
    for (const key of memo.hosts.keys()) if (!memo.seen.has(key)) memo.hosts.delete(key);
    memo.seen = undefined;
  }
  if (memo && memo.lastBackends.size > ir.gateways.length) for (const ref of memo.lastBackends.keys()) if (!out.has(gatewayKey(ref))) memo.lastBackends.delete(ref);
  for (const ws of proxylessWorkspaces(ir)) out.set(proxylessKey(ws), translateProxyless(ir, ws));
  const outbound: OutboundCache = new Map();
  for (const wl of ir.mesh?.workloads ?? []) out.set(sidecarKey(wl.ref), translateSidecar(ir, wl, outbound));
  return out;
}

/**
 * A translator that remembers its last output: what the server uses, one per
 * pipeline. The result is always exactly translateAll's.
 */
export function createTranslator(opts: TranslateOptions): (ir: IR) => Map<string, EnvoyResources> {
  const memo = newRouteMemo();
  return (ir) => translateAll(ir, opts, memo);
}
