// Resolving a route's destination reference to a backend (one Envoy cluster),
// with the visibility rule: the destination must be owned by or imported into
// the ROOT table's workspace (semantics §3).
import { createHash } from 'node:crypto';
import type { Backend, OriginationIR } from '../ir/types.js';
import type {
  DestinationKind,
  DestinationRef,
  EndpointSliceR,
  ExternalEndpointR,
  ExternalServiceR,
  PodR,
  ServiceR,
  VirtualDestinationR,
} from '../resources/schema.js';
import { clusterSuffix, nsName } from '../resources/schema.js';
import type { Clusters } from './clusters.js';
import { labelsMatch, selectorMatches } from './match.js';
import type { WorkspaceIndex } from './workspaces.js';

export interface DestinationCatalog {
  services: Map<string, ServiceR>;
  virtualDestinations: Map<string, VirtualDestinationR>;
  externalServices: Map<string, ExternalServiceR>; // only the ones that passed the overlap check
  externalEndpoints: ExternalEndpointR[];
  slicesByService: Map<string, EndpointSliceR[]>;
  pods: Map<string, PodR>;
  clusterName: string;
  clusters: Clusters;
  /** TLS each ExternalService port originates, by "ns/name:port" (core/external-services.ts). */
  origination?: Map<string, OriginationIR>;
}

export type DestinationObject = ServiceR | VirtualDestinationR | ExternalServiceR;

export const SHARED_KIND: Record<DestinationKind, 'SERVICE' | 'VIRTUAL_DESTINATION' | 'EXTERNAL_SERVICE'> = {
  SERVICE: 'SERVICE',
  VIRTUAL_DESTINATION: 'VIRTUAL_DESTINATION',
  EXTERNAL_SERVICE: 'EXTERNAL_SERVICE',
};
const KIND_NAME: Record<DestinationKind, string> = { SERVICE: 'Service', VIRTUAL_DESTINATION: 'VirtualDestination', EXTERNAL_SERVICE: 'ExternalService' };

export function lookupDestination(cat: DestinationCatalog, kind: DestinationKind, key: string): DestinationObject | undefined {
  if (kind === 'SERVICE') return cat.services.get(key);
  if (kind === 'VIRTUAL_DESTINATION') return cat.virtualDestinations.get(key);
  return cat.externalServices.get(key);
}

export interface ResolvedDestination {
  backend: Backend;
  object: DestinationObject;
  owner: string;
}

const shortHash = (v: unknown): string => createHash('sha256').update(JSON.stringify(v)).digest('hex').slice(0, 8);

export function resolveDestination(
  cat: DestinationCatalog,
  ws: WorkspaceIndex,
  ref: DestinationRef,
  defaultNamespace: string,
  rootWorkspace: string,
  subset: Record<string, string> | undefined,
): { resolved?: ResolvedDestination; error?: string } {
  const kind = ref.kind ?? 'SERVICE';
  const ns = ref.ref.namespace ?? defaultNamespace;
  // ref.cluster: the cluster the destination lives in (route tables of other clusters have it filled in).
  const inCluster = cat.clusters.resolve(ref.ref.cluster);
  const key = `${ns}/${ref.ref.name}${clusterSuffix(inCluster.cluster)}`;
  if (inCluster.error) return { error: `destination ${KIND_NAME[kind]} ${key}: ${inCluster.error}` };
  const obj = lookupDestination(cat, kind, key);
  if (!obj) return { error: `destination ${KIND_NAME[kind]} ${key} not found${cat.clusters.known.size > 1 ? ` in cluster "${inCluster.cluster ?? cat.clusterName}"` : ''}${kind === 'EXTERNAL_SERVICE' ? ' (or not translated: see its status)' : ''}` };
  const owner = ws.workspaceOf(ns, inCluster.cluster);
  if (!owner) return { error: `destination ${KIND_NAME[kind]} ${key} is in namespace "${ns}", which no workspace selects` };
  if (!ws.isVisible(SHARED_KIND[kind], obj, owner, rootWorkspace)) {
    return { error: `destination ${KIND_NAME[kind]} ${key} is not visible in workspace "${rootWorkspace}" (the root table's): ${ws.explainInvisible(SHARED_KIND[kind], obj, owner, rootWorkspace)}` };
  }
  const effectiveSubset = kind === 'EXTERNAL_SERVICE' ? {} : { ...(subset ?? {}), ...(ref.subset ?? {}) };
  const subsetSuffix = Object.keys(effectiveSubset).length ? `#${shortHash(Object.entries(effectiveSubset).sort())}` : '';
  const host = kind === 'SERVICE' ? `${ref.ref.name}.${ns}.svc.cluster.local` : kind === 'VIRTUAL_DESTINATION' ? (obj as VirtualDestinationR).spec.hosts[0] : ((obj as ExternalServiceR).spec.hosts[0] ?? `${ref.ref.name}.${ns}.external`);
  const base = { kind, namespace: ns, name: ref.ref.name, subset: effectiveSubset, clientPolicies: [], host, ...(inCluster.cluster ? { resourceCluster: inCluster.cluster } : {}) };

  if (kind === 'SERVICE') {
    const svc = obj as ServiceR;
    const port = pickServicePort(svc, ref.port);
    if (!port) return { error: `destination Service ${key} has no port ${describePort(ref.port)}; its ports are ${svc.spec.ports.map((p) => p.name ?? p.port).join(', ')}` };
    return {
      resolved: {
        owner,
        object: obj,
        backend: {
          ...base,
          cluster: `${kindTag(kind)}/${key}:${port.port}@${rootWorkspace}${subsetSuffix}`,
          port: port.port,
          endpoints: serviceEndpoints(cat, svc, port, effectiveSubset),
          discovery: 'EDS',
          protocol: port.appProtocol === 'http2' || port.appProtocol === 'kubernetes.io/h2c' ? 'HTTP2' : 'HTTP',
        },
      },
    };
  }
  if (kind === 'VIRTUAL_DESTINATION') {
    const vd = obj as VirtualDestinationR;
    const vport = ref.port?.number !== undefined ? vd.spec.ports.find((p) => p.number === ref.port!.number) : vd.spec.ports.length === 1 ? vd.spec.ports[0] : undefined;
    if (!vport) return { error: `destination VirtualDestination ${key} has no port ${describePort(ref.port)}` };
    const endpoints: Backend['endpoints'] = [];
    for (const svc of [...cat.services.values()]) {
      const svcWs = ws.ownerOf(svc);
      if (!vd.spec.services.some((sel) => selectorMatches(sel, { metadata: svc.metadata, workspace: svcWs, cluster: cat.clusters.nameOf(svc) }))) continue;
      const target = vport.targetPort;
      const sp = svc.spec.ports.find((p) => (target?.name ? p.name === target.name : p.port === (target?.number ?? vport.number)));
      if (sp) for (const e of serviceEndpoints(cat, svc, sp, effectiveSubset)) endpoints.push(e);
    }
    return {
      resolved: {
        owner,
        object: obj,
        backend: { ...base, cluster: `${kindTag(kind)}/${key}:${vport.number}@${rootWorkspace}${subsetSuffix}`, port: vport.number, endpoints, discovery: 'EDS', protocol: 'HTTP' },
      },
    };
  }
  const es = obj as ExternalServiceR;
  const eport = ref.port?.number !== undefined ? es.spec.ports.find((p) => p.number === ref.port!.number) : ref.port?.name ? es.spec.ports.find((p) => p.name === ref.port!.name) : es.spec.ports.length === 1 ? es.spec.ports[0] : undefined;
  if (!eport) return { error: `destination ExternalService ${key} has no port ${describePort(ref.port)}` };
  const { endpoints, discovery } = externalEndpoints(cat, es, eport);
  const originate = cat.origination?.get(`${key}:${eport.number}`);
  return {
    resolved: {
      owner,
      object: obj,
      backend: {
        ...base,
        cluster: `${kindTag(kind)}/${key}:${eport.number}@${rootWorkspace}`,
        port: eport.number,
        endpoints,
        discovery,
        protocol: eport.protocol === 'HTTPS' || eport.protocol === 'TLS' ? 'HTTPS' : eport.protocol === 'HTTP2' || eport.protocol === 'GRPC' ? 'HTTP2' : 'HTTP',
        ...(originate ? { originate } : {}),
      },
    },
  };
}

const kindTag = (k: DestinationKind): string => (k === 'SERVICE' ? 'svc' : k === 'VIRTUAL_DESTINATION' ? 'vd' : 'ext');
const describePort = (p: DestinationRef['port']): string =>
  p?.number !== undefined ? String(p.number) : p?.name ? `"${p.name}"` : '(none given, and it has several: set port.number)';

function pickServicePort(svc: ServiceR, want: DestinationRef['port']): ServiceR['spec']['ports'][number] | undefined {
  if (want?.number !== undefined) return svc.spec.ports.find((p) => p.port === want.number);
  if (want?.name !== undefined) return svc.spec.ports.find((p) => p.name === want.name);
  return svc.spec.ports.length === 1 ? svc.spec.ports[0] : undefined;
}

function serviceEndpoints(
  cat: DestinationCatalog,
  svc: ServiceR,
  port: ServiceR['spec']['ports'][number],
  subset: Record<string, string>,
): Backend['endpoints'] {
  const out: Backend['endpoints'] = [];
  for (const slice of cat.slicesByService.get(nsName(svc)) ?? []) {
    // EndpointSlice ports carry the Service port's name ("" or absent when unnamed).
    const sp = slice.body.ports.find((p) => (p.name ?? '') === (port.name ?? '')) ?? (slice.body.ports.length === 1 ? slice.body.ports[0] : undefined);
    if (!sp) continue;
    for (const ep of slice.body.endpoints) {
      if (Object.keys(subset).length) {
        const pod = ep.targetRef?.name ? cat.pods.get(`${ep.targetRef.namespace ?? svc.metadata.namespace}/${ep.targetRef.name}${clusterSuffix(svc.cluster)}`) : undefined;
        if (!pod || !labelsMatch(subset, pod.metadata.labels)) continue;
      }
      for (const address of ep.addresses) out.push({ address, port: sp.port, ready: ep.conditions?.ready !== false, ...(ep.zone ? { zone: ep.zone } : {}) });
    }
  }
  return out.sort((a, b) => (a.address + ':' + a.port < b.address + ':' + b.port ? -1 : 1));
}

const IP = /^(\d{1,3}(\.\d{1,3}){3}|[0-9a-fA-F:]+:[0-9a-fA-F:]*)$/;

/** Locality labels of an ExternalEndpoint (the Kubernetes well-known topology labels). */
export const REGION_LABEL = 'topology.kubernetes.io/region';
export const ZONE_LABEL = 'topology.kubernetes.io/zone';

function externalEndpoints(
  cat: DestinationCatalog,
  es: ExternalServiceR,
  port: ExternalServiceR['spec']['ports'][number],
): { endpoints: Backend['endpoints']; discovery: Backend['discovery'] } {
  const endpoints: Backend['endpoints'] = [];
  if (es.spec.selector) {
    for (const ee of cat.externalEndpoints) {
      if (ee.metadata.namespace !== es.metadata.namespace || ee.cluster !== es.cluster || !labelsMatch(es.spec.selector, ee.metadata.labels)) continue;
      // Gloo: the endpoint's port by targetPort (name or number), else by the port's name, else its first.
      const t = port.targetPort;
      const p =
        (t?.name !== undefined ? ee.spec.ports.find((x) => x.name === t.name) : t?.number !== undefined ? ee.spec.ports.find((x) => x.number === t.number) : undefined) ??
        ee.spec.ports.find((x) => x.name !== undefined && x.name === port.name) ??
        ee.spec.ports[0];
      const region = ee.metadata.labels[REGION_LABEL];
      const zone = ee.metadata.labels[ZONE_LABEL];
      endpoints.push({ address: ee.spec.address, port: p.number, ready: true, ...(zone ? { zone } : {}), ...(region ? { region } : {}) });
    }
  } else {
    const target = port.targetPort?.number ?? port.number;
    // A CIDR names no endpoint: the connection goes where the app dialled (sidecars only).
    if (es.spec.addresses.some((a) => a.includes('/'))) return { endpoints, discovery: 'ORIGINAL_DST' as const };
    for (const a of es.spec.addresses) if (IP.test(a)) endpoints.push({ address: a, port: target, ready: true });
    if (endpoints.length === 0) for (const h of es.spec.hosts) if (!h.includes('*')) endpoints.push({ address: h, port: target, ready: true });
  }
  const discovery: Backend['discovery'] = endpoints.every((e) => IP.test(e.address)) ? 'EDS' : 'STRICT_DNS';
  return { endpoints, discovery };
}
