// Mesh egress at the sidecar (issue 13): the outbound filter chains of
// ExternalService ports that are not routed by host on a port's HTTP chain
// (TCP by address or port, the app's own TLS by SNI, HTTP by address), and
// what REGISTRY_ONLY does with everything else.
import type { AccessRuleIR, Backend, FinalRoute, IR, OutboundServiceIR, PrincipalMatch } from '../ir/types.js';
import { resolvePolicies } from './attached.js';
import { rbacPolicy } from './rbac.js';
import { cluster } from './clusters.js';
import type { FilterInstance } from './filter-policies.js';
import { httpFilterChain } from './filters.js';
import { envoyRoutes } from './routes.js';
import { ANY, type NamedResource } from './types.js';

const HCM = 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const TCP_PROXY = 'envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy';
export const BLACKHOLE_CLUSTER = 'BlackHoleCluster';
/** What a REGISTRY_ONLY sidecar answers for a host it does not know (Istio answers 502 too). */
export const REGISTRY_ONLY_STATUS = 502;
export const REGISTRY_ONLY_BODY = 'meshplane: this host is not a Service or ExternalService of the workspace, and its outbound traffic policy is REGISTRY_ONLY\n';

const tcpProxy = (statPrefix: string, clusterName: string) => ({ name: 'envoy.filters.network.tcp_proxy', typedConfig: ANY(TCP_PROXY, { statPrefix, cluster: clusterName }) });
const cidrRange = (c: string) => {
  const [addressPrefix, len] = c.split('/');
  return { addressPrefix, prefixLen: { value: Number(len) } };
};
const passthroughName = (c: string) => `${c}|tls-passthrough`;
const esName = (s: OutboundServiceIR) => `es/${s.namespace}/${s.name}:${s.external!.servicePort}`;

/** Whether a service is routed by host on its port's HTTP chain. */
export const routedByHost = (s: OutboundServiceIR): boolean => !s.external || s.external.transport === 'http';

/** The catch-all virtual host of a port's HTTP route configuration. */
export function unknownHostVirtualHost(mode: 'ALLOW_ANY' | 'REGISTRY_ONLY', passthrough: string): Record<string, unknown> {
  if (mode === 'REGISTRY_ONLY') {
    return { name: 'registry_only', domains: ['*'], routes: [{ name: 'registry_only', match: { prefix: '/' }, directResponse: { status: REGISTRY_ONLY_STATUS, body: { inlineString: REGISTRY_ONLY_BODY } } }] };
  }
  return { name: 'allow_any', domains: ['*'], routes: [{ name: 'allow_any', match: { prefix: '/' }, route: { cluster: passthrough, timeout: { seconds: 0 } } }] };
}

/** The listener's last resort: ALLOW_ANY passes the connection on, REGISTRY_ONLY closes it. */
export function defaultChain(mode: 'ALLOW_ANY' | 'REGISTRY_ONLY', passthrough: string): Record<string, unknown> {
  return mode === 'REGISTRY_ONLY' ? { name: 'registry_only', filters: [tcpProxy('registry_only', BLACKHOLE_CLUSTER)] } : { name: 'passthrough', filters: [tcpProxy('passthrough', passthrough)] };
}

export const blackHoleCluster = (): NamedResource => ({ name: BLACKHOLE_CLUSTER, body: { name: BLACKHOLE_CLUSTER, type: 'STATIC', connectTimeout: { seconds: 1 } } });

export interface ExternalChains {
  chains: Array<Record<string, unknown>>;
  /** Clusters the chains name that come from the IR's backends. */
  used: Set<string>;
  /** Clusters made here (TLS passthrough copies of a backend, without origination). */
  clusters: NamedResource[];
  /** Destination ports that carry the app's TLS (the listener needs the TLS inspector there). */
  tlsPorts: number[];
  /** HTTP filter configs of the chains (they may name clusters too). */
  filterConfigs: unknown[];
}

/**
 * Chains for ExternalService ports that are not (only) routed by host:
 *   tcp   every connection to the addresses on the port (to the port, without addresses)
 *   tls   the app's own TLS, by SNI = one of the hosts, passed through unchanged
 *   http  connections to the addresses, whatever the Host header
 * `httpPorts` are the ports with a host-routed HTTP chain (a TCP port without
 * addresses cannot share one: the HTTP chain wins).
 */
export function externalChains(ir: IR, services: OutboundServiceIR[], httpPorts: Set<number>, backends: Map<string, Backend>, defaultRoute: (s: OutboundServiceIR) => FinalRoute, spiffeId = ''): ExternalChains {
  const out: ExternalChains = { chains: [], used: new Set(), clusters: [], tlsPorts: [], filterConfigs: [] };
  const portOnly = new Set<number>();
  for (const s of services) {
    const x = s.external;
    if (!x) continue;
    const name = `outbound|${s.port}|${esName(s)}`;
    const access = callerAccess(ir, s, spiffeId);
    // A connection an AccessPolicy does not allow is closed (TCP and the app's TLS carry no request to check).
    const denied = access !== undefined && !access.tcpAllowed;
    if (denied && x.transport !== 'http') {
      out.chains.push({ name, filterChainMatch: { destinationPort: { value: s.port }, ...(x.transport === 'tls' ? { serverNames: s.domains, transportProtocol: 'tls' } : x.cidrs.length ? { prefixRanges: x.cidrs.map(cidrRange) } : {}) }, filters: [tcpProxy(`outbound_${s.port}_denied`, BLACKHOLE_CLUSTER)] });
      if (!out.clusters.some((c) => c.name === BLACKHOLE_CLUSTER)) out.clusters.push(blackHoleCluster());
      if (x.transport === 'tls' && !out.tlsPorts.includes(s.port)) out.tlsPorts.push(s.port);
      continue;
    }
    if (x.transport === 'tcp') {
      if (!x.cidrs.length && (httpPorts.has(s.port) || portOnly.has(s.port))) continue;
      if (!x.cidrs.length) portOnly.add(s.port);
      out.chains.push({ name, filterChainMatch: { destinationPort: { value: s.port }, ...(x.cidrs.length ? { prefixRanges: x.cidrs.map(cidrRange) } : {}) }, filters: [tcpProxy(`outbound_${s.port}_${esName(s)}`, s.cluster)] });
      out.used.add(s.cluster);
    } else if (x.transport === 'tls') {
      const b = backends.get(s.cluster);
      if (!b || !s.domains.length) continue;
      const copy = passthroughName(s.cluster);
      out.chains.push({ name, filterChainMatch: { destinationPort: { value: s.port }, serverNames: s.domains, transportProtocol: 'tls' }, filters: [tcpProxy(`outbound_${s.port}_${esName(s)}`, copy)] });
      if (!out.clusters.some((c) => c.name === copy)) {
        const { originate: _o, ...plain } = b;
        const body = { ...cluster({ ...plain, cluster: copy, protocol: 'HTTP' }, ir.policies).body };
        if (b.discovery === 'EDS') {
          delete body.edsClusterConfig;
          Object.assign(body, { type: 'STATIC', loadAssignment: staticAssignment(copy, b) });
        }
        out.clusters.push({ name: copy, body });
      }
      if (!out.tlsPorts.includes(s.port)) out.tlsPorts.push(s.port);
    } else if (x.cidrs.length) {
      const filters: FilterInstance[] = [];
      const t = envoyRoutes({ ...defaultRoute(s), hosts: ['*'] }, ir, backends);
      filters.push(...t.filters);
      if (access) filters.push(externalRbacFilter());
      const rc = { name, virtualHosts: [{ name: esName(s), domains: ['*'], routes: t.routes, ...(access ? { typedPerFilterConfig: access.perFilter } : {}) }] };
      out.chains.push({
        name,
        filterChainMatch: { destinationPort: { value: s.port }, prefixRanges: x.cidrs.map(cidrRange) },
        filters: [{ name: 'envoy.filters.network.http_connection_manager', typedConfig: ANY(HCM, { statPrefix: `outbound_${s.port}_${esName(s)}`, routeConfig: rc, httpFilters: httpFilterChain(filters) }) }],
      });
      out.used.add(s.cluster);
      for (const f of filters) out.filterConfigs.push(f.typedConfig);
    }
  }
  return out;
}

function staticAssignment(name: string, b: Backend): Record<string, unknown> {
  return { clusterName: name, endpoints: [{ lbEndpoints: b.endpoints.map((e) => ({ endpoint: { address: { socketAddress: { address: e.address, portValue: e.port } } } })) }] };
}

/** The TLS inspector, only on ports that carry an app's TLS (it would stall server-first protocols elsewhere). */
export function tlsInspector(ports: number[]): Record<string, unknown> | undefined {
  if (!ports.length) return undefined;
  const rules = ports.sort((a, b) => a - b).map((p) => ({ destinationPortRange: { start: p, end: p + 1 } }));
  return {
    name: 'envoy.filters.listener.tls_inspector',
    typedConfig: ANY('envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector'),
    filterDisabled: { notMatch: rules.length === 1 ? rules[0] : { orMatch: { rules } } },
  };
}

// ---- AccessPolicies on ExternalServices, at the caller's sidecar (§6) ------

const RBAC = 'envoy.extensions.filters.http.rbac.v3';
export const EXTERNAL_RBAC_FILTER = 'envoy.filters.http.rbac.external';
export const externalRbacFilter = (): FilterInstance => ({ name: EXTERNAL_RBAC_FILTER, slot: 'ext_authz', priority: 0, typedConfig: ANY(`${RBAC}.RBAC`) });

function principalMatches(m: PrincipalMatch, id: string): boolean {
  if ('none' in m) return false;
  if ('exact' in m) return m.exact === id;
  if ('prefix' in m) return id.startsWith(m.prefix);
  try {
    return new RegExp(`^(?:${m.regex})$`).test(id);
  } catch {
    return false;
  }
}

/**
 * What the workspace's AccessPolicies on an ExternalService let this caller
 * do. The caller's identity is known here, so the principals are decided now;
 * what remains (paths, methods, headers) becomes a per-host RBAC allow-list.
 * A rule on source addresses cannot be decided by the caller's own proxy: it
 * does not allow. Undefined when nothing restricts the caller.
 */
export function callerAccess(ir: IR, s: OutboundServiceIR, spiffeId: string): { perFilter: Record<string, unknown>; tcpAllowed: boolean } | undefined {
  if (!s.access?.length) return undefined;
  const policies = resolvePolicies(s.access, ir.policies);
  let restricts = false;
  const kept: Array<{ name: string; rule: AccessRuleIR }> = [];
  for (const p of policies) {
    if (!p.access) {
      restricts = true; // not resolved: fail closed
      continue;
    }
    if (!p.access.rules) continue;
    restricts = true;
    p.access.rules.forEach((rule, i) => {
      if (rule.ipBlocks.length) return;
      if (rule.principals && !rule.principals.some((m) => principalMatches(m, spiffeId))) return;
      kept.push({ name: `${p.namespace}/${p.name}[${i}]`, rule });
    });
  }
  if (!restricts) return undefined;
  const rbacPolicies = Object.fromEntries(kept.map(({ name, rule }) => [name, { permissions: rbacPolicy({ ...rule, principals: null }).permissions, principals: [{ any: true }] }]));
  return {
    perFilter: { [EXTERNAL_RBAC_FILTER]: ANY(`${RBAC}.RBACPerRoute`, { rbac: { rules: { action: 'ALLOW', policies: rbacPolicies } } }) },
    tcpAllowed: kept.some(({ rule }) => !rule.paths.length && !rule.methods.length && !rule.headers.length),
  };
}
