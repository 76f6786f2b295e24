// Gateway listeners -> envoy.config.listener.v3 Listener. The listener entries
// of a VirtualGateway that share a port become filter chains of one Envoy
// listener (told apart by SNI); each chain has an HTTP connection manager that
// takes its routes from RDS and, for TLS, its certificates from SDS, over ADS.
import type { ListenerIR, ListenerTlsIR, PolicyIR, SecretIR } from '../ir/types.js';
import { accessLogs } from './access-log.js';
import type { FilterInstance } from './filter-policies.js';
import { httpFilterChain } from './filters.js';
import { meshTlsContext } from './sidecar.js';
import { ADS_CONFIG_SOURCE, ANY, type NamedResource, type TranslateOptions } from './types.js';

const HCM = 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const TLS = 'envoy.extensions.transport_sockets.tls.v3';

/** One listener entry with what the routes on it need. */
export interface ListenerChain {
  l: ListenerIR;
  filters: FilterInstance[];
  policies: PolicyIR[];
}

function connectionManager(c: ListenerChain): Record<string, unknown> {
  const logs = accessLogs(c.policies);
  return {
    name: 'envoy.filters.network.http_connection_manager',
    typedConfig: ANY(HCM, {
      statPrefix: c.l.name.replace(/[^a-zA-Z0-9_]/g, '_'),
      // Host headers carry the port; virtual hosts are matched on the name alone.
      stripAnyHostPort: true,
      ...(c.l.codec ? { codecType: c.l.codec } : {}),
      rds: { configSource: ADS_CONFIG_SOURCE, routeConfigName: c.l.name },
      httpFilters: httpFilterChain(c.filters),
      ...(logs.length ? { accessLog: logs } : {}),
    }),
  };
}

function downstreamTls(t: ListenerTlsIR): Record<string, unknown> {
  const params = {
    ...(t.minimumProtocolVersion ? { tlsMinimumProtocolVersion: t.minimumProtocolVersion } : {}),
    ...(t.maximumProtocolVersion ? { tlsMaximumProtocolVersion: t.maximumProtocolVersion } : {}),
    ...(t.cipherSuites ? { cipherSuites: t.cipherSuites } : {}),
    ...(t.ecdhCurves ? { ecdhCurves: t.ecdhCurves } : {}),
  };
  const sds = (name: string) => ({ name, sdsConfig: ADS_CONFIG_SOURCE });
  // ISTIO_MUTUAL: the gateway's mesh certificate; peers must present a SPIFFE ID of the trust domain.
  if (t.mesh) {
    return {
      name: 'envoy.transport_sockets.tls',
      typedConfig: ANY(`${TLS}.DownstreamTlsContext`, {
        commonTlsContext: { ...meshTlsContext([{ prefix: `spiffe://${t.mesh.trustDomain}/` }]), ...(Object.keys(params).length ? { tlsParams: params } : {}), alpnProtocols: ['h2', 'http/1.1'] },
        requireClientCertificate: { value: true },
      }),
    };
  }
  return {
    name: 'envoy.transport_sockets.tls',
    typedConfig: ANY(`${TLS}.DownstreamTlsContext`, {
      commonTlsContext: {
        tlsCertificateSdsSecretConfigs: [sds(t.certificateSecret)],
        ...(t.validationSecret ? { validationContextSdsSecretConfig: sds(t.validationSecret) } : {}),
        ...(Object.keys(params).length ? { tlsParams: params } : {}),
        alpnProtocols: ['h2', 'http/1.1'],
      },
      ...(t.validationSecret ? { requireClientCertificate: { value: t.requireClientCertificate } } : {}),
    }),
  };
}

/** The Envoy listener for every chain on one port (named after the first). */
export function listener(chains: ListenerChain[], opts: TranslateOptions): NamedResource {
  const first = chains[0].l;
  const sni = chains.some((c) => c.l.serverNames);
  return {
    name: first.name,
    body: {
      name: first.name,
      address: { socketAddress: { address: opts.listenerAddress, portValue: first.port } },
      // SNI is read only when filter chains are told apart by it.
      ...(sni ? { listenerFilters: [{ name: 'envoy.filters.listener.tls_inspector', typedConfig: ANY('envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector') }] } : {}),
      filterChains: chains.map((c) => ({
        ...(c.l.serverNames ? { filterChainMatch: { serverNames: c.l.serverNames } } : {}),
        filters: [connectionManager(c)],
        ...(c.l.tls ? { transportSocket: downstreamTls(c.l.tls) } : {}),
      })),
    },
  };
}

/** SDS secrets the listeners name; key material goes only into these resources. */
export function listenerSecrets(listeners: ListenerIR[], secrets: Record<string, SecretIR> = {}): NamedResource[] {
  const names = new Set(listeners.flatMap((l) => (l.tls ? [l.tls.certificateSecret, ...(l.tls.validationSecret ? [l.tls.validationSecret] : [])] : [])));
  return [...names].sort().flatMap((name) => {
    const s = secrets[name];
    if (!s) return [];
    const inline = (m: { pem: string }) => ({ inlineString: m.pem });
    const body = s.trustedCa
      ? { name, validationContext: { trustedCa: inline(s.trustedCa) } }
      : { name, tlsCertificate: { certificateChain: inline(s.certificateChain!), privateKey: inline(s.privateKey!) } };
    return [{ name, body }];
  });
}
