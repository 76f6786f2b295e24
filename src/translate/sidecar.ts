// Mesh mode: one workload's sidecar config. Istio's layout, because that is
// what mesh users know: iptables in the workload's network namespace sends
// inbound TCP to :15006 and outbound TCP to :15001; both listeners restore
// the original destination (original_dst) and pick a filter chain by its port.
//   inbound   one chain per workload port (TLS and/or plain text by tlsMode),
//             server-side HTTP chain (isolation rbac, AccessPolicy rbac, router)
//             to 127.0.0.1:<port>
//   outbound  one HTTP chain per destination port (RDS "outbound|<port>|<ns>"),
//             anything else passes through to where it was going
// Certificates come over SDS: "default" (the workload's) and "ROOTCA" (trust bundle).
import type { IR, PolicyIR, TlsMode, WorkloadIR } from '../ir/types.js';
import { accessLogs } from './access-log.js';
import { originationSecrets } from './external-tls.js';
import { resolvePolicies } from './attached.js';
import { httpFilterChain } from './filters.js';
import { accessFilter, isolationFilter } from './rbac.js';
import { outboundResources, type OutboundCache } from './sidecar-outbound.js';
import { ContentMemo, irIndex } from './sidecar-memo.js';
import { ADS_CONFIG_SOURCE, ANY, type EnvoyResources, type NamedResource } from './types.js';

export const WORKLOAD_CERT_SECRET = 'default';
export const TRUST_BUNDLE_SECRET = 'ROOTCA';
export const INBOUND_PORT = 15006;
export const OUTBOUND_PORT = 15001;
export const PASSTHROUGH_CLUSTER = 'PassthroughCluster';

const HCM = 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const TLS = 'envoy.extensions.transport_sockets.tls.v3';

export const sds = (name: string) => ({ name, sdsConfig: ADS_CONFIG_SOURCE });

/** The mesh's TLS context: our certificate and the trust bundle over SDS, peers must have a SPIFFE ID that matches. */
export function meshTlsContext(sans: Array<Record<string, unknown>>): Record<string, unknown> {
  return {
    tlsCertificateSdsSecretConfigs: [sds(WORKLOAD_CERT_SECRET)],
    combinedValidationContext: {
      defaultValidationContext: { matchTypedSubjectAltNames: sans.map((matcher) => ({ sanType: 'URI', matcher })) },
      validationContextSdsSecretConfig: sds(TRUST_BUNDLE_SECRET),
    },
  };
}

const inboundCluster = (port: number) => `inbound|${port}`;

function inboundChains(ir: IR, wl: WorkloadIR, logs: unknown[]): Array<Record<string, unknown>> {
  const chains: Array<Record<string, unknown>> = [];
  const td = ir.mesh!.trustDomain;
  for (const i of wl.inbound) {
    const policies: PolicyIR[] = resolvePolicies(i.policies, ir.policies);
    const filters = [isolationFilter(i.isolation), accessFilter(policies)].filter((f): f is Record<string, unknown> => !!f);
    const hcm = (tls: boolean) => ({
      name: 'envoy.filters.network.http_connection_manager',
      typedConfig: ANY(HCM, {
        statPrefix: `inbound_${i.port}${tls ? '_mtls' : ''}`,
        routeConfig: {
          name: inboundCluster(i.port),
          virtualHosts: [{ name: 'inbound', domains: ['*'], routes: [{ name: 'default', match: { prefix: '/' }, route: { cluster: inboundCluster(i.port), timeout: { seconds: 0 } } }] }],
        },
        httpFilters: [...filters, ...httpFilterChain([])],
        // The app sees who called it: x-forwarded-client-cert with the peer's SPIFFE ID.
        forwardClientCertDetails: 'SANITIZE_SET',
        setCurrentClientCertDetails: { uri: true },
        ...(logs.length ? { accessLog: logs } : {}),
      }),
    });
    const modes: Record<TlsMode, Array<'tls' | 'raw_buffer'>> = { STRICT: ['tls'], PERMISSIVE: ['tls', 'raw_buffer'], DISABLE: ['raw_buffer'] };
    for (const transport of modes[i.tlsMode]) {
      chains.push({
        name: `inbound|${i.port}|${transport === 'tls' ? 'mtls' : 'plaintext'}`,
        filterChainMatch: { destinationPort: { value: i.port }, ...(i.tlsMode === 'DISABLE' ? {} : { transportProtocol: transport }) },
        filters: [hcm(transport === 'tls')],
        ...(transport === 'tls'
          ? {
              transportSocket: {
                name: 'envoy.transport_sockets.tls',
                typedConfig: ANY(`${TLS}.DownstreamTlsContext`, { requireClientCertificate: { value: true }, commonTlsContext: meshTlsContext([{ prefix: `spiffe://${td}/` }]) }),
              },
            }
          : {}),
      });
    }
  }
  return chains;
}

export function inboundListener(ir: IR, wl: WorkloadIR, logs: unknown[]): NamedResource {
  return {
    name: 'inbound',
    body: {
      name: 'inbound',
      address: { socketAddress: { address: '0.0.0.0', portValue: INBOUND_PORT } },
      trafficDirection: 'INBOUND',
      listenerFilters: [
        { name: 'envoy.filters.listener.original_dst', typedConfig: ANY('envoy.extensions.filters.listener.original_dst.v3.OriginalDst') },
        { name: 'envoy.filters.listener.tls_inspector', typedConfig: ANY('envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector') },
      ],
      // A port no Service names, or a transport its mode refuses, has no chain: the connection is closed.
      filterChains: inboundChains(ir, wl, logs),
    },
  };
}

function inboundClusters(wl: WorkloadIR): NamedResource[] {
  return wl.inbound.map((i) => ({
    name: inboundCluster(i.port),
    body: {
      name: inboundCluster(i.port),
      type: 'STATIC',
      connectTimeout: { seconds: 5 },
      loadAssignment: { clusterName: inboundCluster(i.port), endpoints: [{ lbEndpoints: [{ endpoint: { address: { socketAddress: { address: '127.0.0.1', portValue: i.port } } } }] }] },
      ...(i.protocol === 'HTTP2'
        ? { typedExtensionProtocolOptions: { 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': ANY('envoy.extensions.upstreams.http.v3.HttpProtocolOptions', { explicitHttpConfig: { http2ProtocolOptions: {} } }) } }
        : {}),
    },
  }));
}

const inboundMemo = new ContentMemo<{ listener: NamedResource; clusters: NamedResource[] }>(20_000);
const inboundByIdentity = new WeakMap<WorkloadIR['inbound'], { policies: IR['policies']; logsKey: string; td: string; result: { listener: NamedResource; clusters: NamedResource[] } }>();

/** Everything one sidecar gets except its secrets (the CA adds those). */
export function translateSidecar(ir: IR, wl: WorkloadIR, cache: OutboundCache = new Map()): EnvoyResources {
  const logs = accessLogs(resolvePolicies(wl.policies, ir.policies));
  const out = outboundResources(ir, wl, cache, logs);
  // Same inbound ports and policy objects as last time (the core's endpoint fast path): same resources.
  const known = inboundByIdentity.get(wl.inbound);
  const logsKey = JSON.stringify(wl.policies);
  let inbound = known && known.policies === ir.policies && known.logsKey === logsKey && known.td === ir.mesh!.trustDomain ? known.result : undefined;
  if (!inbound) {
    const inputs = { td: ir.mesh!.trustDomain, inbound: wl.inbound, logs, policies: wl.inbound.map((i) => resolvePolicies(i.policies, ir.policies)) };
    inbound = inboundMemo.get(inputs, () => ({ listener: inboundListener(ir, wl, logs), clusters: inboundClusters(wl) }));
    inboundByIdentity.set(wl.inbound, { policies: ir.policies, logsKey, td: ir.mesh!.trustDomain, result: inbound });
  }
  // The CA adds the workload's own secrets; TLS originated to ExternalServices brings its CA / client certificate.
  const byCluster = irIndex(ir).backends;
  const originating = out.cluster.map((c) => byCluster.get(c.name)).filter((b): b is NonNullable<typeof b> => !!b?.originate);
  return {
    listener: [inbound.listener, ...out.listener],
    route: out.route,
    cluster: [...inbound.clusters, ...out.cluster],
    endpoint: out.endpoint,
    secret: originating.length ? originationSecrets(originating, ir.secrets) : [],
  };
}
