// Backends -> envoy.config.cluster.v3 Cluster and ClusterLoadAssignment.
import type { Backend } from '../ir/types.js';
import { ADS_CONFIG_SOURCE, ANY, type NamedResource } from './types.js';

export function loadAssignment(b: Backend): Record<string, unknown> {
  const byZone = new Map<string, Backend['endpoints']>();
  for (const e of b.endpoints) byZone.set(e.zone ?? '', [...(byZone.get(e.zone ?? '') ?? []), e]);
  return {
    clusterName: b.cluster,
    endpoints: [...byZone.entries()].map(([zone, eps]) => ({
      ...(zone ? { locality: { zone } } : {}),
      lbEndpoints: eps.map((e) => ({
        endpoint: { address: { socketAddress: { address: e.address, portValue: e.port } } },
        healthStatus: e.ready ? 'HEALTHY' : 'UNHEALTHY',
      })),
    })),
  };
}

export function cluster(b: Backend): NamedResource {
  const body: Record<string, unknown> = {
    name: b.cluster,
    connectTimeout: { seconds: 5 },
    ...(b.discovery === 'EDS'
      ? { type: 'EDS', edsClusterConfig: { edsConfig: ADS_CONFIG_SOURCE } }
      : { type: 'STRICT_DNS', loadAssignment: loadAssignment(b) }),
  };
  if (b.protocol === 'HTTP2') {
    body.typedExtensionProtocolOptions = {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': ANY('envoy.extensions.upstreams.http.v3.HttpProtocolOptions', {
        explicitHttpConfig: { http2ProtocolOptions: {} },
      }),
    };
  }
  if (b.protocol === 'HTTPS') {
    const sni = b.endpoints.find((e) => !/^[\d.:]+$/.test(e.address))?.address;
    body.transportSocket = {
      name: 'envoy.transport_sockets.tls',
      typedConfig: ANY('envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext', sni ? { sni } : {}),
    };
  }
  return { name: b.cluster, body };
}

export function clusterLoadAssignment(b: Backend): NamedResource {
  return { name: b.cluster, body: loadAssignment(b) };
}
