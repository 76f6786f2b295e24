// The most frequent change in a mesh: a Service's endpoints (Pods come and
// go). When only EndpointSlices changed, everything but the endpoints of the
// backends that read them (and their upstream mTLS) stays as it was, so the
// previous result is patched instead of recomputed. The result is identical
// to a full computation (test/unit/mesh-endpoints.test.ts checks it).
import type { Backend, CoreResult, UpstreamTlsIR } from '../ir/types.js';
import type { EndpointSliceR, Resource, ServiceR, VirtualGatewayR } from '../resources/schema.js';
import { clusterSuffix, nsName } from '../resources/schema.js';
import { gatewayServices } from './gateways.js';
import { resolveDestination, type DestinationCatalog } from './destinations.js';
import { compareStr } from './match.js';
import type { WorkspaceIndex } from './workspaces.js';
import { meshedAddresses, upstreamTlsOf } from './workloads.js';

export interface EndpointStage {
  ws: WorkspaceIndex;
  catalog: DestinationCatalog;
  backends: Map<string, Backend>;
}

const SERVICE_NAME = 'kubernetes.io/service-name';

export function slicesByService(resources: readonly Resource[]): Map<string, EndpointSliceR[]> {
  const out = new Map<string, EndpointSliceR[]>();
  for (const r of resources) {
    if (r.kind !== 'EndpointSlice') continue;
    const svc = r.metadata.labels[SERVICE_NAME];
    if (!svc) continue;
    const key = `${r.metadata.namespace}/${svc}${clusterSuffix(r.cluster)}`; // as the world keys them (nsName of the Service)
    const list = out.get(key);
    if (list) list.push(r as EndpointSliceR);
    else out.set(key, [r as EndpointSliceR]);
  }
  return out;
}

/** Endpoint changes patched in place (not computed in full), for tests. */
export const endpointWork = { patches: 0 };

/**
 * Patches `prev` for changed EndpointSlices (`changed`: old and new objects).
 * Undefined when the change reaches further than endpoints (a Service without
 * a selector whose slices now name other Pods, an egress gateway's Service,
 * a backend that no longer resolves): then compute in full. Also hands back
 * which backends read the moved endpoints and how to make one again, for the
 * memos that hold backends.
 */

/**
 * Where each Service's backends are in a result's backend list (by
 * "ns/name[@cluster]"; VirtualDestinations under one key, as they read any
 * Service). Made once per list and handed on to the patched list, whose
 * clusters are the same: a patch looks up what it replaces, not every backend.
 */
const VIRTUAL_DESTINATIONS = '\0vd';
const indexes = new WeakMap<readonly Backend[], Map<string, number[]>>();
function backendsByService(backends: readonly Backend[]): Map<string, number[]> {
  let index = indexes.get(backends);
  if (!index) {
    index = new Map();
    backends.forEach((b, i) => {
      const key = b.kind === 'SERVICE' ? `${b.namespace}/${b.name}${clusterSuffix(b.resourceCluster)}` : b.kind === 'VIRTUAL_DESTINATION' ? VIRTUAL_DESTINATIONS : undefined;
      if (key === undefined) return;
      const at = index!.get(key);
      if (at) at.push(i);
      else index!.set(key, [i]);
    });
    indexes.set(backends, index);
  }
  return index;
}

export function updateEndpoints<S extends EndpointStage>(
  stage: S,
  prev: CoreResult,
  changed: Array<{ before: Resource; after: Resource }>,
  resources: readonly Resource[],
): { stage: S; result: CoreResult; replacedStageBackends: Map<string, Backend>; replaced: Map<string, Backend>; reresolve: (b: Backend) => Backend | undefined } | undefined {
  const affected = new Set<string>();
  for (const { before, after } of changed) {
    for (const s of [before, after]) {
      const name = s.metadata.labels[SERVICE_NAME];
      if (name) affected.add(`${s.metadata.namespace}/${name}${clusterSuffix(s.cluster)}`);
    }
  }
  const catalog: DestinationCatalog = { ...stage.catalog, slicesByService: patchSlices(stage.catalog.slicesByService, changed) ?? slicesByService(resources) };
  for (const key of affected) {
    const svc = stage.catalog.services.get(key) as ServiceR | undefined;
    // A Service without a selector is backed by the Pods its slices name: other names, other workloads.
    if (svc && !Object.keys((svc.spec as { selector?: Record<string, string> }).selector ?? {}).length && !samePodNames(stage.catalog.slicesByService.get(key), catalog.slicesByService.get(key))) return undefined;
  }
  // An egress gateway's endpoints are what sidecars send some ExternalServices to (issue 13): compute in full.
  const egressServices = new Set(resources.filter((r): r is VirtualGatewayR => r.kind === 'VirtualGateway' && (r as VirtualGatewayR).spec.listeners.some((l) => l.exposedExternalServices)).flatMap((gw) => gatewayServices(gw, stage.catalog).map(nsName)));
  if ([...affected].some((k) => egressServices.has(k))) return undefined;

  const reresolve = (b: Backend): Backend | undefined => {
    const consumer = b.cluster.slice(b.cluster.lastIndexOf('@') + 1).split('#')[0];
    const r = resolveDestination(catalog, stage.ws, { ref: { name: b.name, namespace: b.namespace, ...(b.resourceCluster ? { cluster: b.resourceCluster } : {}) }, kind: b.kind, port: { number: b.port } }, b.namespace, consumer, Object.keys(b.subset).length ? b.subset : undefined);
    return r.resolved && r.resolved.backend.cluster === b.cluster ? { ...r.resolved.backend, clientPolicies: b.clientPolicies } : undefined;
  };
  // Every backend (routing's, the mesh's, policies') is in the result's list: the index finds the ones
  // that read the moved endpoints, those of the Services that changed and every VirtualDestination's.
  const index = backendsByService(prev.ir.backends);
  const positions = [...affected, VIRTUAL_DESTINATIONS].flatMap((k) => index.get(k) ?? []);
  const finalBackends = prev.ir.backends.slice();
  const replaced = new Map<string, Backend>();
  for (const i of positions) {
    const next = reresolve(prev.ir.backends[i]);
    if (!next) return undefined;
    finalBackends[i] = next;
    replaced.set(next.cluster, next);
  }
  indexes.set(finalBackends, index); // the same clusters at the same positions
  const stageBackends = new Map(stage.backends);
  const stageReplaced = new Map<string, Backend>();
  for (const c of replaced.keys()) {
    const b = stage.backends.get(c);
    if (!b) continue;
    const next = reresolve(b);
    if (!next) return undefined;
    stageBackends.set(c, next);
    stageReplaced.set(c, next);
  }

  let mesh = prev.ir.mesh;
  if (mesh && replaced.size) {
    const inbound = new Map(mesh.workloads.map((w) => [w.ref, w.inbound]));
    const podByAddress = meshedAddresses(catalog, new Set(inbound.keys()));
    const tlsModeOf = (pod: string, port: number) => inbound.get(pod)?.find((i) => i.port === port)?.tlsMode;
    const tls: Record<string, UpstreamTlsIR> = { ...mesh.upstreamTls };
    for (const [c, b] of replaced) {
      const t = upstreamTlsOf(b, podByAddress, tlsModeOf, mesh.trustDomain);
      if (t) tls[c] = t;
      else delete tls[c];
    }
    mesh = { ...mesh, upstreamTls: Object.fromEntries(Object.entries(tls).sort(([a], [b]) => compareStr(a, b))) };
  }
  endpointWork.patches++;
  return {
    replacedStageBackends: stageReplaced,
    replaced,
    reresolve,
    stage: { ...stage, catalog, backends: stageBackends },
    result: { ir: { ...prev.ir, backends: finalBackends, ...(mesh ? { mesh } : {}) }, status: prev.status },
  };
}

/** The Pod names (targetRef) a Service's slices give: what a selector-less Service's workloads are read from. */
function samePodNames(before: readonly EndpointSliceR[] | undefined, after: readonly EndpointSliceR[] | undefined): boolean {
  const names = (slices: readonly EndpointSliceR[] | undefined) => {
    const out = new Set<string>();
    for (const s of slices ?? []) for (const e of s.body.endpoints) if (e.targetRef?.name) out.add(e.targetRef.name);
    return out;
  };
  const a = names(before);
  const b = names(after);
  return a.size === b.size && [...a].every((n) => b.has(n));
}

/** The slices by Service with changed slices swapped in place; undefined when one moved to another Service (then rebuild). */
function patchSlices(bySvc: ReadonlyMap<string, EndpointSliceR[]>, changed: ReadonlyArray<{ before: Resource; after: Resource }>): Map<string, EndpointSliceR[]> | undefined {
  const out = new Map(bySvc);
  for (const { before, after } of changed) {
    const svc = before.metadata.labels[SERVICE_NAME];
    if (svc !== after.metadata.labels[SERVICE_NAME] || before.cluster !== after.cluster) return undefined;
    if (!svc) continue;
    const key = `${before.metadata.namespace}/${svc}${clusterSuffix(before.cluster)}`;
    const list = out.get(key);
    const at = list?.indexOf(before as EndpointSliceR) ?? -1;
    if (!list || at < 0) return undefined;
    const next = list.slice();
    next[at] = after as EndpointSliceR;
    out.set(key, next);
  }
  return out;
}
