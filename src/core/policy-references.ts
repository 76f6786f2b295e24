// What translation needs to know about each attached policy: its validated
// config, its phase and priority, and the backends (Envoy clusters) its config
// points at: mirror targets, ext auth servers, remote JWKS, rate-limit servers.
import type { Backend, PolicyIR, StatusState } from '../ir/types.js';
import type { PolicyDestination } from '../resources/policy-configs.js';
import type { GlooAuth } from '../resources/gloo-auth.js';
import type { PolicyR, Resource, SecretR } from '../resources/schema.js';
import { clusterSuffix, nsName, resourceKey } from '../resources/schema.js';
import type { Descriptor, RateLimitEntry, SetDescriptor } from '../resources/rate-limit-configs.js';
import { API_KEY_SECRET_TYPE, resolveGlooAuth, type GlooAuthContext } from './gloo-auth.js';
import { expandRateLimits } from './rate-limit-sets.js';
import { resolveDestination, type DestinationCatalog } from './destinations.js';
import type { PlacedPolicy } from './policies.js';
import type { StatusBook } from './status.js';
import type { WorkspaceIndex } from './workspaces.js';

export interface ReferenceContext {
  ws: WorkspaceIndex;
  catalog: DestinationCatalog;
  /** Admin resources by Kind/ns/name: ExtAuthServer, RateLimitServerSettings, ..., Secret, ConfigMap */
  admin: Map<string, Resource>;
  addBackend(b: Backend): void;
  /** The API-key Secrets, found once per computation (lazily). */
  apiKeySecrets?: () => SecretR[];
}

const phaseOf = (config: Record<string, unknown>): { phase: 'preAuthz' | 'postAuthz'; priority: number } => {
  const ph = config.phase as { preAuthz?: { priority?: number }; postAuthz?: { priority?: number } } | undefined;
  if (ph?.preAuthz) return { phase: 'preAuthz', priority: ph.preAuthz.priority ?? 0 };
  return { phase: 'postAuthz', priority: ph?.postAuthz?.priority ?? 0 };
};

/** A policy's IR and what resolving it did, for the next computation over the same world. */
interface ResolvedPolicy {
  workspace: string;
  ir: PolicyIR;
  status: Array<[string, StatusState, string]>;
  backends: Backend[];
}
/** Resolved policies by resource object; valid while nothing but route tables and policies changed. */
export type PolicyReferenceMemo = Map<PolicyR, ResolvedPolicy>;

const irSources = new WeakMap<PolicyIR, PolicyR>();
/** The policy resource an IR was resolved from. */
export const policySourceOf = (ir: PolicyIR): PolicyR | undefined => irSources.get(ir);

/**
 * resolvePolicyReferences, reusing the IR of every policy that is the same
 * object as last time when the world it reads (everything but route tables
 * and policies) is unchanged; its status and backends are replayed in order.
 */
export function resolvePolicyReferencesMemo(placed: PlacedPolicy[], ctx: ReferenceContext, status: StatusBook, memo: PolicyReferenceMemo, sameWorld: boolean): Record<string, PolicyIR> {
  // Every entry was resolved in the current world: kept while it lasts, dropped when it changes.
  if (!sameWorld) memo.clear();
  const out: Record<string, PolicyIR> = {};
  let apiKeySecrets: SecretR[] | undefined;
  const shared: ReferenceContext = { ...ctx, apiKeySecrets: () => (apiKeySecrets ??= findApiKeySecrets(ctx.admin)) };
  for (const p of placed) {
    let r = memo.get(p.policy);
    if (!r || r.workspace !== p.workspace) {
      const rec: ResolvedPolicy = { workspace: p.workspace, ir: undefined as never, status: [], backends: [] };
      const recorder = { add: (key: string, state: StatusState, message: string) => void rec.status.push([key, state, message]) };
      rec.ir = resolvePolicyReferences([p], { ...shared, addBackend: (b) => void rec.backends.push(b) }, recorder)[p.key];
      r = rec;
      if (rec.ir) irSources.set(rec.ir, p.policy);
      memo.set(p.policy, r);
    }
    for (const [key, state, message] of r.status) status.add(key, state, message);
    for (const b of r.backends) ctx.addBackend(b);
    out[p.key] = r.ir;
  }
  // Policies edited or deleted leave entries behind: dropped once they are as many as the live ones.
  if (memo.size > 2 * placed.length + 100) {
    const live = new Set(placed.map((p) => p.policy));
    for (const k of memo.keys()) if (!live.has(k)) memo.delete(k);
  }
  return out;
}

const findApiKeySecrets = (admin: Map<string, Resource>): SecretR[] =>
  [...admin.values()].filter((r): r is SecretR => r.kind === 'Secret' && (r as SecretR).body.type === API_KEY_SECRET_TYPE);

export function resolvePolicyReferences(placed: PlacedPolicy[], ctx: ReferenceContext, status: Pick<StatusBook, 'add'>): Record<string, PolicyIR> {
  const out: Record<string, PolicyIR> = {};
  let apiKeySecrets: SecretR[] | undefined;
  const glooCtx: GlooAuthContext = {
    ws: ctx.ws,
    clusters: ctx.catalog.clusters,
    objects: ctx.admin,
    apiKeySecrets: ctx.apiKeySecrets ?? (() => (apiKeySecrets ??= findApiKeySecrets(ctx.admin))),
  };
  for (const p of placed) {
    const config = p.policy.spec.config as Record<string, unknown>;
    const { phase, priority } = phaseOf(config);
    const ir: PolicyIR = { kind: p.ref.kind, namespace: p.ref.namespace, name: p.ref.name, workspace: p.ref.workspace, key: p.key, config, phase, priority, clusters: {}, hosts: {}, errors: [] };
    const ns = p.policy.metadata.namespace;
    // A reference without a cluster points into its referrer's cluster.
    const destination = (name: string, d: PolicyDestination, defaultNs: string, consumer: string, referrer: Resource = p.policy) => {
      const r = resolveDestination(ctx.catalog, ctx.ws, { ref: { ...d.ref, cluster: d.ref.cluster ?? referrer.cluster }, kind: d.kind, port: d.port }, defaultNs, consumer, undefined);
      if (r.error) ir.errors.push(`${name}: ${r.error}`);
      else {
        ctx.addBackend(r.resolved!.backend);
        ir.clusters[name] = r.resolved!.backend.cluster;
        ir.hosts[name] = r.resolved!.backend.host;
      }
    };
    const admin = (kind: string, ref: { name: string; namespace?: string; cluster?: string }, field: string): Resource | undefined => {
      const inCluster = ctx.catalog.clusters.resolve(ref.cluster, p.policy.cluster);
      const name = `${ref.namespace ?? ns}/${ref.name}${clusterSuffix(inCluster.cluster)}`;
      const r = inCluster.error ? undefined : ctx.admin.get(`${kind}/${name}`);
      if (!r) ir.errors.push(`${field}: ${kind} ${name} ${inCluster.error ?? 'not found'}`);
      return r;
    };
    switch (p.ref.kind) {
      case 'MirrorPolicy':
        destination('mirror', config.destination as PolicyDestination, ns, p.workspace);
        break;
      case 'JWTPolicy':
        for (const [name, prov] of Object.entries(config.providers as Record<string, { remote?: { destinationRef: PolicyDestination } }>)) {
          if (prov.remote) destination(`jwks:${name}`, prov.remote.destinationRef, ns, p.workspace);
        }
        break;
      case 'ExtAuthPolicy': {
        const server = admin('ExtAuthServer', config.server as { name: string; namespace?: string }, 'config.server');
        if (server) {
          const spec = server.spec as { destinationServer: PolicyDestination; requestTimeout?: string; failureModeAllow?: boolean; requestBody?: { maxRequestBytes?: number; allowPartialMessage?: boolean } };
          const owner = ctx.ws.ownerOf(server);
          if (!owner) ir.errors.push(`config.server: ExtAuthServer ${nsName(server)} is in a namespace no workspace selects`);
          else destination('extAuth', spec.destinationServer, server.metadata.namespace, owner, server);
          ir.extAuth = { server: nsName(server), requestTimeout: spec.requestTimeout, failureModeAllow: spec.failureModeAllow ?? false, ...(spec.requestBody ? { requestBody: spec.requestBody } : {}) };
          if (config.glooAuth) {
            const g = resolveGlooAuth(p.policy, p.workspace, owner, config.glooAuth as GlooAuth, glooCtx);
            ir.extAuth.glooAuth = g.ir;
            ir.errors.push(...g.errors);
            for (const w of g.warnings) status.add(p.key, 'WARNING', w);
            for (const n of g.notes) status.add(p.key, 'ACCEPTED', n);
          }
        }
        break;
      }
      case 'RateLimitPolicy': {
        if (!config.serverSettings) break; // local limits only
        const settings = admin('RateLimitServerSettings', config.serverSettings as { name: string; namespace?: string }, 'config.serverSettings');
        // The actions come from a RateLimitClientConfig or inline from config.raw.
        const client = config.ratelimitClientConfig ? admin('RateLimitClientConfig', config.ratelimitClientConfig as { name: string; namespace?: string }, 'config.ratelimitClientConfig') : undefined;
        const entries = client ? (client.spec as { raw: { rateLimits: RateLimitEntry[] } }).raw.rateLimits : (config.raw as { rateLimits: RateLimitEntry[] } | undefined)?.rateLimits;
        const server = admin('RateLimitServerConfig', config.ratelimitServerConfig as { name: string; namespace?: string }, 'config.ratelimitServerConfig');
        if (settings && entries && server) {
          const s = settings.spec as { destinationServer: PolicyDestination; requestTimeout?: string; denyOnFail?: boolean; domain?: string };
          const owner = ctx.ws.ownerOf(settings) ?? p.workspace;
          destination('rateLimit', s.destinationServer, settings.metadata.namespace, owner, settings);
          const raw = (server.spec as { raw: { descriptors?: Descriptor[]; setDescriptors?: SetDescriptor[] } }).raw;
          const expanded = expandRateLimits(`${server.metadata.namespace}.${server.metadata.name}`, raw.descriptors ?? [], raw.setDescriptors ?? [], entries);
          for (const e of expanded.errors) ir.errors.push(`config.ratelimitServerConfig: RateLimitServerConfig ${nsName(server)}: ${e}`);
          for (const n of expanded.notes) status.add(p.key, 'ACCEPTED', `RateLimitServerConfig ${nsName(server)}: ${n}`);
          ir.rateLimit = {
            settings: resourceKey(settings),
            domain: s.domain ?? `meshplane`,
            requestTimeout: s.requestTimeout,
            denyOnFail: s.denyOnFail ?? false,
            actions: expanded.actions,
            descriptors: expanded.descriptors,
          };
        }
        break;
      }
    }
    for (const e of ir.errors) status.add(p.key, 'INVALID', e);
    out[p.key] = ir;
  }
  return out;
}
