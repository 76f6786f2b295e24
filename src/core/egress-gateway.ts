// The egress gateway's listener (issue 13, seed 05): sidecars reach it over
// mesh mTLS (tls.mode ISTIO_MUTUAL: the gateway's mesh certificate, peers with
// a SPIFFE ID of the trust domain); one virtual host per ExternalService it
// exposes, routed to the gateway workspace's backend for it (TLS originated
// there), and the AccessPolicies of that workspace on it (403 for others).
import type { DestinationIR, FinalRoute, ListenerTlsIR, PolicyRef, VirtualHostIR } from '../ir/types.js';
import { nsName } from '../resources/schema.js';
import type { ExposedExternal } from './egress.js';

export type { EgressPlan } from './egress.js';

/** SDS names of a proxy's mesh certificate and trust bundle (the CA serves them to sidecars and mesh gateways). */
export const MESH_CERT_SECRET = 'default';
export const MESH_TRUST_SECRET = 'ROOTCA';

export function meshListenerTls(trustDomain = 'cluster.local'): ListenerTlsIR {
  return { certificateSecret: MESH_CERT_SECRET, validationSecret: MESH_TRUST_SECRET, requireClientCertificate: true, mesh: { trustDomain } };
}

export const egressVirtualHostName = (x: ExposedExternal): string => `egress/${nsName(x.es)}:${x.port.number}`;

export function egressVirtualHosts(
  gateway: string,
  workspace: string,
  exposed: ExposedExternal[],
  destinations: Map<string, DestinationIR> | undefined,
  taken: Set<string>,
): { virtualHosts: VirtualHostIR[]; access: Record<string, PolicyRef[]> } {
  const virtualHosts: VirtualHostIR[] = [];
  const access: Record<string, PolicyRef[]> = {};
  for (const x of exposed) {
    const domains = x.es.spec.hosts.filter((h) => !taken.has(h));
    if (!domains.length) continue;
    for (const d of domains) taken.add(d);
    const name = egressVirtualHostName(x);
    const d = destinations?.get(`EXTERNAL_SERVICE/${nsName(x.es)}@${workspace}`);
    access[name] = (d?.serverPolicies ?? []).filter((p) => p.kind === 'AccessPolicy');
    virtualHosts.push({ name, domains, routes: [egressRoute(gateway, workspace, x, domains)] });
  }
  return { virtualHosts, access };
}

function egressRoute(gateway: string, workspace: string, x: ExposedExternal, hosts: string[]): FinalRoute {
  const table = `egress:${nsName(x.es)}`;
  const route = `port-${x.port.number}`;
  return {
    id: `egress|${gateway}|${nsName(x.es)}:${x.port.number}`,
    gateway,
    hosts,
    table,
    route,
    path: [{ table, route, index: 0 }],
    workspace,
    rootWorkspace: workspace,
    chainWorkspaces: [workspace],
    labels: {},
    matchers: [{}],
    action: { type: 'forward', destinations: [{ cluster: x.backend.cluster, weight: 1 }] },
    valid: true,
    errors: [],
    // The ExternalService's client-side policies act on its cluster (backend.clientPolicies).
    policies: [],
    skipped: [],
    order: 0,
  };
}
