// ExtAuthPolicy glooAuth -> GlooAuthIR: finds the Secrets (API keys, OIDC
// client secrets) and ConfigMaps (Rego modules) each step names. A policy may
// read them from the namespaces of its own workspace, of its ExtAuthServer's
// workspace, and from namespaces no workspace selects (the platform team's, such
// as Gloo's gloo-mesh; semantics 73); never from another tenant's workspace.
// API keys selected by label come from its own workspace only. A reference that does not exist yet is not an error (as for
// TLS Secrets): the status says what the config waits for, and the ext-auth
// server answers 503 until it appears.
import { SecretMaterial } from '../ir/types.js';
import type { AuthStepIR, GlooAuthIR, OidcStepIR } from '../ir/ext-auth.js';
import type { ApiKeyAuth, GlooAuth, GlooAuthRef, OidcAuthorizationCode } from '../resources/gloo-auth.js';
import { secretValue } from '../resources/gateway-listeners.js';
import type { ConfigMapR, Resource, SecretR } from '../resources/schema.js';
import { clusterSuffix, resourceKey } from '../resources/schema.js';
import type { Clusters } from './clusters.js';
import { compareStr, labelsMatch } from './match.js';
import type { WorkspaceIndex } from './workspaces.js';

export const API_KEY_SECRET_TYPE = 'extauth.solo.io/apikey';
/** The Secret entry holding the key; every other entry is the key's metadata. */
const API_KEY_ENTRY = 'api-key';
const CLIENT_SECRET_ENTRY = 'client-secret';

export interface GlooAuthContext {
  ws: WorkspaceIndex;
  clusters: Clusters;
  /** Secrets and ConfigMaps (with the admin kinds) by Kind/ns/name[@cluster]. */
  objects: Map<string, Resource>;
  /** API-key Secrets, computed once per core run. */
  apiKeySecrets(): SecretR[];
}

export interface GlooAuthResult {
  ir: GlooAuthIR;
  /** The policy fails closed. */
  errors: string[];
  /** Served without the part named (a key Secret that cannot be used). */
  warnings: string[];
  notes: string[];
}

export function resolveGlooAuth(policy: Resource, workspace: string, serverWorkspace: string | undefined, auth: GlooAuth, ctx: GlooAuthContext): GlooAuthResult {
  const errors: string[] = [];
  const warnings: string[] = [];
  const notes: string[] = [];
  const waitingFor: string[] = [];
  const allowed = [workspace, ...(serverWorkspace && serverWorkspace !== workspace ? [serverWorkspace] : [])];
  /** A referenced Secret or ConfigMap, checked against the workspaces it may come from; undefined when absent or refused. */
  const lookup = <R extends Resource>(kind: 'Secret' | 'ConfigMap', ref: GlooAuthRef, field: string): R | undefined => {
    const inCluster = ctx.clusters.resolve(ref.cluster, policy.cluster);
    if (inCluster.error) {
      errors.push(`${field}: ${kind} ${ref.namespace ?? policy.metadata.namespace}/${ref.name} ${inCluster.error}`);
      return undefined;
    }
    const namespace = ref.namespace ?? policy.metadata.namespace;
    const key = `${kind}/${namespace}/${ref.name}${clusterSuffix(inCluster.cluster)}`;
    const owner = ctx.ws.workspaceOf(namespace, inCluster.cluster);
    if (owner && !allowed.includes(owner)) {
      errors.push(`${field}: ${key} is in workspace "${owner}"; glooAuth reads ${kind}s only from the policy's workspace ("${workspace}")${serverWorkspace ? `, its ExtAuthServer's ("${serverWorkspace}")` : ''} or a namespace no workspace selects`);
      return undefined;
    }
    const found = ctx.objects.get(key) as R | undefined;
    if (!found) {
      waitingFor.push(key);
      notes.push(`${field}: waits for ${key}, which does not exist yet; the ext-auth server answers 503 on these routes until it does`);
    }
    return found;
  };

  const steps: AuthStepIR[] = [];
  auth.configs.forEach((step, i) => {
    const at = `config.glooAuth.configs[${i}]`;
    const name = step.name ? { name: step.name } : {};
    if (step.apiKeyAuth) steps.push({ kind: 'apiKey', ...name, ...apiKeyStep(step.apiKeyAuth, `${at}.apiKeyAuth`) });
    else if (step.opaAuth) {
      const modules: Array<{ name: string; rego: string }> = [];
      step.opaAuth.modules.forEach((ref, j) => {
        const cm = lookup<ConfigMapR>('ConfigMap', ref, `${at}.opaAuth.modules[${j}]`);
        const entries = Object.entries(cm?.body.data ?? {}).sort(([a], [b]) => compareStr(a, b));
        if (cm && entries.length === 0) errors.push(`${at}.opaAuth.modules[${j}]: ${resourceKey(cm)} has no data entries (each entry is one Rego module)`);
        for (const [entry, rego] of entries) modules.push({ name: `${resourceKey(cm!)}/${entry}`, rego });
      });
      steps.push({ kind: 'opa', ...name, query: step.opaAuth.query, modules });
    } else if (step.oauth2?.oidcAuthorizationCode) steps.push({ kind: 'oidc', ...name, ...oidcStep(step.oauth2.oidcAuthorizationCode, `${at}.oauth2.oidcAuthorizationCode`) });
    else if (step.passThroughAuth?.grpc) {
      const p = step.passThroughAuth;
      steps.push({ kind: 'passThroughGrpc', ...name, address: p.grpc!.address, timeoutMs: durationMs(p.grpc!.connectionTimeout ?? '5s'), ...(p.config ? { config: p.config } : {}), failureModeAllow: p.failureModeAllow ?? false });
    }
  });
  return { ir: { steps, failOnRedirect: auth.failOnRedirect ?? false, waitingFor }, errors, warnings, notes };

  function apiKeyStep(a: ApiKeyAuth, at: string): Omit<Extract<AuthStepIR, { kind: 'apiKey' }>, 'kind' | 'name'> {
    const selector = a.k8sSecretApikeyStorage?.labelSelector ?? a.labelSelector;
    const refs = a.k8sSecretApikeyStorage?.apiKeySecretRefs ?? a.apiKeySecretRefs ?? [];
    const secrets = new Map<string, SecretR>();
    if (selector) {
      for (const s of ctx.apiKeySecrets()) {
        if (s.cluster === policy.cluster && ctx.ws.ownerOf(s) === workspace && labelsMatch(selector, s.metadata.labels)) secrets.set(resourceKey(s), s);
      }
      if (secrets.size === 0) notes.push(`${at}: no Secret of type ${API_KEY_SECRET_TYPE} in workspace "${workspace}" has the labels ${JSON.stringify(selector)} yet; every request is denied (401) until one does`);
    }
    refs.forEach((ref, j) => {
      const s = lookup<SecretR>('Secret', ref, `${at}.apiKeySecretRefs[${j}]`);
      if (s) secrets.set(resourceKey(s), s);
    });
    const keys = [];
    const seen = new Map<string, string>();
    for (const [source, s] of [...secrets.entries()].sort(([x], [y]) => compareStr(x, y))) {
      const key = secretValue(s.body, API_KEY_ENTRY);
      if (!key) {
        warnings.push(`${at}: ${source} has no "${API_KEY_ENTRY}" entry (the key itself); it is not used`);
        continue;
      }
      // Two Secrets with one key would make the key's metadata ambiguous: the first (by name) keeps it.
      const first = seen.get(key);
      if (first) {
        warnings.push(`${at}: ${source} holds the same key as ${first}; each key must be in one Secret, so only ${first} is used`);
        continue;
      }
      seen.set(key, source);
      const entries = new Set([...Object.keys(s.body.data ?? {}), ...Object.keys(s.body.stringData ?? {})]);
      entries.delete(API_KEY_ENTRY);
      const metadata = Object.fromEntries([...entries].sort(compareStr).map((e) => [e, new SecretMaterial(secretValue(s.body, e)!)]));
      keys.push({ source, key: new SecretMaterial(key), metadata });
    }
    const fromMetadata = { ...(a.headersFromMetadata ?? {}), ...(a.headersFromMetadataEntry ?? {}) };
    const headersFromMetadata = Object.entries(fromMetadata)
      .sort(([x], [y]) => compareStr(x, y))
      .map(([header, m]) => ({ header, entry: m.name, required: m.required ?? false }));
    if (!a.skipMetadataValidation) {
      for (const h of headersFromMetadata.filter((x) => x.required)) {
        for (const k of keys) if (!(h.entry in k.metadata)) notes.push(`${at}.headersFromMetadataEntry.${h.header}: ${k.source} has no entry "${h.entry}", so its key is denied (the entry is required)`);
      }
    }
    return { headerName: a.headerName.toLowerCase(), keys, headersFromMetadata };
  }

  function oidcStep(o: OidcAuthorizationCode, at: string): Omit<OidcStepIR, 'kind' | 'name'> {
    let clientSecret: SecretMaterial | undefined;
    if (o.clientSecretRef && !o.disableClientSecret) {
      const s = lookup<SecretR>('Secret', o.clientSecretRef, `${at}.clientSecretRef`);
      const v = s && secretValue(s.body, CLIENT_SECRET_ENTRY);
      if (s && v === undefined) errors.push(`${at}.clientSecretRef: ${resourceKey(s)} has no "${CLIENT_SECRET_ENTRY}" entry`);
      if (v !== undefined) clientSecret = new SecretMaterial(v);
    } else if (!o.disableClientSecret) errors.push(`${at}: set clientSecretRef (a Secret with a "${CLIENT_SECRET_ENTRY}" entry), or disableClientSecret: true for a public client`);
    const s = o.session;
    const opts = s?.cookieOptions;
    const sameSite = opts?.sameSite === 'LaxMode' ? 'Lax' : opts?.sameSite === 'StrictMode' ? 'Strict' : opts?.sameSite === 'NoneMode' ? 'None' : undefined;
    const redis = s?.redis;
    const [host, db] = [redis?.options.host, redis?.options.db ?? 0];
    return {
      appUrl: o.appUrl.replace(/\/+$/, ''),
      callbackPath: o.callbackPath,
      ...(o.logoutPath ? { logoutPath: o.logoutPath } : {}),
      ...(o.afterLogoutUrl ? { afterLogoutUrl: o.afterLogoutUrl } : {}),
      issuerUrl: o.issuerUrl,
      clientId: o.clientId,
      ...(clientSecret ? { clientSecret } : {}),
      scopes: ['openid', ...(o.scopes ?? []).filter((x) => x !== 'openid')],
      authEndpointQueryParams: o.authEndpointQueryParams ?? {},
      tokenEndpointQueryParams: o.tokenEndpointQueryParams ?? {},
      session: {
        store: redis ? 'redis' : 'cookie',
        // Gloo's defaults: "__session" for the Redis session id, "<keyPrefix>id_token" cookies otherwise.
        cookieName: redis?.cookieName ?? '__session',
        keyPrefix: redis?.keyPrefix ?? s?.cookie?.keyPrefix ?? '',
        ...(host ? { redis: { host, db } } : {}),
        failOnFetchFailure: s?.failOnFetchFailure ?? false,
        cookie: { ...(opts?.maxAge !== undefined ? { maxAge: opts.maxAge } : {}), secure: !(opts?.notSecure ?? false), httpOnly: opts?.httpOnly ?? true, path: opts?.path ?? '/', ...(opts?.domain ? { domain: opts.domain } : {}), ...(sameSite ? { sameSite } : {}) },
      },
      ...(o.headers?.idTokenHeader ? { idTokenHeader: o.headers.idTokenHeader } : {}),
      ...(o.headers?.accessTokenHeader ? { accessTokenHeader: o.headers.accessTokenHeader } : {}),
      useBearerSchemaForAuthorization: o.headers?.useBearerSchemaForAuthorization ?? false,
      idTokenClaimsToHeaders: (o.identityToken?.claimsToHeaders ?? []).map((c) => ({ claim: c.claim, header: c.header, append: c.append ?? false })),
      accessTokenClaimsToHeaders: (o.accessToken?.claimsToHeaders ?? []).map((c) => ({ claim: c.claim, header: c.header, append: c.append ?? false })),
    };
  }
}

function durationMs(d: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(d)!;
  return Math.round(Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h']);
}
