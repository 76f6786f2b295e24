// Mesh egress (issue 13, seed 05): how a sidecar reaches an ExternalService
// port, and what it does with hosts its workspace does not know.
import type { Backend, OutboundExternalIR, OutboundModeIR } from '../ir/types.js';
import type { ExposedExternalService } from '../resources/egress.js';
import type { ExternalServiceR, VirtualGatewayR, WorkspaceSettingsR } from '../resources/schema.js';
import { clusterSuffix, nsName, resourceKey } from '../resources/schema.js';
import { resolveDestination, type DestinationCatalog } from './destinations.js';
import { gatewayServices } from './gateways.js';
import { compareStr, selectorMatches } from './match.js';
import type { StatusBook } from './status.js';
import type { WorkspaceIndex } from './workspaces.js';

type ExternalPort = ExternalServiceR['spec']['ports'][number];

const IP = /^(\d{1,3}(\.\d{1,3}){3}|[0-9a-fA-F:]*:[0-9a-fA-F:]*)$/;

/** Addresses as CIDRs (a bare IP is a /32 or /128). */
export function addressCidrs(es: ExternalServiceR): string[] {
  return es.spec.addresses.filter((a) => a.includes('/') || IP.test(a)).map((a) => (a.includes('/') ? a : a.includes(':') ? `${a}/128` : `${a}/32`));
}

/**
 * The port the app calls and how its traffic is taken: HTTP-speaking ports
 * (and HTTPS/TLS ports the sidecar originates TLS on, `clientsideTls`) are
 * routed by host; HTTPS/TLS ports without it carry the app's own TLS,
 * passed through by SNI; TCP ports take every connection to the addresses
 * (or to the port, without addresses).
 */
export function externalOutbound(es: ExternalServiceR, port: ExternalPort, backend: Backend, viaGateway?: { gateway: string; appPort: number }): { port: number; external: OutboundExternalIR } {
  // Through an egress gateway: the app speaks plain HTTP on portMatch, the sidecar sends it over mesh mTLS.
  if (viaGateway) return { port: viaGateway.appPort, external: { servicePort: port.number, transport: 'http', cidrs: [], egressGateway: viaGateway.gateway } };
  const tlsPort = port.protocol === 'HTTPS' || port.protocol === 'TLS';
  const transport: OutboundExternalIR['transport'] = port.protocol === 'TCP' ? 'tcp' : tlsPort && port.clientsideTls === undefined ? 'tls' : 'http';
  return {
    port: port.number,
    external: {
      servicePort: port.number,
      transport,
      cidrs: addressCidrs(es),
      ...(backend.discovery === 'ORIGINAL_DST' ? { addressCluster: backend.cluster } : {}),
    },
  };
}

/** Hosts a sidecar routes to the ExternalService: its hosts (wildcards as Envoy suffix domains). */
export const externalDomains = (es: ExternalServiceR): string[] => [...new Set(es.spec.hosts)];

/** The mode of each workspace: its WorkspaceSettings' options.outboundTrafficPolicy, else the mesh-wide setting (ALLOW_ANY by default). */
export function outboundModes(settings: Map<string, WorkspaceSettingsR>, meshWide: OutboundModeIR = 'ALLOW_ANY'): (workspace: string) => OutboundModeIR {
  return (w) => settings.get(w)?.spec.options?.outboundTrafficPolicy?.mode ?? meshWide;
}

// ---- egress gateways -------------------------------------------------------

/** One ExternalService port an egress listener serves: the backend (TLS origination included) is the gateway workspace's. */
export interface ExposedExternal {
  es: ExternalServiceR;
  port: ExternalPort;
  backend: Backend;
}

export interface EgressPlan {
  /** gateway key -> listener index -> what it exposes. */
  listeners: Map<string, Map<number, ExposedExternal[]>>;
  /** ExternalService port ("ns/name:port") -> the gateway its sidecars send it to, and the port apps call. */
  routes: Map<string, { gateway: string; appPort: number; endpoints: Backend['endpoints']; listenerPort: number }>;
  /** "ns/name@workspace": ExternalServices whose server-side policies for that consumer an egress gateway enforces. */
  enforced: Set<string>;
  /** Sidecar clusters that lead to an egress gateway -> the gateway (filled in as sidecars are planned). */
  clusters: Map<string, string>;
}

export interface EgressContext {
  ws: WorkspaceIndex;
  catalog: DestinationCatalog;
  status: StatusBook;
  gateways: Map<string, VirtualGatewayR>;
}

const exposedMatches = (x: ExposedExternalService, es: ExternalServiceR, owner: string, cluster: string): boolean => {
  if (x.host !== undefined && !es.spec.hosts.includes(x.host)) return false;
  const { host: _h, ...sel } = x;
  return !Object.keys(sel).length || selectorMatches(sel, { metadata: es.metadata, workspace: owner, cluster });
};

/**
 * Which ExternalServices each egress listener serves (those its
 * exposedExternalServices select and its workspace can see), and which
 * ExternalService ports sidecars must send through an egress gateway
 * (egressGatewayRoutes). A sidecar never goes around the gateway it is told
 * to use: without the gateway's endpoints its requests get 503.
 */
export function planEgress(ctx: EgressContext, addBackend: (b: Backend) => void): EgressPlan {
  const plan: EgressPlan = { listeners: new Map(), routes: new Map(), enforced: new Set(), clusters: new Map() };
  const { ws, catalog, status } = ctx;
  const externals = [...catalog.externalServices.values()].sort((a, b) => compareStr(nsName(a), nsName(b)));
  for (const [key, gw] of [...ctx.gateways.entries()].sort(([a], [b]) => compareStr(a, b))) {
    const gwWs = ws.ownerOf(gw);
    if (!gwWs) continue;
    gw.spec.listeners.forEach((l, index) => {
      if (!l.exposedExternalServices) return;
      const exposed: ExposedExternal[] = [];
      for (const es of externals) {
        const owner = ws.ownerOf(es);
        if (!owner || !ws.isVisible('EXTERNAL_SERVICE', es, owner, gwWs)) continue;
        if (!l.exposedExternalServices.some((x) => exposedMatches(x, es, owner, catalog.clusters.nameOf(es)))) continue;
        // The port whose egressGatewayRoutes name this gateway, else the first.
        const port = es.spec.ports.find((p) => p.egressGatewayRoutes?.virtualGatewayRefs.some((r) => refKey(r, es, catalog) === key)) ?? es.spec.ports[0];
        const r = resolveDestination(catalog, ws, { ref: { name: es.metadata.name, namespace: es.metadata.namespace, ...(es.cluster ? { cluster: es.cluster } : {}) }, kind: 'EXTERNAL_SERVICE', port: { number: port.number } }, es.metadata.namespace, gwWs, undefined);
        if (!r.resolved) continue;
        addBackend(r.resolved.backend);
        exposed.push({ es, port, backend: r.resolved.backend });
        plan.enforced.add(`${nsName(es)}@${gwWs}`);
        status.count(resourceKey(es), 'egressListeners');
      }
      if (!exposed.length) status.warn(resourceKey(gw), `spec.listeners[${index}].exposedExternalServices selects no ExternalService that workspace "${gwWs}" owns or imports; the egress listener serves nothing`);
      (plan.listeners.get(key) ?? plan.listeners.set(key, new Map()).get(key)!).set(index, exposed);
    });
  }
  // Sidecars: ExternalService ports routed through an egress gateway that exposes them.
  for (const es of externals) {
    es.spec.ports.forEach((p, i) => {
      const routes = p.egressGatewayRoutes;
      if (!routes) return;
      const where = `spec.ports[${i}].egressGatewayRoutes`;
      const gwKey = routes.virtualGatewayRefs.map((r) => refKey(r, es, catalog)).find((k) => plan.listeners.get(k)?.size);
      const appPort = routes.portMatch ?? p.number;
      if (!gwKey) {
        status.warn(resourceKey(es), `${where}: none of ${routes.virtualGatewayRefs.map((r) => refKey(r, es, catalog)).join(', ')} is a VirtualGateway with an egress listener (exposedExternalServices); sidecars answer 503 for this port rather than bypass the gateway`);
        plan.routes.set(`${nsName(es)}:${p.number}`, { gateway: routes.virtualGatewayRefs.map((r) => refKey(r, es, catalog))[0], appPort, endpoints: [], listenerPort: 0 });
        return;
      }
      const gw = ctx.gateways.get(gwKey)!;
      const [index] = [...plan.listeners.get(gwKey)!.entries()].find(([, xs]) => xs.some((x) => x.es === es)) ?? [];
      if (index === undefined) {
        status.warn(resourceKey(es), `${where}: VirtualGateway ${gwKey} does not expose this ExternalService (its exposedExternalServices, or its workspace does not import it); sidecars answer 503 for this port`);
        plan.routes.set(`${nsName(es)}:${p.number}`, { gateway: gwKey, appPort, endpoints: [], listenerPort: 0 });
        return;
      }
      const listenerPort = gw.spec.listeners[index].port.number ?? 0;
      const endpoints = gatewayEndpoints(gw, listenerPort, ctx);
      if (!endpoints.length) status.warn(resourceKey(es), `${where}: VirtualGateway ${gwKey} has no endpoints on port ${listenerPort} (a Service selecting its workloads, with an EndpointSlice); sidecars answer 503 for this port until it has`);
      plan.routes.set(`${nsName(es)}:${p.number}`, { gateway: gwKey, appPort, endpoints, listenerPort });
    });
  }
  return plan;
}

function refKey(r: { name: string; namespace?: string; cluster?: string }, es: ExternalServiceR, catalog: DestinationCatalog): string {
  const c = catalog.clusters.resolve(r.cluster, es.cluster);
  return `${r.namespace ?? es.metadata.namespace}/${r.name}${clusterSuffix(c.cluster)}`;
}

/** The gateway's endpoints on a listener port: EndpointSlices of the Services that select its workloads. */
function gatewayEndpoints(gw: VirtualGatewayR, port: number, ctx: EgressContext): Backend['endpoints'] {
  const out: Backend['endpoints'] = [];
  for (const svc of gatewayServices(gw, ctx.catalog)) {
    const sp = svc.spec.ports.find((p) => p.port === port || p.targetPort === port);
    if (!sp) continue;
    const target = typeof sp.targetPort === 'number' ? sp.targetPort : sp.port;
    for (const s of ctx.catalog.slicesByService.get(nsName(svc)) ?? []) {
      for (const e of s.body.endpoints) {
        if (e.conditions?.ready === false) continue;
        for (const a of e.addresses) if (!out.some((o) => o.address === a)) out.push({ address: a, port: target, ready: true });
      }
    }
  }
  return out;
}

/** The backend a sidecar uses for an ExternalService port routed through an egress gateway: the gateway's endpoints, over mesh mTLS. */
export function egressBackend(direct: Backend, route: { gateway: string; endpoints: Backend['endpoints'] }, plan: EgressPlan): Backend {
  const { originate: _o, ...rest } = direct;
  const cluster = `${direct.cluster}#egress`;
  plan.clusters.set(cluster, route.gateway);
  return { ...rest, cluster, endpoints: route.endpoints, discovery: 'EDS', protocol: 'HTTP' };
}
