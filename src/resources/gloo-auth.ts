// ExtAuthPolicy `config.glooAuth`: Gloo's built-in auth kinds, in Gloo's
// shape, evaluated by meshplane's own ext-auth server (`meshplane ext-auth`,
// docs/policies.md "Gloo's built-in auth"). Kinds upstream pieces cannot serve
// are refused with UNSUPPORTED and the reason.
import { z } from 'zod';
import { unsupportedField } from './unsupported.js';

const duration = z.string().regex(/^\d+(\.\d+)?(ms|s|m|h)$/, 'must be a duration such as 250ms, 5s, 1m');
const ref = z.strictObject({ name: z.string().min(1), namespace: z.string().optional(), cluster: z.string().optional() });
export type GlooAuthRef = z.infer<typeof ref>;
const labels = z.record(z.string(), z.string());
/** An HTTP header name (RFC 7230 token), as Envoy will accept it in a header mutation. */
const headerName = z.string().regex(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/, 'must be an HTTP header name');
const headerFromMetadata = z.record(headerName, z.strictObject({ name: z.string().min(1), required: z.boolean().optional() }));

const apiKeyAuth = z
  .strictObject({
    /** The request header carrying the key (Gloo's default: api-key). */
    headerName: headerName.default('api-key'),
    /** Request header -> the Secret entry whose value it gets; a required entry that is missing denies. */
    headersFromMetadataEntry: headerFromMetadata.optional(),
    /** Older name of headersFromMetadataEntry. */
    headersFromMetadata: headerFromMetadata.optional(),
    k8sSecretApikeyStorage: z.strictObject({ labelSelector: labels.optional(), apiKeySecretRefs: z.array(ref).optional() }).optional(),
    /** Older place of k8sSecretApikeyStorage.labelSelector / apiKeySecretRefs. */
    labelSelector: labels.optional(),
    apiKeySecretRefs: z.array(ref).optional(),
    skipMetadataValidation: z.boolean().optional(),
    aerospikeApikeyStorage: unsupportedField('apiKeyAuth.aerospikeApikeyStorage: meshplane reads API keys from Kubernetes Secrets only').optional(),
  })
  .refine((a) => a.k8sSecretApikeyStorage || a.labelSelector || a.apiKeySecretRefs, { message: 'set k8sSecretApikeyStorage (labelSelector and/or apiKeySecretRefs): the Secrets holding the keys' });
export type ApiKeyAuth = z.infer<typeof apiKeyAuth>;

const opaAuth = z.strictObject({
  /** ConfigMaps whose data entries are Rego modules. */
  modules: z.array(ref).min(1),
  /** Allowed when the query has exactly one result whose one expression is true (OPA's Allowed()). */
  query: z.string().min(1),
  options: z.strictObject({ fastInputConversion: z.boolean().optional(), returnDecisionReason: unsupportedField('opaAuth.options.returnDecisionReason: decision reasons are not returned').optional() }).optional(),
});
export type OpaAuth = z.infer<typeof opaAuth>;

const claimsToHeaders = z.array(z.strictObject({ claim: z.string().min(1), header: headerName, append: z.boolean().optional() }));
const cookieOptions = z.strictObject({
  maxAge: z.number().int().min(0).optional(),
  notSecure: z.boolean().optional(),
  httpOnly: z.boolean().optional(),
  path: z.string().optional(),
  domain: z.string().optional(),
  sameSite: z.enum(['DefaultMode', 'LaxMode', 'StrictMode', 'NoneMode']).optional(),
});
const oidcAuthorizationCode = z.strictObject({
  /** Where the app is served (scheme://host[:port]); the callback is appUrl + callbackPath. */
  appUrl: z.string().min(1),
  callbackPath: z.string().startsWith('/').default('/oauth-gloo-callback'),
  clientId: z.string().min(1),
  clientSecretRef: ref.optional(),
  disableClientSecret: z.boolean().optional(),
  /** The provider's issuer; its /.well-known/openid-configuration is read by the ext-auth server. */
  issuerUrl: z.string().min(1),
  scopes: z.array(z.string().min(1)).optional(),
  authEndpointQueryParams: z.record(z.string(), z.string()).optional(),
  tokenEndpointQueryParams: z.record(z.string(), z.string()).optional(),
  logoutPath: z.string().startsWith('/').optional(),
  afterLogoutUrl: z.string().optional(),
  session: z
    .strictObject({
      failOnFetchFailure: z.boolean().optional(),
      cookieOptions: cookieOptions.optional(),
      cookie: z.strictObject({ keyPrefix: z.string().optional(), allowRefreshing: z.boolean().optional(), targetDomain: z.string().optional() }).optional(),
      redis: z
        .strictObject({
          cookieName: z.string().min(1).optional(),
          keyPrefix: z.string().optional(),
          allowRefreshing: z.boolean().optional(),
          options: z.strictObject({ host: z.string().min(1), db: z.number().int().min(0).optional(), poolSize: z.number().int().optional(), socketType: z.enum(['tcp']).optional() }),
          preExpiryBuffer: duration.optional(),
          targetDomain: z.string().optional(),
          headerName: unsupportedField('session.redis.headerName: sessions travel in a cookie').optional(),
        })
        .optional(),
      cipherConfig: unsupportedField('session.cipherConfig: session cookies are opaque ids (redis) or signed by the server; no separate cipher key is read').optional(),
    })
    .refine((s) => !(s.cookie && s.redis), { message: 'set one of cookie or redis' })
    .optional(),
  headers: z.strictObject({ idTokenHeader: headerName.optional(), accessTokenHeader: headerName.optional(), useBearerSchemaForAuthorization: z.boolean().optional() }).optional(),
  identityToken: z.strictObject({ claimsToHeaders: claimsToHeaders.optional() }).optional(),
  accessToken: z.strictObject({ claimsToHeaders: claimsToHeaders.optional() }).optional(),
  parseCallbackPathAsRegex: unsupportedField('parseCallbackPathAsRegex: the callback is an exact path').optional(),
  discoveryOverride: unsupportedField('discoveryOverride: endpoints come from the issuer\'s discovery document').optional(),
  autoMapFromMetadata: unsupportedField('autoMapFromMetadata is not implemented').optional(),
  azure: unsupportedField('azure (Microsoft Graph group claims) is not implemented').optional(),
  clientAuthentication: unsupportedField('clientAuthentication (private_key_jwt): use clientSecretRef').optional(),
  frontChannelLogout: unsupportedField('frontChannelLogout is not implemented').optional(),
});
export type OidcAuthorizationCode = z.infer<typeof oidcAuthorizationCode>;

const passThroughAuth = z
  .strictObject({
    /** Another envoy.service.auth.v3.Authorization server that decides. */
    grpc: z.strictObject({ address: z.string().min(1), connectionTimeout: duration.optional(), retryPolicy: z.record(z.string(), z.unknown()).optional(), tlsConfig: unsupportedField('passThroughAuth.grpc.tlsConfig: the pass-through call is plain gRPC').optional() }).optional(),
    http: unsupportedField('passThroughAuth.http: only grpc pass-through is implemented').optional(),
    /** Passed to the other server as check_request.attributes.metadata_context filter_metadata["solo.auth.passthrough.config"]. */
    config: z.record(z.string(), z.unknown()).optional(),
    failureModeAllow: z.boolean().optional(),
  })
  .refine((p) => p.grpc, { message: 'set grpc (the address of the auth server to pass the request to)' });
export type PassThroughAuth = z.infer<typeof passThroughAuth>;

const UNSUPPORTED_KINDS = {
  jwt: 'glooAuth jwt: verify JWTs in the proxy with a JWTPolicy (Envoy\'s jwt_authn), which meshplane supports',
  basicAuth: 'glooAuth basicAuth (APR1/SHA1 password lists) is not implemented',
  ldap: 'glooAuth ldap is not implemented',
  ldapInternal: 'glooAuth ldap is not implemented',
  hmacAuth: 'glooAuth hmacAuth is not implemented',
  opaServerAuth: 'glooAuth opaServerAuth (an OPA server of your own): use opaAuth with the modules in ConfigMaps',
  pluginAuth: 'glooAuth pluginAuth loads Go plugins into Gloo\'s server; meshplane\'s ext-auth server has no plugin ABI',
  oauth: 'glooAuth oauth (the deprecated form): use oauth2.oidcAuthorizationCode',
  portalAuth: 'glooAuth portalAuth belongs to the Gloo developer portal, which meshplane does not include',
} as const;

const authStep = z
  .strictObject({
    name: z.string().optional(),
    apiKeyAuth: apiKeyAuth.optional(),
    opaAuth: opaAuth.optional(),
    oauth2: z
      .strictObject({
        oidcAuthorizationCode: oidcAuthorizationCode.optional(),
        accessTokenValidation: unsupportedField('oauth2.accessTokenValidation: validate access tokens that are JWTs with a JWTPolicy; introspection is not implemented').optional(),
        oauth2: unsupportedField('oauth2.oauth2 (plain OAuth2 without OIDC) is not implemented: use oidcAuthorizationCode').optional(),
      })
      .refine((o) => o.oidcAuthorizationCode, { message: 'set oidcAuthorizationCode' })
      .optional(),
    passThroughAuth: passThroughAuth.optional(),
    ...Object.fromEntries(Object.entries(UNSUPPORTED_KINDS).map(([k, why]) => [k, unsupportedField(why).optional()])),
  })
  .refine((s) => [s.apiKeyAuth, s.opaAuth, s.oauth2, s.passThroughAuth].filter(Boolean).length === 1 || Object.keys(UNSUPPORTED_KINDS).some((k) => k in s), {
    message: 'set exactly one auth kind: apiKeyAuth, opaAuth, oauth2 or passThroughAuth',
  });

export const glooAuth = z.strictObject({
  /** Run in order; all must allow (the first that denies answers the request). */
  configs: z.array(authStep).min(1).max(16),
  booleanExpr: unsupportedField('glooAuth.booleanExpr: steps are combined with AND, in order').optional(),
  /** Answer 401 instead of redirecting to the provider's login page. */
  failOnRedirect: z.boolean().optional(),
});
export type GlooAuth = z.infer<typeof glooAuth>;
export type GlooAuthStep = GlooAuth['configs'][number];
