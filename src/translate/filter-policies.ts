// Policies enforced by HTTP filters. Each attached policy yields a filter
// instance for the listener (deduplicated by name, disabled by default) and a
// per-route config that switches it on for exactly the routes it selects.
import type { PolicyIR } from '../ir/types.js';
import { EXT_AUTH_CONFIG_KEY } from '../ir/ext-auth.js';
import type {
  CorsConfig,
  CsrfConfig,
  ExtAuthConfig,
  FaultInjectionConfig,
  JwtConfig,
  RateLimitConfig,
  TransformationConfig,
} from '../resources/policy-configs.js';
import { ANY, duration } from './types.js';
import { extractorNamespace, luaScript, translateInja, type Side } from './inja.js';
import { fractionalPercent, protoStruct, stringMatcher } from './values.js';

/** Where a filter sits in the fixed order (semantics §8). */
export type FilterSlot = 'cors' | 'csrf' | 'fault' | 'jwt' | 'transform' | 'ratelimit' | 'ext_authz';

export interface FilterInstance {
  name: string;
  slot: FilterSlot;
  phase?: 'preAuthz' | 'postAuthz';
  priority: number;
  typedConfig: Record<string, unknown>;
}

export interface FilterUse {
  filter: FilterInstance;
  /** typed_per_filter_config value for the route. */
  perRoute: Record<string, unknown>;
}

const T = {
  cors: 'envoy.extensions.filters.http.cors.v3',
  csrf: 'envoy.extensions.filters.http.csrf.v3',
  fault: 'envoy.extensions.filters.http.fault.v3',
  jwt: 'envoy.extensions.filters.http.jwt_authn.v3',
  transform: 'envoy.extensions.filters.http.transform.v3',
  ratelimit: 'envoy.extensions.filters.http.ratelimit.v3',
  local: 'envoy.extensions.filters.http.local_ratelimit.v3',
  extAuthz: 'envoy.extensions.filters.http.ext_authz.v3',
  rbac: 'envoy.extensions.filters.http.rbac.v3',
  h2m: 'envoy.extensions.filters.http.header_to_metadata.v3',
  lua: 'envoy.extensions.filters.http.lua.v3',
  headerMutation: 'envoy.extensions.filters.http.header_mutation.v3',
};


/** Where jwt_authn puts the verified payload for the claims check. */
const JWT_PAYLOAD_KEY = 'meshplane_jwt_payload';

/** `*` globs as Envoy string matchers (exact, prefix, suffix, else an anchored RE2 regex). */
export function globStringMatcher(glob: string): Record<string, unknown> {
  const stars = glob.split('*').length - 1;
  if (stars === 0) return { exact: glob };
  if (stars === 1 && glob.endsWith('*')) return { prefix: glob.slice(0, -1) };
  if (stars === 1 && glob.startsWith('*')) return { suffix: glob.slice(1) };
  return { safeRegex: { regex: `^${glob.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$` } };
}

/** RBAC principals for JWTPolicy claims and requiredScopes, or undefined when it has none. */
function jwtClaimPrincipals(cfg: JwtConfig): Array<Record<string, unknown>> | undefined {
  const claim = (key: string, value: Record<string, unknown>) => ({ metadata: { filter: 'envoy.filters.http.jwt_authn', path: [{ key: JWT_PAYLOAD_KEY }, { key }], value } });
  const ids: Array<Record<string, unknown>> = [];
  for (const c of cfg.claims ?? []) {
    // A claim may be a string or a list of strings (e.g. groups): either form may hold the value.
    const alternatives = c.values.flatMap((v) => [claim(c.key, { stringMatch: globStringMatcher(v) }), claim(c.key, { listMatch: { oneOf: { stringMatch: globStringMatcher(v) } } })]);
    ids.push({ orIds: { ids: alternatives } });
  }
  for (const scope of cfg.requiredScopes ?? []) ids.push(claim('scope', { listMatch: { oneOf: { stringMatch: { exact: scope } } } }));
  return ids.length ? ids : undefined;
}

/** Name of the JWT requirement / provider prefix for one policy. */
export const policyToken = (p: PolicyIR): string => `${p.namespace}.${p.name}`;

export function filterUses(p: PolicyIR, routeId: string, context: { table: string; route: string }): FilterUse[] {
  const c = p.config;
  switch (p.kind) {
    case 'CORSPolicy': {
      const cfg = c as CorsConfig;
      return [{
        filter: { name: 'envoy.filters.http.cors', slot: 'cors', priority: 0, typedConfig: ANY(`${T.cors}.Cors`) },
        perRoute: ANY(`${T.cors}.CorsPolicy`, {
          allowOriginStringMatch: cfg.allowOrigins.map(stringMatcher),
          ...(cfg.allowMethods ? { allowMethods: cfg.allowMethods.join(',') } : {}),
          ...(cfg.allowHeaders ? { allowHeaders: cfg.allowHeaders.join(',') } : {}),
          ...(cfg.exposeHeaders ? { exposeHeaders: cfg.exposeHeaders.join(',') } : {}),
          ...(cfg.maxAge ? { maxAge: String(duration(cfg.maxAge).seconds) } : {}),
          ...(cfg.allowCredentials !== undefined ? { allowCredentials: { value: cfg.allowCredentials } } : {}),
        }),
      }];
    }
    case 'CSRFPolicy': {
      const cfg = c as CsrfConfig;
      const pct = fractionalPercent(cfg.percentage ?? 100);
      return [{
        filter: { name: 'envoy.filters.http.csrf', slot: 'csrf', priority: 0, typedConfig: ANY(`${T.csrf}.CsrfPolicy`, { filterEnabled: { defaultValue: { numerator: 0, denominator: 'HUNDRED' } } }) },
        perRoute: ANY(`${T.csrf}.CsrfPolicy`, {
          filterEnabled: { defaultValue: cfg.filterEnabled ? pct : { numerator: 0, denominator: 'HUNDRED' } },
          ...(cfg.shadowEnabled ? { shadowEnabled: { defaultValue: pct } } : {}),
          ...(cfg.additionalOrigins ? { additionalOrigins: cfg.additionalOrigins.map(stringMatcher) } : {}),
        }),
      }];
    }
    case 'FaultInjectionPolicy': {
      const cfg = c as FaultInjectionConfig;
      return [{
        filter: { name: 'envoy.filters.http.fault', slot: 'fault', priority: 0, typedConfig: ANY(`${T.fault}.HTTPFault`) },
        perRoute: ANY(`${T.fault}.HTTPFault`, {
          ...(cfg.delay ? { delay: { fixedDelay: duration(cfg.delay.fixedDelay), percentage: fractionalPercent(cfg.delay.percentage) } } : {}),
          ...(cfg.abort ? { abort: { httpStatus: cfg.abort.httpStatus, percentage: fractionalPercent(cfg.abort.percentage) } } : {}),
        }),
      }];
    }
    case 'JWTPolicy': {
      // One jwt_authn instance per phase; its providers and requirements are
      // collected from every JWTPolicy on the listener (see mergeFilter).
      const cfg = c as JwtConfig;
      const token = policyToken(p);
      const claimRules = jwtClaimPrincipals(cfg);
      const providers: Record<string, unknown> = {};
      for (const [name, prov] of Object.entries(cfg.providers)) {
        providers[`${token}.${name}`] = {
          ...(prov.issuer ? { issuer: prov.issuer } : {}),
          ...(prov.audiences ? { audiences: prov.audiences } : {}),
          ...(prov.local ? { localJwks: { inlineString: prov.local.inline } } : {}),
          ...(prov.remote
            ? { remoteJwks: { httpUri: { uri: prov.remote.url, cluster: p.clusters[`jwks:${name}`], timeout: { seconds: 5 } }, ...(prov.remote.cacheDuration ? { cacheDuration: duration(prov.remote.cacheDuration) } : {}), ...(prov.remote.enableAsyncFetch ? { asyncFetch: {} } : {}) } }
            : {}),
          ...(prov.keepToken ? { forward: true } : {}),
          ...(prov.claimsToHeaders ? { claimToHeaders: prov.claimsToHeaders.map((h) => ({ headerName: h.header, claimName: h.claim })) } : {}),
          ...(prov.tokenSource?.headers ? { fromHeaders: prov.tokenSource.headers.map((h) => ({ name: h.name ?? h.header, ...(h.prefix ? { valuePrefix: h.prefix } : {}) })) } : {}),
          ...(claimRules ? { payloadInMetadata: JWT_PAYLOAD_KEY, ...(cfg.requiredScopes?.length ? { normalizePayloadInMetadata: { spaceDelimitedClaims: ['scope'] } } : {}) } : {}),
          ...(prov.tokenSource?.queryParams ? { fromParams: prov.tokenSource.queryParams } : {}),
        };
      }
      const names = Object.keys(providers);
      const requirement = names.length === 1 ? { providerName: names[0] } : { requiresAny: { requirements: names.map((n) => ({ providerName: n })) } };
      const uses: FilterUse[] = [{
        filter: { name: `envoy.filters.http.jwt_authn.${p.phase}`, slot: 'jwt', phase: p.phase, priority: p.priority, typedConfig: ANY(`${T.jwt}.JwtAuthentication`, { providers, requirementMap: { [token]: requirement } }) },
        perRoute: ANY(`${T.jwt}.PerRouteConfig`, { requirementName: token }),
      }];
      // Claims and scopes: RBAC on the verified payload. Its name sorts after jwt_authn's, so it runs right after it.
      if (claimRules) {
        uses.push({
          filter: { name: `envoy.filters.http.rbac.jwt_claims.${p.phase}`, slot: 'jwt', phase: p.phase, priority: p.priority, typedConfig: ANY(`${T.rbac}.RBAC`) },
          perRoute: ANY(`${T.rbac}.RBACPerRoute`, { rbac: { rules: { action: 'ALLOW', policies: { [token]: { permissions: [{ any: true }], principals: [{ andIds: { ids: claimRules } }] } } } } }),
        });
      }
      return uses;
    }
    case 'TransformationPolicy': {
      const cfg = c as TransformationConfig;
      const ns = extractorNamespace(p);
      const inja = { request: cfg.request?.injaTemplate && translateInja(cfg.request.injaTemplate, 'request', ns), response: cfg.response?.injaTemplate && translateInja(cfg.response.injaTemplate, 'response', ns) };
      const transformation = (side: Side, t: NonNullable<TransformationConfig['request']>) =>
        t.injaTemplate ? inja[side]?.transformation : {
          headersMutations: [
            ...Object.entries(t.setHeaders ?? {}).map(([key, value]) => ({ append: { header: { key, value }, appendAction: 'OVERWRITE_IF_EXISTS_OR_ADD' } })),
            ...(t.removeHeaders ?? []).map((h) => ({ remove: h })),
          ],
          ...(t.jsonBody ? { bodyTransformation: { bodyFormat: { jsonFormat: protoStruct(t.jsonBody.template) }, action: t.jsonBody.action } } : {}),
        };
      const instance = (name: string, type: string, typedConfig: Record<string, unknown> = {}) => ({ name: `envoy.filters.http.${name}.${p.phase}`, slot: 'transform' as const, phase: p.phase, priority: p.priority, typedConfig: ANY(type, typedConfig) });
      const uses: FilterUse[] = [];
      const request = cfg.request && transformation('request', cfg.request);
      const response = cfg.response && transformation('response', cfg.response);
      if (request || response) {
        uses.push({
          filter: instance('transform', `${T.transform}.TransformConfig`),
          perRoute: ANY(`${T.transform}.TransformConfig`, { ...(request ? { requestTransformation: request } : {}), ...(response ? { responseTransformation: response } : {}) }),
        });
      }
      const requestMutations = inja.request?.headerMutations ?? [];
      const responseMutations = inja.response?.headerMutations ?? [];
      if (requestMutations.length || responseMutations.length) {
        uses.push({
          filter: instance('transform_headers', `${T.headerMutation}.HeaderMutation`),
          perRoute: ANY(`${T.headerMutation}.HeaderMutationPerRoute`, { mutations: { ...(requestMutations.length ? { requestMutations } : {}), ...(responseMutations.length ? { responseMutations } : {}) } }),
        });
      }
      // Names order the instances of one phase: header_to_metadata (request extractors),
      // transform (JSON), transform_headers, transform_lua_body, transform_response_extractors;
      // responses run the chain in reverse, so their extractors come last.
      // The listener-level header_to_metadata needs a rule to be valid; it never matches (routes bring their own).
      const idle = { requestRules: [{ header: 'x-meshplane-unused', onHeaderPresent: { key: 'unused', metadataNamespace: 'meshplane.unused' } }] };
      if (inja.request?.extractorRules.length) {
        uses.push({ filter: instance('header_to_metadata', `${T.h2m}.Config`, idle), perRoute: ANY(`${T.h2m}.Config`, { requestRules: inja.request.extractorRules }) });
      }
      if (inja.response?.extractorRules.length) {
        uses.push({ filter: instance('transform_response_extractors', `${T.h2m}.Config`, idle), perRoute: ANY(`${T.h2m}.Config`, { responseRules: inja.response.extractorRules }) });
      }
      const lua = luaScript([inja.request?.lua, inja.response?.lua]);
      if (lua) uses.push({ filter: instance('transform_lua_body', `${T.lua}.Lua`, { defaultSourceCode: { inlineString: '-- bodies are set per route\n' } }), perRoute: ANY(`${T.lua}.LuaPerRoute`, { sourceCode: { inlineString: lua } }) });
      return uses;
    }
    case 'RateLimitPolicy': {
      const cfg = c as RateLimitConfig;
      const uses: FilterUse[] = [];
      if (cfg.local) {
        const b = cfg.local.tokenBucket;
        const on = { defaultValue: { numerator: 100, denominator: 'HUNDRED' }, runtimeKey: 'meshplane_local_rate_limit' };
        uses.push({
          filter: { name: `envoy.filters.http.local_ratelimit.${p.phase}`, slot: 'ratelimit', phase: p.phase, priority: p.priority, typedConfig: ANY(`${T.local}.LocalRateLimit`, { statPrefix: 'local_rate_limit' }) },
          perRoute: ANY(`${T.local}.LocalRateLimit`, {
            statPrefix: 'local_rate_limit',
            tokenBucket: { maxTokens: b.maxTokens, tokensPerFill: { value: b.tokensPerFill ?? b.maxTokens }, fillInterval: duration(b.fillInterval) },
            filterEnabled: on,
            filterEnforced: on,
          }),
        });
      }
      if (p.rateLimit && p.clusters.rateLimit) {
        const rl = p.rateLimit;
        uses.push({
          filter: {
            name: `envoy.filters.http.ratelimit.${p.phase}.${rl.settings.replace(/\//g, '.')}`,
            slot: 'ratelimit',
            phase: p.phase,
            priority: p.priority,
            typedConfig: ANY(`${T.ratelimit}.RateLimit`, {
              domain: rl.domain,
              stage: rateLimitStage(p.phase),
              failureModeDeny: rl.denyOnFail,
              ...(rl.requestTimeout ? { timeout: duration(rl.requestTimeout) } : {}),
              rateLimitService: { grpcService: { envoyGrpc: { clusterName: p.clusters.rateLimit, authority: p.hosts.rateLimit } }, transportApiVersion: 'V3' },
            }),
          },
          perRoute: ANY(`${T.ratelimit}.RateLimitPerRoute`),
        });
      }
      return uses;
    }
    case 'ExtAuthPolicy': {
      const cfg = c as ExtAuthConfig;
      if (!p.extAuth || !p.clusters.extAuth) return [];
      const ea = p.extAuth;
      return [{
        filter: {
          name: `envoy.filters.http.ext_authz.${ea.server.replace('/', '.')}`,
          slot: 'ext_authz',
          priority: 0,
          typedConfig: ANY(`${T.extAuthz}.ExtAuthz`, {
            grpcService: { envoyGrpc: { clusterName: p.clusters.extAuth, authority: p.hosts.extAuth }, timeout: duration(ea.requestTimeout ?? '2s') },
            transportApiVersion: 'V3',
            failureModeAllow: ea.failureModeAllow,
            // ExtAuthServer requestBody: the server sees (up to) this much of the body.
            ...(ea.requestBody ? { withRequestBody: { maxRequestBytes: ea.requestBody.maxRequestBytes ?? 4096, allowPartialMessage: ea.requestBody.allowPartialMessage ?? false } } : {}),
          }),
        },
        // The route's identity travels to the server so one server can tell routes apart.
        perRoute: ANY(`${T.extAuthz}.ExtAuthzPerRoute`, {
          // glooAuth: meshplane's ext-auth server looks its config up by the policy's key.
          checkSettings: { contextExtensions: { 'meshplane.route': `${context.table}/${context.route}`, 'meshplane.route_id': routeId, ...(ea.glooAuth ? { [EXT_AUTH_CONFIG_KEY]: p.key } : {}), ...(cfg.customAuth?.contextExtensions ?? {}) } },
        }),
      }];
    }
    default:
      return [];
  }
}

/** Rate limit stages tie route actions to the filter instance of their phase. */
export const rateLimitStage = (phase: 'preAuthz' | 'postAuthz'): number => (phase === 'preAuthz' ? 0 : 1);

/** Two uses of one filter instance on a listener: JWT instances merge their providers. */
export function mergeFilter(a: FilterInstance, b: FilterInstance): FilterInstance {
  // The same filter again (one per route using a policy): nothing to merge, no copy.
  if (a.slot !== 'jwt') return b.priority >= a.priority ? a : { ...a, priority: b.priority };
  const ca = a.typedConfig as { providers: object; requirementMap: object };
  const cb = b.typedConfig as { providers: object; requirementMap: object };
  return {
    ...a,
    priority: Math.min(a.priority, b.priority),
    typedConfig: { ...ca, providers: { ...ca.providers, ...cb.providers }, requirementMap: { ...ca.requirementMap, ...cb.requirementMap } },
  };
}
