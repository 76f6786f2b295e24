// VirtualGateways -> listener IR (issue 14, item 2): ports by number or by the
// name of a port of the gateway's Service, TLS from Kubernetes Secrets (served
// over SDS), SNI per listener entry, httpsRedirect, appProtocol, and which
// bound route tables each listener admits (allowedRouteTables host + selector).
import type { DestinationIR, FinalRoute, GatewayIR, ListenerIR, ListenerTlsIR, PolicyRef, SecretIR, VirtualHostIR } from '../ir/types.js';
import { egressVirtualHosts, meshListenerTls, type EgressPlan } from './egress-gateway.js';
import { SecretMaterial } from '../ir/types.js';
import { secretValue } from '../resources/gateway-listeners.js';
import type { SecretR, ServiceR, VirtualGatewayR } from '../resources/schema.js';
import { clusterSuffix, nsName, resourceKey } from '../resources/schema.js';
import type { DestinationCatalog } from './destinations.js';
import { compareStr, labelsMatch, selectorMatches } from './match.js';
import type { PlacedPolicy } from './policies.js';
import { hostAllowed, type TableInfo } from './routes.js';
import type { StatusBook } from './status.js';
import type { WorkspaceIndex } from './workspaces.js';

export interface GatewayContext {
  ws: WorkspaceIndex;
  catalog: DestinationCatalog;
  status: StatusBook;
  placed: PlacedPolicy[];
  /** Root tables bound to gateways, with their routes as attached. */
  bindings: ReadonlyArray<{ gateway: string; root: TableInfo; routes: FinalRoute[] }>;
  /** Secrets by ns/name[@cluster]. */
  secrets: Map<string, SecretR>;
  /** Mesh mode (issue 13): egress listeners, ISTIO_MUTUAL's trust domain, destination policies by "KIND/ns/name@consumer". */
  egress?: EgressPlan;
  trustDomain?: string;
  destinations?: Map<string, DestinationIR>;
  /** Whether some Pod runs a sidecar (gateways then get a mesh certificate); undefined: not known. */
  meshMode?: boolean;
}

type Listener = VirtualGatewayR['spec']['listeners'][number];

/** The ports of Istio's gateway charts, for a port name when no Service of the gateway is known. */
const CHART_PORTS: Record<string, number> = { http: 80, http2: 80, https: 443 };
const SELECTOR_FIELDS = new Set(['name', 'namespace', 'cluster', 'workspace', 'labels']);

export function buildGateways(gatewaysByKey: Map<string, VirtualGatewayR>, ctx: GatewayContext): { gateways: GatewayIR[]; secrets: Record<string, SecretIR> } {
  const secrets: Record<string, SecretIR> = {};
  const gateways: GatewayIR[] = [];
  for (const [key, gw] of [...gatewaysByKey.entries()].sort(([a], [b]) => compareStr(a, b))) {
    gateways.push({ ref: key, workspace: ctx.ws.ownerOf(gw)!, listeners: gatewayListeners(key, gw, ctx, secrets) });
  }
  return { gateways, secrets };
}

function gatewayListeners(key: string, gw: VirtualGatewayR, ctx: GatewayContext, secrets: Record<string, SecretIR>): ListenerIR[] {
  const { status } = ctx;
  const gwKey = resourceKey(gw);
  const gwWs = ctx.ws.ownerOf(gw)!;
  const note = (m: string) => status.add(gwKey, 'ACCEPTED', m);
  gw.spec.workloads.forEach((w, i) => {
    for (const k of Object.keys(w.selector ?? {})) {
      if (!SELECTOR_FIELDS.has(k)) note(`spec.workloads[${i}].selector.${k} is not a selector field and is ignored (the Kubernetes API server drops unknown fields of Gloo's CRDs too); to select by label write selector.labels.${k}`);
    }
  });
  const bound = ctx.bindings.filter((b) => b.gateway === key);
  const built: Array<{ index: number; l: Listener; ir: Omit<ListenerIR, 'name'> }> = [];

  const admits = (l: Listener, b: (typeof bound)[number], host: string) =>
    !l.allowedRouteTables?.length ||
    l.allowedRouteTables.some((a) => hostAllowed([a], host) && selectorMatches(a.selector, { metadata: b.root.table.metadata, workspace: b.root.workspace, cluster: ctx.catalog.clusters.nameOf(b.root.table) }));
  // Whether a listener admits a table does not depend on its port or certificate being ready.
  for (const b of bound) {
    if (!gw.spec.listeners.some((l) => b.root.table.spec.hosts!.some((h) => admits(l, b, h)))) {
      status.warn(resourceKey(b.root.table), `virtual gateway ${key} admits it on none of its listeners (allowedRouteTables hosts and selectors), so its routes are not served there`);
    }
  }
  gw.spec.listeners.forEach((l, index) => {
    const where = `spec.listeners[${index}]`;
    const port = listenerPort(gw, l, ctx);
    if ('error' in port) return void status.invalid(gwKey, `${where}.port: ${port.error}; this listener is not served`);
    if (port.note) note(`${where}.port: ${port.note}`);
    let tls: ListenerTlsIR | undefined;
    if (l.tls?.mode === 'ISTIO_MUTUAL') {
      // The certificate comes from meshplane's CA, which issues one to gateways only in mesh mode.
      if (ctx.meshMode === false) return void note(`${where}.tls: ISTIO_MUTUAL uses the gateway's mesh certificate, which meshplane issues once some Pod runs a sidecar (mesh mode); this listener is not served until then`);
      tls = meshListenerTls(ctx.trustDomain);
    }
    else if (l.tls) {
      const t = listenerTls(gw, l.tls, ctx, secrets);
      if ('error' in t) return void status.invalid(gwKey, `${where}.tls: ${t.error}; this listener is not served`);
      if ('waiting' in t) return void note(`${where}.tls: ${t.waiting}; this listener is not served until it exists`);
      tls = t.tls;
    } else if (l.appProtocol === 'HTTPS') return void status.invalid(gwKey, `${where}: appProtocol HTTPS needs tls (mode and secretName); this listener is not served`);

    const hostRoutes = new Map<string, FinalRoute[]>();
    for (const b of bound) {
      for (const host of b.root.table.spec.hosts!) {
        if (!admits(l, b, host)) continue;
        hostRoutes.set(host, [...(hostRoutes.get(host) ?? []), ...b.routes]);
      }
    }
    const virtualHosts: VirtualHostIR[] = [...hostRoutes.entries()].sort(([a], [b]) => compareStr(a, b)).map(([host, rs]) => ({ name: host, domains: [host], routes: rs }));
    // SNI per listener entry: its hosts, unless one of them takes every name.
    const domains = virtualHosts.flatMap((v) => v.domains);
    const serverNames = tls && !tls.mesh && domains.length && domains.every((d) => d !== '*' && !d.slice(1).includes('*')) ? domains : undefined;
    // An egress listener: the ExternalServices it exposes, with the AccessPolicies it enforces for them.
    const egress = l.exposedExternalServices ? egressVirtualHosts(key, gwWs, ctx.egress?.listeners.get(key)?.get(index) ?? [], ctx.destinations, new Set(domains)) : undefined;
    if (egress) virtualHosts.push(...egress.virtualHosts);
    const codec = l.appProtocol === 'HTTP2' || l.appProtocol === 'GRPC' ? ('HTTP2' as const) : undefined;
    built.push({
      index,
      l,
      ir: {
        port: port.port,
        virtualHosts,
        policies: listenerPolicies(gw, gwWs, l, port.port, ctx),
        ...(tls ? { tls } : {}),
        ...(serverNames ? { serverNames } : {}),
        ...(l.httpsRedirect ? { httpsRedirect: true } : {}),
        ...(codec ? { codec } : {}),
        ...(egress ? { egress: egress.access } : {}),
      },
    });
  });
  // Entries that share a port become filter chains of one Envoy listener; they must be told apart by SNI.
  const out: ListenerIR[] = [];
  const byPort = new Map<number, Array<(typeof built)[number]>>();
  for (const b of built) byPort.set(b.ir.port, [...(byPort.get(b.ir.port) ?? []), b]);
  for (const [port, entries] of byPort) {
    const kept: Array<(typeof built)[number]> = [];
    for (const e of entries) {
      const clash = kept.find((k) => !k.ir.tls || !e.ir.tls || !k.ir.serverNames || !e.ir.serverNames || k.ir.serverNames.some((n) => e.ir.serverNames!.includes(n)));
      if (clash) {
        status.invalid(gwKey, `spec.listeners[${e.index}] uses port ${port} like spec.listeners[${clash.index}], and the two cannot be told apart (only TLS listeners with different hosts can share a port, by SNI); this listener is not served`);
        continue;
      }
      kept.push(e);
    }
    kept.forEach((e, n) => out.push({ name: `${key}:${port}${n ? `#${n}` : ''}`, ...e.ir }));
  }
  return out;
}

/** Services that select the gateway's workloads: compatible labels, in the workload's namespace and cluster. */
export function gatewayServices(gw: VirtualGatewayR, catalog: DestinationCatalog): ServiceR[] {
  const out: ServiceR[] = [];
  for (const w of gw.spec.workloads) {
    const sel = w.selector;
    const want = sel?.labels ?? {};
    if (!Object.keys(want).length) continue;
    const cluster = catalog.clusters.resolve(sel?.cluster as string | undefined, gw.cluster);
    for (const svc of catalog.services.values()) {
      const have = svc.spec.selector ?? {};
      if ((svc.cluster ?? undefined) !== cluster.cluster) continue;
      if (sel?.namespace !== undefined && svc.metadata.namespace !== sel.namespace) continue;
      const shared = Object.keys(have).filter((k) => k in want);
      if (shared.length && shared.every((k) => have[k] === want[k]) && !out.includes(svc)) out.push(svc);
    }
  }
  return out.sort((a, b) => compareStr(nsName(a), nsName(b)));
}

/** The port Envoy binds: the Service port's numeric targetPort when a gateway Service has it (as Istio does), else the number. */
function listenerPort(gw: VirtualGatewayR, l: Listener, ctx: GatewayContext): { port: number; note?: string } | { error: string } {
  const services = gatewayServices(gw, ctx.catalog);
  const want = l.port;
  for (const svc of services) {
    const sp = svc.spec.ports.find((p) => (want.name !== undefined ? p.name === want.name : p.port === want.number));
    if (sp) return { port: typeof sp.targetPort === 'number' ? sp.targetPort : sp.port };
  }
  if (want.number !== undefined) return { port: want.number };
  if (services.length) return { error: `no port named "${want.name}" on the gateway's Service${services.length > 1 ? 's' : ''} ${services.map((s) => `${nsName(s)} (ports: ${s.spec.ports.map((p) => p.name ?? p.port).join(', ')})`).join(', ')}` };
  const chart = CHART_PORTS[want.name!];
  if (chart === undefined) return { error: `port name "${want.name}" needs the gateway's Service (one whose selector matches spec.workloads[].selector.labels), and none is known; add it, or set port.number` };
  return { port: chart, note: `no Service selects this gateway's workloads, so port "${want.name}" is ${chart}, as in Istio's gateway charts; add the gateway's Service to resolve it from there` };
}

type TlsResult = { tls: ListenerTlsIR } | { waiting: string } | { error: string };

/** TLS material from a Secret in the gateway workload's namespace (the VirtualGateway's when the selector names none). */
function listenerTls(gw: VirtualGatewayR, t: NonNullable<Listener['tls']>, ctx: GatewayContext, secrets: Record<string, SecretIR>): TlsResult {
  const w = gw.spec.workloads.find((x) => x.selector?.namespace !== undefined)?.selector;
  const ns = (w?.namespace as string | undefined) ?? gw.metadata.namespace;
  const cluster = ctx.catalog.clusters.resolve(w?.cluster as string | undefined, gw.cluster).cluster;
  const find = (name: string) => ctx.secrets.get(`${ns}/${name}${clusterSuffix(cluster)}`);
  const name = t.secretName!;
  const secret = find(name);
  if (!secret) return { waiting: `waiting for Secret ${ns}/${name}${clusterSuffix(cluster)} (type kubernetes.io/tls, keys tls.crt and tls.key)` };
  if (secret.body.type !== 'kubernetes.io/tls') return { error: `Secret ${nsName(secret)} has type ${secret.body.type}; a TLS listener needs type kubernetes.io/tls` };
  const certName = `tls/${nsName(secret)}`;
  secrets[certName] ??= { source: resourceKey(secret), certificateChain: new SecretMaterial(secretValue(secret.body, 'tls.crt')!), privateKey: new SecretMaterial(secretValue(secret.body, 'tls.key')!) };
  let validationSecret: string | undefined;
  if (t.mode === 'MUTUAL' || t.mode === 'OPTIONAL_MUTUAL') {
    // Istio's conventions: ca.crt in the same Secret, or a "<name>-cacert" Secret.
    const caSecret = secretValue(secret.body, 'ca.crt') !== undefined ? secret : find(`${name}-cacert`);
    const ca = caSecret && (secretValue(caSecret.body, 'ca.crt') ?? secretValue(caSecret.body, 'cacert'));
    if (!caSecret || ca === undefined) return { error: `mode ${t.mode} needs the CA of client certificates: key ca.crt in Secret ${nsName(secret)}, or a Secret ${ns}/${name}-cacert` };
    validationSecret = `ca/${nsName(caSecret)}`;
    secrets[validationSecret] ??= { source: resourceKey(caSecret), trustedCa: new SecretMaterial(ca) };
  }
  const p = t.parameters;
  return {
    tls: {
      certificateSecret: certName,
      ...(validationSecret ? { validationSecret } : {}),
      requireClientCertificate: t.mode === 'MUTUAL',
      ...(p?.minimumProtocolVersion ? { minimumProtocolVersion: p.minimumProtocolVersion } : {}),
      ...(p?.maximumProtocolVersion ? { maximumProtocolVersion: p.maximumProtocolVersion } : {}),
      ...(p?.cipherSuites ? { cipherSuites: p.cipherSuites } : {}),
      ...(p?.ecdhCurves ? { ecdhCurves: p.ecdhCurves } : {}),
    },
  };
}

function listenerPolicies(gw: VirtualGatewayR, gwWs: string, l: Listener, port: number, ctx: GatewayContext): PolicyRef[] {
  const target = { metadata: gw.metadata, workspace: gwWs, cluster: ctx.catalog.clusters.nameOf(gw) };
  const portMatches = (s: { number?: number; name?: string } | undefined) =>
    !s || ((s.number === undefined || s.number === l.port.number || s.number === port) && (s.name === undefined || s.name === l.port.name));
  const policies = ctx.placed
    .filter((p) => p.workspace === gwWs && (p.policy.spec.applyToListeners ?? []).some((s) => selectorMatches(s.virtualGateway, target) && portMatches(s.port)))
    .map((p) => {
      ctx.status.count(p.key, 'listenersSelected');
      return p.ref;
    });
  // Workload-scoped policies (access logs) reach a gateway whose workload labels they select.
  const gwLabels = gw.spec.workloads.map((w) => w.selector?.labels ?? {});
  for (const p of ctx.placed) {
    if (p.ref.kind !== 'AccessLogPolicy' || p.workspace !== gwWs) continue;
    if ((p.policy.spec.applyToWorkloads ?? []).some((sel) => gwLabels.some((lb) => labelsMatch(sel.selector?.labels, lb) && Object.keys(sel.selector?.labels ?? {}).length > 0))) {
      ctx.status.count(p.key, 'listenersSelected');
      policies.push(p.ref);
    }
  }
  return policies;
}
