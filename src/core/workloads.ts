// Mesh mode (issue 11): the workload side of the IR. Which Pods run a
// sidecar, what each may reach (its workspace's owned and imported
// destinations, §2), which server-side policies its inbound ports enforce
// (§6), service isolation, and upstream mTLS. Pure, like the rest of core/.
import type {
  Backend,
  DestinationIR,
  FinalRoute,
  InboundPortIR,
  MeshIR,
  OutboundIR,
  OutboundModeIR,
  OutboundServiceIR,
  PolicyIR,
  PolicyRef,
  PrincipalMatch,
  TlsMode,
  UpstreamTlsIR,
  WorkloadIR,
} from '../ir/types.js';
import type { ExternalServiceR, PodR, Resource, RouteTableR, ServiceR, VirtualDestinationR, VirtualGatewayR, WorkspaceSettingsR } from '../resources/schema.js';
import { egressBackend, externalDomains, externalOutbound, outboundModes, type EgressPlan } from './egress.js';
import { nsName } from '../resources/schema.js';
import { resolveAccess } from './access.js';
import { REGION_LABEL, ZONE_LABEL, resolveDestination, type DestinationCatalog } from './destinations.js';
import { byAge, compareStr, labelsMatch, selectorMatches } from './match.js';
import type { DestinationUse, PlacedPolicy } from './policies.js';
import type { StatusBook } from './status.js';
import type { WorkspaceIndex } from './workspaces.js';

/** Istio's conventions: a namespace labelled istio-injection=enabled, or a Pod labelled sidecar.istio.io/inject="true". */
export const INJECT_LABEL = 'sidecar.istio.io/inject';
export const NAMESPACE_INJECT_LABEL = 'istio-injection';
export const DEFAULT_TRUST_DOMAIN = 'cluster.local';

export interface MeshContext {
  ws: WorkspaceIndex;
  catalog: DestinationCatalog;
  resources: Resource[];
  namespaceLabels: Map<string, Record<string, string>>;
  clusterName: string;
  trustDomain: string;
  status: StatusBook;
  /** Mesh-wide outbound traffic policy (serve --outbound-traffic-policy); WorkspaceSettings override it. */
  outboundMode?: OutboundModeIR;
  /** Egress gateways and the ExternalService ports sidecars send through them. */
  egress?: EgressPlan;
}

interface PodSpec {
  serviceAccountName?: string;
  containers?: Array<{ ports?: Array<{ name?: string; containerPort?: number }> }>;
}

/** Every namespace the resources name (with its labels when a Namespace resource exists). */
export function namespaceLabelsOf(resources: readonly Resource[]): Map<string, Record<string, string>> {
  const out = new Map<string, Record<string, string>>();
  for (const r of resources) if (r.metadata.namespace && !out.has(r.metadata.namespace)) out.set(r.metadata.namespace, {});
  for (const r of resources) if (r.kind === 'Namespace') out.set(r.metadata.name, r.metadata.labels);
  return out;
}

export const spiffeId = (trustDomain: string, namespace: string, serviceAccount: string): string => `spiffe://${trustDomain}/ns/${namespace}/sa/${serviceAccount}`;
const SA_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
export const serviceAccountOf = (pod: PodR): string => {
  const sa = (pod.spec as PodSpec | undefined)?.serviceAccountName;
  return typeof sa === 'string' && SA_NAME.test(sa) ? sa : 'default';
};
/** Why a Pod's spec cannot give it a mesh identity, if it cannot (Pods are Kubernetes' schema: only what we read is checked). */
function podProblem(pod: PodR): string | undefined {
  const sa = (pod.spec as PodSpec | undefined)?.serviceAccountName;
  if (sa !== undefined && (typeof sa !== 'string' || !SA_NAME.test(sa))) return `spec.serviceAccountName: must be a lowercase RFC 1123 name, got ${JSON.stringify(sa)}; this Pod gets no sidecar config`;
  return undefined;
}

export function hasSidecar(pod: PodR, namespaceLabels: Map<string, Record<string, string>>): boolean {
  const own = pod.metadata.labels[INJECT_LABEL];
  if (own !== undefined) return own === 'true';
  return namespaceLabels.get(pod.metadata.namespace)?.[NAMESPACE_INJECT_LABEL] === 'enabled';
}

/** The part of the plan attachment needs before destination policies are resolved. */
export interface MeshPlan {
  pods: PodR[];
  meshedPods: Set<string>; // ns/name
  podsOfService: Map<string, PodR[]>; // ns/name of the Service -> selected pods
  reachable: Map<string, Array<{ use: DestinationUse; port: number; backend: Backend }>>; // by workspace
  isolated: Set<string>; // workspaces with serviceIsolation.enabled
}

export function planMesh(ctx: MeshContext, addBackend: (b: Backend) => void): MeshPlan {
  const { ws, catalog } = ctx;
  const pods = [...catalog.pods.values()].filter((p) => ws.workspaceOf(p.metadata.namespace) !== undefined);
  const meshed = pods.filter((p) => {
    if (!hasSidecar(p, ctx.namespaceLabels)) return false;
    const why = podProblem(p);
    if (why) ctx.status.invalid(`Pod/${nsName(p)}`, why);
    return !why;
  });
  const podsOfService = new Map<string, PodR[]>();
  const podsByNs = new Map<string, PodR[]>();
  for (const p of pods) podsByNs.set(p.metadata.namespace, [...(podsByNs.get(p.metadata.namespace) ?? []), p]);
  for (const svc of catalog.services.values()) {
    const sel = (svc.spec as { selector?: Record<string, string> }).selector;
    const key = nsName(svc);
    if (sel && Object.keys(sel).length) {
      podsOfService.set(key, (podsByNs.get(svc.metadata.namespace) ?? []).filter((p) => labelsMatch(sel, p.metadata.labels)));
    } else {
      // No selector: the pods its EndpointSlices name.
      const names = new Set((catalog.slicesByService.get(key) ?? []).flatMap((s) => s.body.endpoints.map((e) => e.targetRef?.name).filter(Boolean)));
      podsOfService.set(key, (podsByNs.get(svc.metadata.namespace) ?? []).filter((p) => names.has(p.metadata.name)));
    }
  }
  const isolated = new Set<string>();
  for (const [w, s] of workspaceSettings(ctx)) if (s.spec.options?.serviceIsolation?.enabled) isolated.add(w);

  // What each workspace with sidecars may reach: one backend per destination port, named for the consumer.
  const reachable = new Map<string, Array<{ use: DestinationUse; port: number; backend: Backend }>>();
  const meshWorkspaces = [...new Set(meshed.map((p) => ws.workspaceOf(p.metadata.namespace)!))].sort();
  const destinations: Array<{ kind: 'SERVICE' | 'VIRTUAL_DESTINATION' | 'EXTERNAL_SERVICE'; object: ServiceR | VirtualDestinationR | ExternalServiceR; ports: number[] }> = [
    ...[...catalog.services.values()].filter((s) => ws.workspaceOf(s.metadata.namespace)).map((s) => ({ kind: 'SERVICE' as const, object: s, ports: s.spec.ports.map((p) => p.port) })),
    ...[...catalog.virtualDestinations.values()].map((v) => ({ kind: 'VIRTUAL_DESTINATION' as const, object: v, ports: v.spec.ports.map((p) => p.number) })),
    // Issue 13: ExternalServices (those that passed the overlap and TLS checks) for the workspaces that own or import them.
    ...[...catalog.externalServices.values()].filter((e) => ws.workspaceOf(e.metadata.namespace)).map((e) => ({ kind: 'EXTERNAL_SERVICE' as const, object: e, ports: e.spec.ports.map((p) => p.number) })),
  ];
  // Endpoints do not depend on the consumer: resolve each destination port once, name the cluster per consumer.
  const resolved = new Map<string, Backend | null>();
  const backendFor = (d: (typeof destinations)[number], owner: string, port: number, consumer: string): Backend | undefined => {
    const k = `${d.kind}/${nsName(d.object)}:${port}`;
    let b = resolved.get(k);
    if (b === undefined) {
      const r = resolveDestination(catalog, ws, { ref: { name: d.object.metadata.name, namespace: d.object.metadata.namespace }, kind: d.kind, port: { number: port } }, d.object.metadata.namespace, owner, undefined);
      resolved.set(k, (b = r.resolved?.backend ?? null));
    }
    if (!b) return undefined;
    const mine = consumer === owner ? b : { ...b, cluster: `${b.cluster.slice(0, b.cluster.lastIndexOf('@'))}@${consumer}` };
    const viaGateway = d.kind === 'EXTERNAL_SERVICE' ? ctx.egress?.routes.get(`${nsName(d.object)}:${port}`) : undefined;
    return viaGateway ? egressBackend(mine, viaGateway, ctx.egress!) : mine;
  };
  for (const w of meshWorkspaces) {
    const list: Array<{ use: DestinationUse; port: number; backend: Backend }> = [];
    for (const d of destinations) {
      const owner = ws.workspaceOf(d.object.metadata.namespace)!;
      if (!ws.isVisible(d.kind, d.object, owner, w)) continue;
      const use: DestinationUse = { kind: d.kind, object: d.object, owner, consumers: new Set([owner, w]) };
      for (const port of d.ports) {
        const backend = backendFor(d, owner, port, w);
        if (!backend) continue;
        addBackend(backend);
        list.push({ use, port, backend });
      }
    }
    reachable.set(w, list);
  }
  return { pods, meshedPods: new Set(meshed.map(nsName)), podsOfService, reachable, isolated };
}

/** Whether a server-side policy on this destination, for this consumer, has a sidecar to enforce it. */
export function hasEnforcementPoint(plan: MeshPlan, ctx: MeshContext, d: Pick<DestinationUse, 'kind' | 'object'>, consumer: string): boolean {
  const meshedBehind = (svc: ServiceR) => (plan.podsOfService.get(nsName(svc)) ?? []).some((p) => plan.meshedPods.has(nsName(p)));
  if (d.kind === 'SERVICE') return meshedBehind(d.object as ServiceR);
  if (d.kind === 'VIRTUAL_DESTINATION') return backingServices(ctx, d.object as VirtualDestinationR).some((s) => ctx.ws.workspaceOf(s.metadata.namespace) === consumer && meshedBehind(s));
  // An ExternalService: the egress gateway of the consumer's workspace that exposes it, or the consumer's sidecars that call it.
  if (ctx.egress?.enforced.has(`${nsName(d.object)}@${consumer}`)) return true;
  return (plan.reachable.get(consumer) ?? []).some((e) => e.use.object === d.object);
}

function backingServices(ctx: MeshContext, vd: VirtualDestinationR): ServiceR[] {
  return [...ctx.catalog.services.values()].filter((svc) =>
    vd.spec.services.some((sel) => selectorMatches(sel, { metadata: svc.metadata, workspace: ctx.ws.workspaceOf(svc.metadata.namespace), cluster: ctx.clusterName })),
  );
}

function workspaceSettings(ctx: MeshContext): Map<string, WorkspaceSettingsR> {
  const out = new Map<string, WorkspaceSettingsR>();
  const all = ctx.resources.filter((r) => r.kind === 'WorkspaceSettings') as WorkspaceSettingsR[];
  for (const s of all.sort(byAge)) {
    const w = ctx.ws.workspaceOf(s.metadata.namespace);
    if (w && !out.has(w)) out.set(w, s);
  }
  return out;
}

const namespacesOf = (ctx: MeshContext, workspace: string): string[] => [...ctx.namespaceLabels.keys()].filter((n) => ctx.ws.workspaceOf(n) === workspace).sort();
const nsPrincipal = (ctx: MeshContext, ns: string): PrincipalMatch => ({ prefix: `spiffe://${ctx.trustDomain}/ns/${ns}/sa/` });

const STRENGTH: Record<TlsMode, number> = { DISABLE: 0, PERMISSIVE: 1, STRICT: 2 };

export interface MeshInputs {
  plan: MeshPlan;
  destinations: DestinationIR[];
  placed: PlacedPolicy[];
  routes: FinalRoute[];
  policies: Record<string, PolicyIR>;
  backends: Map<string, Backend>;
  gateways: Map<string, VirtualGatewayR>;
}

export function buildMesh(ctx: MeshContext, inp: MeshInputs): MeshIR | undefined {
  const { plan, placed } = inp;
  if (plan.meshedPods.size === 0) return undefined;
  const { ws, catalog, trustDomain } = ctx;
  for (const p of placed) if (p.ref.kind === 'AccessPolicy' && inp.policies[p.key]) inp.policies[p.key].access = resolveAccess(p, ctx);
  const destIndex = new Map(inp.destinations.map((d) => [`${d.kind}/${d.namespace}/${d.name}@${d.consumer}`, d]));
  const accessOf = (refs: PolicyRef[]) => refs.filter((r) => r.kind === 'AccessPolicy');

  // Inbound: every port of every Service (and VirtualDestination through it) that selects the pod.
  const vds = [...catalog.virtualDestinations.values()].map((vd) => ({ vd, owner: ws.workspaceOf(vd.metadata.namespace)!, backing: new Set(backingServices(ctx, vd).map(nsName)) }));
  const inboundOf = new Map<string, InboundPortIR[]>();
  const servicesOfPod = new Map<string, ServiceR[]>();
  for (const svc of catalog.services.values()) for (const p of plan.podsOfService.get(nsName(svc)) ?? []) servicesOfPod.set(nsName(p), [...(servicesOfPod.get(nsName(p)) ?? []), svc]);
  const meshed = plan.pods.filter((p) => plan.meshedPods.has(nsName(p))).sort((a, b) => compareStr(nsName(a), nsName(b)));
  const byWorkspace = (f: (p: PlacedPolicy) => boolean) => {
    const m = new Map<string, PlacedPolicy[]>();
    for (const p of placed) if (f(p)) m.set(p.workspace, [...(m.get(p.workspace) ?? []), p]);
    return m;
  };
  const workloadAccessOf = byWorkspace((p) => p.ref.kind === 'AccessPolicy' && !!p.policy.spec.applyToWorkloads?.length);
  for (const pod of meshed) {
    const w = ws.workspaceOf(pod.metadata.namespace)!;
    const byPort = new Map<number, InboundPortIR>();
    const selected = (workloadAccessOf.get(w) ?? []).filter((p) => (p.policy.spec.applyToWorkloads ?? []).some((s) => selectorMatches(s.selector, { metadata: pod.metadata, workspace: w, cluster: ctx.clusterName })));
    // Seed 04: "the applyToWorkloads selector does not work if you enable service isolation in your workspace".
    const workloadAccess = plan.isolated.has(w) ? [] : selected;
    if (plan.isolated.has(w)) for (const p of selected) ctx.status.warn(p.key, `applyToWorkloads does not apply in workspace "${w}" because it has service isolation on; select the destinations with applyToDestinations instead`);
    for (const svc of servicesOfPod.get(nsName(pod)) ?? []) {
      for (const sp of svc.spec.ports) {
        const port = targetPortOf(pod, sp);
        if (port === undefined) continue;
        const entry = byPort.get(port) ?? { port, protocol: sp.appProtocol === 'http2' || sp.appProtocol === 'kubernetes.io/h2c' ? 'HTTP2' : 'HTTP', destinations: [], tlsMode: 'PERMISSIVE', policies: [], isolation: null };
        byPort.set(port, entry);
        entry.destinations.push(`Service ${nsName(svc)}:${sp.port}`);
        const owned = destIndex.get(`SERVICE/${nsName(svc)}@${w}`);
        entry.policies.push(...accessOf(owned?.serverPolicies ?? []));
        // An imported or owned VirtualDestination's server-side policies of the workspace this Service is in (§6).
        for (const v of vds) {
          if (!v.backing.has(nsName(svc))) continue;
          const d = destIndex.get(`VIRTUAL_DESTINATION/${nsName(v.vd)}@${w}`);
          if (!d) continue;
          entry.destinations.push(`VirtualDestination ${nsName(v.vd)}`);
          entry.policies.push(...accessOf(d.serverPolicies));
        }
        if (plan.isolated.has(w)) {
          const allowed = new Set(namespacesOf(ctx, w));
          for (const other of ws.names) if (other !== w && ws.isVisible('SERVICE', svc, w, other)) for (const n of namespacesOf(ctx, other)) allowed.add(n);
          const prev = new Set((entry.isolation ?? []).map((m) => JSON.stringify(m)));
          for (const n of [...allowed].sort()) if (!prev.has(JSON.stringify(nsPrincipal(ctx, n)))) (entry.isolation ??= []).push(nsPrincipal(ctx, n));
        }
      }
    }
    for (const entry of byPort.values()) {
      entry.policies.push(...workloadAccess.map((p) => p.ref));
      entry.policies = dedupeRefs(entry.policies);
      entry.destinations = [...new Set(entry.destinations)];
      let mode: TlsMode | undefined;
      for (const ref of entry.policies) {
        const m = inp.policies[`${ref.kind}/${ref.namespace}/${ref.name}`]?.access?.tlsMode;
        if (m && (mode === undefined || STRENGTH[m] > STRENGTH[mode])) mode = m;
      }
      entry.tlsMode = entry.isolation ? 'STRICT' : (mode ?? 'PERMISSIVE');
    }
    inboundOf.set(nsName(pod), [...byPort.values()].sort((a, b) => a.port - b.port));
  }

  // Outbound, once per workspace: reachable destinations, then sidecar-served tables it owns or imports.
  const tablesByKey = new Map((ctx.resources.filter((r) => r.kind === 'RouteTable') as RouteTableR[]).map((t) => [nsName(t), t]));
  const outboundOf = new Map<string, OutboundIR>();
  const modeOf = outboundModes(workspaceSettings(ctx), ctx.outboundMode);
  for (const [w, list] of plan.reachable) {
    const services: OutboundServiceIR[] = list.map(({ use, port, backend }) => {
      const base = {
        kind: use.kind,
        namespace: use.object.metadata.namespace,
        name: use.object.metadata.name,
        port,
        cluster: backend.cluster,
        domains: domainsOf(use, port),
        policies: destIndex.get(`${use.kind}/${nsName(use.object)}@${w}`)?.clientPolicies ?? [],
      };
      if (use.kind !== 'EXTERNAL_SERVICE') return base;
      const es = use.object as ExternalServiceR;
      const viaGateway = ctx.egress?.routes.get(`${nsName(es)}:${port}`);
      // The caller's workspace's AccessPolicies on it are enforced by the caller's own sidecar (an egress gateway enforces its own workspace's).
      const access = (destIndex.get(`${use.kind}/${nsName(use.object)}@${w}`)?.serverPolicies ?? []).filter((p) => p.kind === 'AccessPolicy');
      return { ...base, ...externalOutbound(es, es.spec.ports.find((p) => p.number === port)!, backend, viaGateway), ...(access.length ? { access } : {}) };
    });
    const mode = modeOf(w);
    const routes = inp.routes
      .filter((r) => r.gateway === null && (r.rootWorkspace === w || (tablesByKey.has(r.path[0].table) && ws.isVisible('ROUTE_TABLE', tablesByKey.get(r.path[0].table)!, r.rootWorkspace, w))))
      .map((r) => r.id);
    outboundOf.set(w, { workspace: w, services, routes, ...(mode === 'REGISTRY_ONLY' ? { mode } : {}) });
  }

  // Upstream mTLS: endpoints whose pod runs a sidecar that accepts TLS on that port.
  const podByAddress = meshedAddresses(catalog, plan.meshedPods);
  const tlsModeOf = (pod: string, port: number) => inboundOf.get(pod)?.find((i) => i.port === port)?.tlsMode;
  const upstreamTls: Record<string, UpstreamTlsIR> = {};
  const gatewayIds = gatewayIdentities(ctx, inp.gateways, plan.pods);
  for (const c of [...inp.backends.keys()].sort()) {
    const b = inp.backends.get(c)!;
    // To an egress gateway: mesh mTLS, and the peer must be that gateway.
    const egressGateway = ctx.egress?.clusters.get(c);
    const tls = egressGateway
      ? b.endpoints.length ? { meshedEndpoints: b.endpoints.map((e) => `${e.address}:${e.port}`), principals: [gatewayIds[egressGateway] ?? spiffeId(trustDomain, egressGateway.split('/')[0], egressGateway.split('/')[1])] } : undefined
      : upstreamTlsOf(b, podByAddress, tlsModeOf, trustDomain);
    if (tls) upstreamTls[c] = tls;
  }

  const accessLogsOf = byWorkspace((p) => p.ref.kind === 'AccessLogPolicy' && !!p.policy.spec.applyToWorkloads?.length);
  const byWorkloadLabels = placed.filter((p) => (p.policy.spec.applyToWorkloads ?? []).some((s) => Object.keys(s.selector?.labels ?? {}).length > 0));
  const accessOnServices = placed.filter((p) => p.ref.kind === 'AccessPolicy' && !!p.policy.spec.applyToDestinations?.length);
  const workloads: WorkloadIR[] = meshed.map((pod) => {
    const w = ws.workspaceOf(pod.metadata.namespace)!;
    const sa = serviceAccountOf(pod);
    const target = { metadata: pod.metadata, workspace: w, cluster: ctx.clusterName };
    const policies = (accessLogsOf.get(w) ?? []).filter((p) => (p.policy.spec.applyToWorkloads ?? []).some((s) => selectorMatches(s.selector, target))).map((p) => p.ref);
    const notEnforced = byWorkloadLabels
      .filter((p) => p.workspace !== w && (p.policy.spec.applyToWorkloads ?? []).some((s) => labelsMatch(s.selector?.labels, pod.metadata.labels) && Object.keys(s.selector?.labels ?? {}).length > 0))
      .map((p) => ({ ...p.ref, reason: `applyToWorkloads never crosses workspaces: the policy is in workspace "${p.workspace}", this workload in "${w}"` }));
    for (const svc of servicesOfPod.get(nsName(pod)) ?? []) {
      for (const p of accessOnServices) {
        if (p.workspace === w || !(p.policy.spec.applyToDestinations ?? []).some((s) => (s.kind ?? 'SERVICE') === 'SERVICE' && selectorMatches(s.selector, { metadata: svc.metadata, workspace: w, cluster: ctx.clusterName }))) continue;
        notEnforced.push({ ...p.ref, reason: `server-side policies of a workspace that imports Service ${nsName(svc)} do not apply to it: only its own workspace "${w}" decides who may call it (semantics §6)` });
      }
    }
    return {
      ref: nsName(pod),
      namespace: pod.metadata.namespace,
      name: pod.metadata.name,
      workspace: w,
      serviceAccount: sa,
      spiffeId: spiffeId(trustDomain, pod.metadata.namespace, sa),
      labels: pod.metadata.labels,
      inbound: inboundOf.get(nsName(pod)) ?? [],
      outbound: outboundOf.get(w) ?? { workspace: w, services: [], routes: [] },
      policies,
      notEnforced,
      ...localityOf(pod),
    };
  });
  for (const wl of workloads) {
    for (const i of wl.inbound) for (const p of i.policies) ctx.status.count(`${p.kind}/${p.namespace}/${p.name}`, 'sidecarPortsEnforcing');
    // A sidecar's Pod says what its config holds: inbound ports and reachable destination ports.
    ctx.status.count(`Pod/${wl.ref}`, 'sidecarInboundPorts', wl.inbound.length);
    ctx.status.count(`Pod/${wl.ref}`, 'sidecarReachablePorts', wl.outbound.services.length);
  }
  return { trustDomain, workloads, upstreamTls, gateways: gatewayIds };
}

/**
 * The identity a gateway presents to meshed destinations: the service account
 * of the Pods its `workloads` select (the first by namespace/name), else
 * spiffe://<td>/ns/<gateway namespace>/sa/<gateway name>.
 */
function gatewayIdentities(ctx: MeshContext, gateways: Map<string, VirtualGatewayR>, pods: PodR[]): Record<string, string> {
  const out: Record<string, string> = {};
  const sorted = [...pods].sort((a, b) => compareStr(nsName(a), nsName(b)));
  for (const [key, gw] of [...gateways.entries()].sort(([a], [b]) => compareStr(a, b))) {
    const sels = gw.spec.workloads.map((w) => w.selector).filter((s) => s && (Object.keys(s.labels ?? {}).length || s.name));
    const pod = sorted.find((p) => sels.some((sel) => selectorMatches(sel, { metadata: p.metadata, workspace: ctx.ws.workspaceOf(p.metadata.namespace), cluster: ctx.clusterName })));
    out[key] = pod ? spiffeId(ctx.trustDomain, pod.metadata.namespace, serviceAccountOf(pod)) : spiffeId(ctx.trustDomain, gw.metadata.namespace, gw.metadata.name);
  }
  return out;
}

function targetPortOf(pod: PodR, sp: ServiceR['spec']['ports'][number]): number | undefined {
  const t = sp.targetPort;
  if (t === undefined) return sp.port;
  if (typeof t === 'number') return t;
  if (/^\d+$/.test(t)) return Number(t);
  const containers = (pod.spec as PodSpec | undefined)?.containers;
  for (const c of Array.isArray(containers) ? containers : []) {
    for (const p of Array.isArray(c?.ports) ? c.ports : []) if (p?.name === t && typeof p.containerPort === 'number') return p.containerPort;
  }
  return undefined;
}

function domainsOf(use: DestinationUse, port: number): string[] {
  const { name, namespace } = use.object.metadata;
  if (use.kind === 'VIRTUAL_DESTINATION') return [...(use.object as VirtualDestinationR).spec.hosts];
  if (use.kind === 'EXTERNAL_SERVICE') return externalDomains(use.object as ExternalServiceR);
  const ip = (use.object.spec as { clusterIP?: unknown }).clusterIP;
  void port;
  return [`${name}.${namespace}.svc.cluster.local`, `${name}.${namespace}.svc`, `${name}.${namespace}`, ...(typeof ip === 'string' && ip !== 'None' && ip !== '' ? [ip] : [])];
}

function dedupeRefs(refs: PolicyRef[]): PolicyRef[] {
  const seen = new Map<string, PolicyRef>();
  for (const r of refs) seen.set(`${r.kind}/${r.namespace}/${r.name}`, r);
  return [...seen.values()].sort((a, b) => compareStr(`${a.kind}/${a.namespace}/${a.name}`, `${b.kind}/${b.namespace}/${b.name}`));
}

/** Endpoint address -> the Pod with a sidecar behind it (from EndpointSlice targetRefs). */
export function meshedAddresses(catalog: DestinationCatalog, meshedPods: ReadonlySet<string>): Map<string, PodR> {
  const out = new Map<string, PodR>();
  for (const slices of catalog.slicesByService.values()) {
    for (const s of slices) for (const e of s.body.endpoints) {
      const pod = e.targetRef?.name ? catalog.pods.get(`${e.targetRef.namespace ?? s.metadata.namespace}/${e.targetRef.name}`) : undefined;
      if (pod && meshedPods.has(nsName(pod))) for (const a of e.addresses) out.set(a, pod);
    }
  }
  return out;
}

/** Which endpoints of a backend get mesh mTLS, and the identities they may present. */
export function upstreamTlsOf(b: Backend, podByAddress: Map<string, PodR>, tlsModeOf: (pod: string, port: number) => TlsMode | undefined, trustDomain: string): UpstreamTlsIR | undefined {
  const meshedEndpoints: string[] = [];
  const principals = new Set<string>();
  for (const e of b.endpoints) {
    const pod = podByAddress.get(e.address);
    if (!pod || tlsModeOf(nsName(pod), e.port) === 'DISABLE') continue;
    meshedEndpoints.push(`${e.address}:${e.port}`);
    principals.add(spiffeId(trustDomain, pod.metadata.namespace, serviceAccountOf(pod)));
  }
  return meshedEndpoints.length ? { meshedEndpoints, principals: [...principals].sort() } : undefined;
}

/** The Pod's topology labels: a sidecar prefers the ExternalEndpoints of its own region and zone. */
function localityOf(pod: PodR): { locality?: WorkloadIR['locality'] } {
  const region = pod.metadata.labels[REGION_LABEL];
  const zone = pod.metadata.labels[ZONE_LABEL];
  return region || zone ? { locality: { ...(region ? { region } : {}), ...(zone ? { zone } : {}) } } : {};
}
