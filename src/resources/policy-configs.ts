// The `spec.config` schema of each policy kind (strict: unknown fields are
// reported). Shapes follow Gloo Platform v2 where meshplane can honour them;
// docs/policies.md lists every field and what it becomes in Envoy.
import { z } from 'zod';
import { rateLimitsRaw } from './rate-limit-configs.js';
import { glooAuth } from './gloo-auth.js';
import { injaTemplate } from './inja.js';
import { unsupportedField } from './unsupported.js';

const duration = z.string().regex(/^\d+(\.\d+)?(ms|s|m|h)$/, 'must be a duration such as 250ms, 5s, 1m');
const percentage = z.number().min(0).max(100);
const objectRef = z.strictObject({ name: z.string().min(1), namespace: z.string().optional(), cluster: z.string().optional() });
const destination = z.strictObject({
  ref: objectRef,
  kind: z.enum(['SERVICE', 'VIRTUAL_DESTINATION', 'EXTERNAL_SERVICE']).optional(),
  port: z.strictObject({ number: z.number().int().min(1).max(65535).optional(), name: z.string().optional() }).optional(),
});
export type PolicyDestination = z.infer<typeof destination>;
const stringMatch = z
  .strictObject({ exact: z.string().optional(), prefix: z.string().optional(), suffix: z.string().optional(), regex: z.string().optional(), ignoreCase: z.boolean().optional() })
  .refine((m) => [m.exact, m.prefix, m.suffix, m.regex].filter((x) => x !== undefined).length === 1, { message: 'set exactly one of exact, prefix, suffix, regex' });
export type StringMatch = z.infer<typeof stringMatch>;
const phase = z
  .strictObject({
    preAuthz: z.strictObject({ priority: z.number().int().optional() }).optional(),
    postAuthz: z.strictObject({ priority: z.number().int().optional() }).optional(),
  })
  .refine((p) => !(p.preAuthz && p.postAuthz), { message: 'set one of preAuthz or postAuthz' })
  .optional();

export const retryTimeoutConfig = z.strictObject({
  requestTimeout: duration.optional(),
  retries: z
    .strictObject({
      attempts: z.number().int().min(0).max(100),
      perTryTimeout: duration.optional(),
      retryOn: z.string().optional(), // Envoy retry_on list, e.g. "5xx,reset"
      retryBackOff: duration.optional(),
    })
    .optional(),
});

export const faultInjectionConfig = z
  .strictObject({
    delay: z.strictObject({ fixedDelay: duration, percentage: percentage.default(100) }).optional(),
    abort: z.strictObject({ httpStatus: z.number().int().min(200).max(599), percentage: percentage.default(100) }).optional(),
  })
  .refine((c) => c.delay || c.abort, { message: 'set delay and/or abort' });

const headerMap = z.record(z.string().min(1), z.string());
export const headerManipulationConfig = z.strictObject({
  appendRequestHeaders: headerMap.optional(),
  removeRequestHeaders: z.array(z.string().min(1)).optional(),
  appendResponseHeaders: headerMap.optional(),
  removeResponseHeaders: z.array(z.string().min(1)).optional(),
});

export const corsConfig = z.strictObject({
  allowOrigins: z.array(stringMatch).min(1),
  allowMethods: z.array(z.string()).optional(),
  allowHeaders: z.array(z.string()).optional(),
  exposeHeaders: z.array(z.string()).optional(),
  maxAge: duration.optional(),
  allowCredentials: z.boolean().optional(),
});

export const csrfConfig = z.strictObject({
  filterEnabled: z.boolean().default(true),
  shadowEnabled: z.boolean().optional(),
  percentage: percentage.optional(),
  additionalOrigins: z.array(stringMatch).optional(),
});

export const mirrorConfig = z.strictObject({
  destination,
  percentage: percentage.default(100),
});

export const extAuthConfig = z
  .strictObject({
    server: objectRef, // an ExtAuthServer
    customAuth: z.strictObject({ contextExtensions: z.record(z.string(), z.string()).optional() }).optional(),
    // Gloo's built-in kinds, evaluated by meshplane's ext-auth server (src/extauth) behind the ExtAuthServer.
    glooAuth: glooAuth.optional(),
  })
  .refine((c) => !(c.customAuth && c.glooAuth), { message: 'set one of customAuth (your own ext-auth server decides) or glooAuth (meshplane ext-auth decides), not both' });

const jwtProvider = z
  .strictObject({
    issuer: z.string().optional(),
    audiences: z.array(z.string()).optional(),
    local: z.strictObject({ inline: z.string().min(1) }).optional(),
    remote: z
      .strictObject({
        url: z.string().url(),
        destinationRef: destination,
        cacheDuration: duration.optional(),
        /** Fetch the JWKS when the listener starts, not on the first request (Envoy's async_fetch). */
        enableAsyncFetch: z.boolean().optional(),
      })
      .optional(),
    claimsToHeaders: z.array(z.strictObject({ claim: z.string().min(1), header: z.string().min(1) })).optional(),
    keepToken: z.boolean().optional(),
    tokenSource: z
      .strictObject({
        // Gloo names the header `name`; meshplane's first shape called it `header`.
        headers: z
          .array(z.strictObject({ name: z.string().min(1).optional(), header: z.string().min(1).optional(), prefix: z.string().optional() }).refine((h) => !!h.name !== !!h.header, { message: 'set name (the header to read the token from)' }))
          .optional(),
        queryParams: z.array(z.string()).optional(),
      })
      .optional(),
  })
  .refine((p) => (p.local ? 1 : 0) + (p.remote ? 1 : 0) === 1, { message: 'set exactly one of local or remote (the JWKS)' });
export const jwtConfig = z.strictObject({
  phase,
  providers: z.record(z.string().regex(/^[a-zA-Z0-9_-]+$/), jwtProvider).refine((p) => Object.keys(p).length > 0, { message: 'at least one provider' }),
  /** Each claim must have one of the values (`*` is a wildcard), e.g. {key: email, values: ["*@example.com"]}. */
  claims: z.array(z.strictObject({ key: z.string().min(1), values: z.array(z.string()).min(1) })).optional(),
  /** Every scope must be in the token's space-separated `scope` claim. */
  requiredScopes: z.array(z.string().min(1)).optional(),
});

const transformation = z
  .strictObject({
    /** Header name -> value; Envoy substitution format (e.g. %REQ(x-user)%). Set, replacing any earlier value. */
    setHeaders: headerMap.optional(),
    removeHeaders: z.array(z.string()).optional(),
    /** JSON body built from a format template; MERGE merges it into the original JSON body. */
    jsonBody: z.strictObject({ template: z.record(z.string(), z.unknown()), action: z.enum(['MERGE', 'REPLACE']).default('MERGE') }).optional(),
    /** Gloo's Inja template, mapped onto Envoy's transform, header_to_metadata and Lua filters. */
    injaTemplate: injaTemplate.optional(),
    xsltTransformation: unsupportedField('XSLT needs an XSLT processor in the proxy; upstream Envoy has none (Gloo ships its own filter)').optional(),
  })
  .refine((t) => !(t.injaTemplate && (t.setHeaders || t.removeHeaders || t.jsonBody)), { message: 'set injaTemplate or setHeaders/removeHeaders/jsonBody, not both' });
export const transformationConfig = z.strictObject({
  phase,
  request: transformation.optional(),
  response: transformation.optional(),
});

export const rateLimitConfig = z
  .strictObject({
    phase,
    /** Global limits through the rate-limit service. */
    serverSettings: objectRef.optional(), // RateLimitServerSettings
    ratelimitClientConfig: objectRef.optional(), // RateLimitClientConfig
    ratelimitServerConfig: objectRef.optional(), // RateLimitServerConfig
    /** The client config inline (Gloo's `config.raw`), instead of ratelimitClientConfig. */
    raw: rateLimitsRaw.optional(),
    /** Local limits in Envoy (token bucket). */
    local: z.strictObject({ tokenBucket: z.strictObject({ maxTokens: z.number().int().min(1), tokensPerFill: z.number().int().min(1).optional(), fillInterval: duration }) }).optional(),
  })
  .refine((c) => c.local || (c.serverSettings && c.ratelimitServerConfig && (c.ratelimitClientConfig || c.raw)), {
    message: 'set local, or serverSettings + ratelimitServerConfig + the actions (ratelimitClientConfig or raw)',
  })
  .refine((c) => !(c.ratelimitClientConfig && c.raw), { message: 'set one of ratelimitClientConfig or raw, not both' });

export const outlierDetectionConfig = z.strictObject({
  consecutiveErrors: z.number().int().min(1).default(5),
  interval: duration.default('10s'),
  baseEjectionTime: duration.default('30s'),
  maxEjectionPercent: percentage.default(100),
});

export const connectionConfig = z.strictObject({
  tcp: z
    .strictObject({
      maxConnections: z.number().int().min(1).optional(),
      connectTimeout: duration.optional(),
      tcpKeepalive: z.strictObject({ probes: z.number().int().optional(), time: duration.optional(), interval: duration.optional() }).optional(),
    })
    .optional(),
  http: z
    .strictObject({
      http1MaxPendingRequests: z.number().int().min(1).optional(),
      http2MaxRequests: z.number().int().min(1).optional(),
      maxRequestsPerConnection: z.number().int().min(1).optional(),
      maxRetries: z.number().int().min(0).optional(),
      idleTimeout: duration.optional(),
    })
    .optional(),
});

export const loadBalancerConfig = z
  .strictObject({
    simple: z.enum(['ROUND_ROBIN', 'LEAST_REQUEST', 'RANDOM']).optional(),
    consistentHash: z
      .strictObject({
        httpHeaderName: z.string().optional(),
        httpCookie: z.strictObject({ name: z.string(), ttl: duration.optional(), path: z.string().optional() }).optional(),
        useSourceIp: z.boolean().optional(),
        httpQueryParameterName: z.string().optional(),
        minimumRingSize: z.number().int().optional(),
      })
      .refine((c) => [c.httpHeaderName, c.httpCookie, c.useSourceIp, c.httpQueryParameterName].filter(Boolean).length === 1, { message: 'set exactly one hash key' })
      .optional(),
  })
  .refine((c) => !!c.simple !== !!c.consistentHash, { message: 'set one of simple or consistentHash' });

// Envoy's core.v3.HealthCheck, in the fields Gloo passes through (camelCase).
const httpHealthCheck = z.strictObject({
  path: z.string().startsWith('/'),
  host: z.string().optional(),
  expectedStatuses: z.array(z.strictObject({ start: z.number().int(), end: z.number().int() })).optional(),
  retriableStatuses: z.array(z.strictObject({ start: z.number().int(), end: z.number().int() })).optional(),
  requestHeadersToRemove: z.array(z.string()).optional(),
  codecClientType: z.enum(['HTTP1', 'HTTP2', 'HTTP3']).optional(),
});
export const activeHealthCheckConfig = z.strictObject({
  healthCheck: z
    .strictObject({
      timeout: duration.default('1s'),
      interval: duration.default('5s'),
      initialJitter: duration.optional(),
      intervalJitter: duration.optional(),
      intervalJitterPercent: z.number().int().min(0).max(100).optional(),
      unhealthyThreshold: z.number().int().min(1).default(2),
      healthyThreshold: z.number().int().min(1).default(1),
      reuseConnection: z.boolean().optional(),
      /** Default: the policy's interval (Envoy's own default is 60s without traffic). */
      noTrafficInterval: duration.optional(),
      noTrafficHealthyInterval: duration.optional(),
      unhealthyInterval: duration.optional(),
      unhealthyEdgeInterval: duration.optional(),
      healthyEdgeInterval: duration.optional(),
      alwaysLogHealthCheckFailures: z.boolean().optional(),
      alwaysLogHealthCheckSuccess: z.boolean().optional(),
      httpHealthCheck: httpHealthCheck.optional(),
      tcpHealthCheck: z.strictObject({ send: z.strictObject({ text: z.string() }).optional(), receive: z.array(z.strictObject({ text: z.string() })).optional() }).optional(),
      grpcHealthCheck: z.strictObject({ serviceName: z.string().optional(), authority: z.string().optional() }).optional(),
    })
    .refine((h) => [h.httpHealthCheck, h.tcpHealthCheck, h.grpcHealthCheck].filter(Boolean).length === 1, { message: 'set exactly one of httpHealthCheck, tcpHealthCheck, grpcHealthCheck' }),
  /** Only these gateways run the check (default: every proxy that uses the destination). */
  virtualGateways: z.array(objectRef).optional(),
});

export const failoverConfig = z.strictObject({
  localityMappings: z
    .array(z.strictObject({ from: z.strictObject({ region: z.string().optional(), zone: z.string().optional() }), to: z.array(z.strictObject({ region: z.string().optional(), zone: z.string().optional() })).min(1) }))
    .default([]), // no mappings: Envoy's default balancing over every locality
});

export const accessLogConfig = z.strictObject({
  /** Envoy substitution format; default is Envoy's default access log format. */
  format: z.string().optional(),
  filter: z
    .strictObject({
      statusCodeMatcher: z.strictObject({ comparison: z.enum(['EQ', 'GE', 'LE']), value: z.number().int() }).optional(),
      headerMatcher: z.strictObject({ name: z.string(), value: z.string().optional() }).optional(),
    })
    .optional(),
});

// AccessPolicy (Gloo v2 shape): enforced by the destination's sidecar as Envoy RBAC (docs/mesh.md).
const k8sNamePattern = z
  .string()
  .min(1)
  .regex(/^[a-z0-9*]([-a-z0-9.*]*[a-z0-9*])?$/, 'must be a Kubernetes name, optionally with * globs');
const serviceAccountSelector = z.strictObject({
  name: k8sNamePattern.optional(),
  namespace: k8sNamePattern.optional(),
  cluster: z.string().min(1).optional(),
  workspace: z.string().min(1).optional(),
  labels: z.record(z.string(), z.string()).optional(),
});
const cidr = z.string().refine((v) => isCidr(v), { message: 'must be an IPv4 or IPv6 address or CIDR block, e.g. 10.0.0.0/8' });
/** Istio-style path: exact, "/prefix*", "*suffix", or "*". */
const accessPath = z
  .string()
  .min(1)
  .refine((p) => !p.slice(1, -1).includes('*'), { message: 'a * may only start (suffix match) or end (prefix match) the path' });
const accessHeader = z
  .strictObject({ name: z.string().min(1), values: z.array(z.string()).optional(), notValues: z.array(z.string()).optional() })
  .refine((h) => (h.values?.length ?? 0) + (h.notValues?.length ?? 0) > 0, { message: 'set values and/or notValues' });
const authz = z.strictObject({
  allowedClients: z.array(z.strictObject({ serviceAccountSelector })).optional(),
  allowedIpBlocks: z.array(cidr).optional(),
  allowedPaths: z.array(accessPath).optional(),
  allowedMethods: z.array(z.string().regex(/^[A-Z]+$/, 'must be an HTTP method in capitals, e.g. GET')).optional(),
  match: z.strictObject({ request: z.strictObject({ headers: z.array(accessHeader).optional() }).optional() }).optional(),
});
export type AccessAuthz = z.infer<typeof authz>;
export const accessPolicyConfig = z.strictObject({
  authn: z.strictObject({ tlsMode: z.enum(['STRICT', 'PERMISSIVE', 'DISABLE']) }).optional(),
  authz: authz.optional(),
  authzList: z.array(authz).optional(),
  enforcementLayers: z.strictObject({ mesh: z.boolean().optional(), cni: z.boolean().optional() }).optional(),
});
export type AccessPolicyConfig = z.infer<typeof accessPolicyConfig>;

function isCidr(v: string): boolean {
  const [addr, bits, ...rest] = v.split('/');
  if (rest.length) return false;
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(addr);
  if (v4) return v4.slice(1).every((o) => Number(o) <= 255) && (bits === undefined || (/^\d+$/.test(bits) && Number(bits) <= 32));
  return /^[0-9a-fA-F:]+$/.test(addr) && addr.includes(':') && (bits === undefined || (/^\d+$/.test(bits) && Number(bits) <= 128));
}

/** Kinds that upstream Envoy cannot enforce: accepted by the schema, then rejected with UNSUPPORTED. */
export const UNSUPPORTED_KINDS: Record<string, string> = {
  DLPPolicy: 'upstream Envoy has no data-loss-prevention filter (Gloo implements DLP in its own Envoy build); meshplane will not pretend to mask data it cannot mask',
  WAFPolicy: 'upstream Envoy has no ModSecurity/WAF filter (Gloo ships one in its own Envoy build); meshplane will not pretend to block attacks it cannot see',
};

export const POLICY_CONFIGS: Record<string, z.ZodType> = {
  RetryTimeoutPolicy: retryTimeoutConfig,
  FaultInjectionPolicy: faultInjectionConfig,
  HeaderManipulationPolicy: headerManipulationConfig,
  CORSPolicy: corsConfig,
  CSRFPolicy: csrfConfig,
  MirrorPolicy: mirrorConfig,
  ExtAuthPolicy: extAuthConfig,
  JWTPolicy: jwtConfig,
  TransformationPolicy: transformationConfig,
  RateLimitPolicy: rateLimitConfig,
  OutlierDetectionPolicy: outlierDetectionConfig,
  ConnectionPolicy: connectionConfig,
  LoadBalancerPolicy: loadBalancerConfig,
  ActiveHealthCheckPolicy: activeHealthCheckConfig,
  FailoverPolicy: failoverConfig,
  AccessLogPolicy: accessLogConfig,
  AccessPolicy: accessPolicyConfig,
  DLPPolicy: z.record(z.string(), z.unknown()),
  WAFPolicy: z.record(z.string(), z.unknown()),
};

export type RetryTimeoutConfig = z.infer<typeof retryTimeoutConfig>;
export type FaultInjectionConfig = z.infer<typeof faultInjectionConfig>;
export type HeaderManipulationConfig = z.infer<typeof headerManipulationConfig>;
export type CorsConfig = z.infer<typeof corsConfig>;
export type CsrfConfig = z.infer<typeof csrfConfig>;
export type MirrorConfig = z.infer<typeof mirrorConfig>;
export type ExtAuthConfig = z.infer<typeof extAuthConfig>;
export type JwtConfig = z.infer<typeof jwtConfig>;
export type TransformationConfig = z.infer<typeof transformationConfig>;
export type RateLimitConfig = z.infer<typeof rateLimitConfig>;
export type OutlierDetectionConfig = z.infer<typeof outlierDetectionConfig>;
export type ConnectionConfig = z.infer<typeof connectionConfig>;
export type LoadBalancerConfig = z.infer<typeof loadBalancerConfig>;
export type ActiveHealthCheckConfig = z.infer<typeof activeHealthCheckConfig>;
export type FailoverConfig = z.infer<typeof failoverConfig>;
export type AccessLogConfig = z.infer<typeof accessLogConfig>;
