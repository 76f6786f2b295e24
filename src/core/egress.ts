// Mesh egress (issue 13, seed 05): how a sidecar reaches an ExternalService
// port, and what it does with hosts its workspace does not know.
import type { Backend, OutboundExternalIR, OutboundModeIR } from '../ir/types.js';
import type { ExternalServiceR, WorkspaceSettingsR } from '../resources/schema.js';

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
export function externalOutbound(es: ExternalServiceR, port: ExternalPort, backend: Backend): { port: number; external: OutboundExternalIR } {
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
