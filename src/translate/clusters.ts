// Backends -> envoy.config.cluster.v3 Cluster and ClusterLoadAssignment, with
// the client-side destination policies applied.
import type { Backend, PolicyIR } from '../ir/types.js';
import { backendPolicies, clusterPolicyFields, endpointPriority } from './cluster-policies.js';
import { originationSocket } from './external-tls.js';
import { ADS_CONFIG_SOURCE, ANY, type NamedResource } from './types.js';

/** Where the proxy runs (a sidecar's Pod topology labels): external endpoints nearest to it come first. */
export type ProxyLocality = { region?: string; zone?: string };

export function loadAssignment(b: Backend, policies: PolicyIR[] = [], near?: ProxyLocality): Record<string, unknown> {
  // A FailoverPolicy orders zones itself; else an ExternalService's endpoints go by distance from the proxy (issue 13).
  const priorityOf = endpointPriority(policies) ?? (near && b.kind === 'EXTERNAL_SERVICE' ? localityPriority(near, b) : undefined);
  const groups = new Map<string, Backend['endpoints']>();
  // One locality per region and zone (Kubernetes endpoints carry a zone; external endpoints may carry both).
  const localityKey = (e: Backend['endpoints'][number]) => `${e.region ?? ''}\0${e.zone ?? ''}`;
  for (const e of b.endpoints) groups.set(localityKey(e), [...(groups.get(localityKey(e)) ?? []), e]);
  return {
    clusterName: b.cluster,
    endpoints: [...groups.values()].map((eps) => ({ zone: eps[0].zone, region: eps[0].region, eps })).map(({ zone, region, eps }) => ({
      // Always present: proxyless gRPC clients reject endpoints without a locality.
      locality: { ...(region ? { region } : {}), ...(zone ? { zone } : {}) },
      // gRPC clients ignore localities without a weight; Envoy ignores it unless locality-weighted LB is on.
      loadBalancingWeight: { value: Math.max(1, eps.length) },
      ...(priorityOf && priorityOf(zone || undefined, region) > 0 ? { priority: priorityOf(zone || undefined, region) } : {}),
      lbEndpoints: eps.map((e) => ({
        endpoint: { address: { socketAddress: { address: e.address, portValue: e.port } } },
        healthStatus: e.ready ? 'HEALTHY' : 'UNHEALTHY',
      })),
    })),
  };
}

/** `gateway` (ns/name): the gateway this cluster is served to, if any. */
export function cluster(b: Backend, byKey: Record<string, PolicyIR> = {}, gateway?: string, near?: ProxyLocality): NamedResource {
  const policies = backendPolicies(b, byKey);
  const { fields, commonHttp } = clusterPolicyFields(policies, b.host, gateway);
  const body: Record<string, unknown> = {
    name: b.cluster,
    connectTimeout: { seconds: 5 },
    ...(b.discovery === 'EDS'
      ? { type: 'EDS', edsClusterConfig: { edsConfig: ADS_CONFIG_SOURCE } }
      : b.discovery === 'ORIGINAL_DST'
        ? { type: 'ORIGINAL_DST', lbPolicy: 'CLUSTER_PROVIDED' }
        : { type: 'STRICT_DNS', loadAssignment: loadAssignment(b, policies, near) }),
    ...fields,
  };
  if (b.protocol === 'HTTP2' || Object.keys(commonHttp).length) {
    body.typedExtensionProtocolOptions = {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': ANY('envoy.extensions.upstreams.http.v3.HttpProtocolOptions', {
        ...(Object.keys(commonHttp).length ? { commonHttpProtocolOptions: commonHttp } : {}),
        explicitHttpConfig: b.protocol === 'HTTP2' ? { http2ProtocolOptions: {} } : { httpProtocolOptions: {} },
      }),
    };
  }
  const tls = originationSocket(b);
  if (tls) body.transportSocket = tls;
  return { name: b.cluster, body };
}

export function clusterLoadAssignment(b: Backend, byKey: Record<string, PolicyIR> = {}, near?: ProxyLocality): NamedResource {
  return { name: b.cluster, body: loadAssignment(b, backendPolicies(b, byKey), near) };
}

/** 0: the proxy's region and zone, 1: its region, 2: elsewhere (Istio's locality failover order). */
function localityPriority(near: ProxyLocality, b: Backend): ((zone: string | undefined, region: string | undefined) => number) | undefined {
  if (!b.endpoints.some((e) => e.zone || e.region)) return undefined;
  return (zone, region) => {
    const sameRegion = (region ?? '') === (near.region ?? '');
    if (sameRegion && zone !== undefined && zone === near.zone) return 0;
    return sameRegion && near.region !== undefined ? 1 : 2;
  };
}
