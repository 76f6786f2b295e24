// One zod schema per resource kind: it is both the TypeScript type and the
// runtime validation. Objects are strict so unknown fields are reported with
// their path instead of being dropped silently.
import { z } from 'zod';
import { POLICY_CONFIGS } from './policy-configs.js';
import { rateLimitClientConfigSpec, rateLimitServerConfigSpec } from './rate-limit-configs.js';
import { UNSUPPORTED_GLOO_KINDS, unsupportedField } from './unsupported.js';
import { listenerAppProtocol, listenerPort, listenerTls, secretBody, type SecretBody } from './gateway-listeners.js';
import { clientsideTls, egressGatewayRoutes, exposedExternalService, outboundTrafficPolicy } from './egress.js';

// Kubernetes' own limits (apimachinery validation): names are DNS subdomains
// (253), namespaces DNS labels (63), label keys an optional DNS-subdomain
// prefix and a 63-character name, label values 63 characters. Lengths are
// checked before any pattern, so a huge string costs one comparison.
export const NAME_MAX = 253;
export const NAMESPACE_MAX = 63;
export const LABEL_VALUE_MAX = 63;
const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const labelKeyProblem = (k: string): string | undefined => {
  const slash = k.indexOf('/');
  const prefix = slash >= 0 ? k.slice(0, slash) : '';
  const name = slash >= 0 ? k.slice(slash + 1) : k;
  if (prefix.length > NAME_MAX || (slash >= 0 && !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(prefix))) return `label key "${k.slice(0, 80)}": the prefix must be a DNS subdomain of at most ${NAME_MAX} characters`;
  if (name.length === 0 || name.length > 63 || !LABEL_NAME.test(name)) return `label key "${k.slice(0, 80)}": the name must be 1-63 alphanumeric characters, '-', '_' or '.', starting and ending alphanumeric`;
  return undefined;
};
const labels = z.record(z.string(), z.string()).superRefine((m, ctx) => {
  for (const [k, v] of Object.entries(m)) {
    const bad = labelKeyProblem(k);
    if (bad) ctx.addIssue({ code: 'custom', path: [k], message: bad });
    else if (v.length > LABEL_VALUE_MAX || (v.length > 0 && !LABEL_NAME.test(v))) {
      ctx.addIssue({ code: 'custom', path: [k], message: `label value must be at most ${LABEL_VALUE_MAX} alphanumeric characters, '-', '_' or '.', starting and ending alphanumeric` });
    }
  }
});
/** A name or a `*` glob over names, as long as the longest name it can match. */
const namePattern = z.string().max(NAME_MAX, `must be at most ${NAME_MAX} characters (the Kubernetes name limit)`);
const duration = z
  .string()
  .regex(/^\d+(\.\d+)?(ms|s|m|h)$/, 'must be a duration such as 250ms, 5s, 1m');

export const metadataSchema = z.strictObject({
  name: z.string().min(1).max(NAME_MAX, `must be at most ${NAME_MAX} characters (the Kubernetes name limit)`).regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'must be a lowercase RFC 1123 name'),
  namespace: z.string().min(1).max(NAMESPACE_MAX, `must be at most ${NAMESPACE_MAX} characters (a Kubernetes namespace is a DNS label)`).regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a lowercase RFC 1123 label').optional(),
  labels: labels.optional(),
  annotations: z.record(z.string(), z.string()).optional(),
  creationTimestamp: z.string().datetime({ offset: true }).optional(),
  uid: z.string().optional(),
  resourceVersion: z.string().optional(),
  generation: z.number().optional(),
});

// ---- shared pieces -------------------------------------------------------

const objectSelector = z.strictObject({
  name: namePattern.optional(),
  namespace: namePattern.optional(),
  cluster: namePattern.optional(),
  workspace: namePattern.optional(),
  labels: labels.optional(),
});
export type ObjectSelector = z.infer<typeof objectSelector>;

const portSelector = z.strictObject({ number: z.number().int().min(1).max(65535).optional(), name: z.string().optional() });

const destinationKind = z.enum(['SERVICE', 'VIRTUAL_DESTINATION', 'EXTERNAL_SERVICE']);
export type DestinationKind = z.infer<typeof destinationKind>;

const destinationRef = z.strictObject({
  ref: z.strictObject({ name: z.string().min(1), namespace: z.string().optional(), cluster: z.string().optional() }),
  kind: destinationKind.optional(),
  port: portSelector.optional(),
  weight: z.number().int().min(0).optional(),
  subset: labels.optional(),
});
export type DestinationRef = z.infer<typeof destinationRef>;
/** A route's destination: a reference, or Gloo's awsLambda (refused). */
const routeDestination = destinationRef
  .extend({
    ref: destinationRef.shape.ref.optional(),
    awsLambda: unsupportedField('AWS Lambda destinations need Gloo\'s CloudProvider credential exchange and Lambda discovery, which meshplane does not implement').optional(),
  })
  .superRefine((d, ctx) => {
    if (!d.ref && d.awsLambda === undefined) ctx.addIssue({ code: 'custom', path: ['ref'], message: 'required: the destination to forward to' });
  })
  .transform((d) => d as DestinationRef);

// ---- admin.gloo.solo.io/v2 ------------------------------------------------

const workspaceSpec = z.strictObject({
  workloadClusters: z
    .array(
      z.strictObject({
        name: namePattern.default('*'),
        namespaces: z
          .array(z.strictObject({ name: namePattern.optional(), labels: labels.optional() }))
          .default([{ name: '*' }]),
        configEnabled: z.boolean().optional(),
      }),
    )
    .default([]),
});

const workspaceRefSelector = z.strictObject({ name: namePattern.optional(), selector: labels.optional() });
const sharedKind = z.enum(['ALL', 'ROUTE_TABLE', 'SERVICE', 'VIRTUAL_DESTINATION', 'EXTERNAL_SERVICE']);
export type SharedKind = z.infer<typeof sharedKind>;
const resourceFilter = z.strictObject({
  kind: sharedKind.default('ALL'),
  labels: labels.optional(),
  name: namePattern.optional(),
  namespace: namePattern.optional(),
});
const sharingRule = z.strictObject({
  workspaces: z.array(workspaceRefSelector).min(1),
  resources: z.array(resourceFilter).optional(),
});
export type SharingRule = z.infer<typeof sharingRule>;

// Gloo v2 WorkspaceSettings options. serviceIsolation is meshplane's (mesh mode,
// docs/mesh.md); the others are accepted in their Gloo shape and not used yet.
const workspaceOptions = z.strictObject({
  serviceIsolation: z.strictObject({ enabled: z.boolean().default(false), trimProxyConfig: z.boolean().optional() }).optional(),
  federation: z.record(z.string(), z.unknown()).optional(),
  eastWestGateways: z.array(z.record(z.string(), z.unknown())).optional(),
  virtualDestClientMode: z.record(z.string(), z.unknown()).optional(),
  /** Sidecars of the workspace: ALLOW_ANY passes unknown hosts through, REGISTRY_ONLY refuses them (docs/mesh.md, "Egress"). */
  outboundTrafficPolicy: outboundTrafficPolicy.optional(),
});
export type WorkspaceOptions = z.infer<typeof workspaceOptions>;

const workspaceSettingsSpec = z.strictObject({
  importFrom: z.array(sharingRule).default([]),
  exportTo: z.array(sharingRule).default([]),
  options: workspaceOptions.optional(),
});

const extAuthServerSpec = z.strictObject({
  destinationServer: destinationRef.omit({ weight: true, subset: true }),
  requestTimeout: duration.optional(),
  failureModeAllow: z.boolean().optional(),
  requestBody: z.strictObject({ maxRequestBytes: z.number().int().optional(), allowPartialMessage: z.boolean().optional() }).optional(),
});

const rateLimitServerSettingsSpec = z.strictObject({
  destinationServer: destinationRef.omit({ weight: true, subset: true }),
  requestTimeout: duration.optional(),
  denyOnFail: z.boolean().optional(),
  domain: z.string().optional(),
});
const looseConfig = z.record(z.string(), z.unknown());

// ---- networking.gloo.solo.io/v2 -------------------------------------------

const virtualGatewaySpec = z.strictObject({
  // Unknown selector keys (e.g. `istio: ingressgateway` one level too high) are kept for the core to report and ignore.
  workloads: z.array(z.strictObject({ selector: objectSelector.catchall(z.unknown()).optional() })).default([]),
  listeners: z
    .array(
      z.strictObject({
        port: listenerPort,
        http: z.strictObject({}).optional(),
        tls: listenerTls.optional(),
        httpsRedirect: z.boolean().optional(),
        appProtocol: listenerAppProtocol.optional(),
        /** An egress listener: the ExternalServices it serves to sidecars over mesh mTLS (docs/mesh.md, "Egress"). */
        exposedExternalServices: z.array(exposedExternalService).min(1).optional(),
        allowedRouteTables: z.array(z.strictObject({ host: namePattern.optional(), selector: objectSelector.optional() })).optional(),
      }),
    )
    .min(1),
});

const uriMatch = z
  .strictObject({
    prefix: z.string().optional(),
    exact: z.string().optional(),
    regex: z.string().optional(),
    ignoreCase: z.boolean().optional(),
  })
  .refine((u) => [u.prefix, u.exact, u.regex].filter((x) => x !== undefined).length <= 1, {
    message: 'set at most one of prefix, exact, regex',
  });
const headerMatch = z.strictObject({
  name: z.string().min(1),
  value: z.string().optional(),
  regex: z.boolean().optional(),
  invertMatch: z.boolean().optional(),
});
const httpMatcher = z.strictObject({
  uri: uriMatch.optional(),
  headers: z.array(headerMatch).optional(),
  queryParameters: z.array(z.strictObject({ name: z.string(), value: z.string().optional(), regex: z.boolean().optional() })).optional(),
  method: z.enum(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH']).optional(),
});
export type HttpMatcher = z.infer<typeof httpMatcher>;

const redirectCodes = ['MOVED_PERMANENTLY', 'FOUND', 'SEE_OTHER', 'TEMPORARY_REDIRECT', 'PERMANENT_REDIRECT'] as const;
const httpRoute = z
  .strictObject({
    /** Optional as in Gloo; an unnamed route is called by its position, e.g. "http[0]". */
    name: z.string().min(1).optional(),
    labels: labels.optional(),
    matchers: z.array(httpMatcher).optional(),
    forwardTo: z
      .strictObject({
        /** Optional: the table's defaultDestination is used when there are none. */
        destinations: z.array(routeDestination).min(1).optional(),
        pathRewrite: z.string().optional(),
        hostRewrite: z.string().optional(),
      })
      .optional(),
    directResponse: z.strictObject({ status: z.number().int().min(200).max(599), body: z.string().optional() }).optional(),
    redirect: z
      .strictObject({
        hostRedirect: z.string().optional(),
        pathRedirect: z.string().optional(),
        httpsRedirect: z.boolean().optional(),
        responseCode: z.enum(redirectCodes).optional(),
      })
      .optional(),
    delegate: z
      .strictObject({
        routeTables: z.array(objectSelector).min(1),
        sortMethod: z.enum(['TABLE_WEIGHT', 'ROUTE_SPECIFICITY']).optional(),
      })
      .optional(),
  })
  .refine((r) => [r.forwardTo, r.directResponse, r.redirect, r.delegate].filter(Boolean).length === 1, {
    message: 'a route needs exactly one action: forwardTo, directResponse, redirect or delegate',
  });
type HttpRouteInput = z.infer<typeof httpRoute>;
/** After the table filled in names and default destinations. */
export type HttpRoute = Omit<HttpRouteInput, 'name' | 'forwardTo'> & {
  name: string;
  forwardTo?: Omit<NonNullable<HttpRouteInput['forwardTo']>, 'destinations'> & { destinations: DestinationRef[] };
};

const routeTableSpec = z
  .strictObject({
    hosts: z.array(z.string().min(1).max(NAME_MAX, `must be at most ${NAME_MAX} characters (a DNS name)`)).optional(),
    virtualGateways: z.array(z.strictObject({ name: z.string(), namespace: z.string().optional(), cluster: z.string().optional() })).optional(),
    workloadSelectors: z.array(z.strictObject({ selector: objectSelector.optional(), kind: z.string().optional() })).optional(),
    weight: z.number().int().optional(),
    defaultDestination: destinationRef.optional(),
    http: z.array(httpRoute).default([]),
    /** Developer-portal metadata: accepted and ignored (the core says so in the table's status). */
    portalMetadata: looseConfig.optional(),
  })
  .superRefine((spec, ctx) => {
    spec.http.forEach((r, i) => {
      if (r.forwardTo && !r.forwardTo.destinations && !spec.defaultDestination) {
        ctx.addIssue({ code: 'custom', path: ['http', i, 'forwardTo', 'destinations'], message: 'required, or set the table\'s defaultDestination' });
      }
    });
  })
  .transform((spec) => ({
    ...spec,
    http: spec.http.map((r, i): HttpRoute => {
      const { name, forwardTo, ...rest } = r;
      return { ...rest, name: name ?? `http[${i}]`, ...(forwardTo ? { forwardTo: { ...forwardTo, destinations: forwardTo.destinations ?? [spec.defaultDestination!] } } : {}) };
    }),
  }));
export type RouteTableSpec = z.infer<typeof routeTableSpec>;

const virtualDestinationSpec = z.strictObject({
  hosts: z.array(z.string()).min(1),
  services: z.array(objectSelector).default([]),
  ports: z.array(z.strictObject({ number: z.number().int(), protocol: z.string().optional(), targetPort: z.strictObject({ number: z.number().int().optional(), name: z.string().optional() }).optional() })).min(1),
});

const externalServiceSpec = z.strictObject({
  hosts: z.array(z.string()).default([]),
  addresses: z.array(z.string()).default([]),
  ports: z
    .array(
      z.strictObject({
        name: z.string().optional(),
        number: z.number().int().min(1).max(65535),
        protocol: z.enum(['HTTP', 'HTTPS', 'HTTP2', 'GRPC', 'TCP', 'TLS']).default('HTTP'),
        /** The port of the endpoints (ExternalEndpoints' port by name or number); default: this port's number. */
        targetPort: portSelector.optional(),
        clientsideTls: clientsideTls.optional(),
        egressGatewayRoutes: egressGatewayRoutes.optional(),
      }),
    )
    .min(1),
  selector: labels.optional(),
  /** Names the server certificate must carry when TLS is originated (Gloo's field; clientsideTls.subjectAltNames wins). */
  subjectAltNames: z.array(z.string().min(1).max(NAME_MAX)).optional(),
});

const externalEndpointSpec = z.strictObject({
  address: z.string().min(1),
  ports: z.array(z.strictObject({ name: z.string().optional(), number: z.number().int() })).min(1),
});

// ---- policies -------------------------------------------------------------

const policySpec = z.strictObject({
  applyToRoutes: z.array(z.strictObject({ route: objectSelector.optional() })).optional(),
  applyToDestinations: z
    .array(z.strictObject({ selector: objectSelector.optional(), kind: destinationKind.optional(), port: portSelector.optional() }))
    .optional(),
  applyToWorkloads: z.array(z.strictObject({ selector: objectSelector.optional() })).optional(),
  applyToListeners: z.array(z.strictObject({ virtualGateway: objectSelector.optional(), port: portSelector.optional() })).optional(),
  config: looseConfig.default({}),
});
export type PolicySpec = z.infer<typeof policySpec>;
/** The policy envelope with the kind's own strict config schema. */
const policySpecFor = (kind: string) => policySpec.extend({ config: (POLICY_CONFIGS[kind] as z.ZodType<Record<string, unknown>>).default({} as never) });

// ---- Kubernetes core ------------------------------------------------------

const serviceSpec = z
  .object({
    ports: z
      .array(
        z
          .object({
            name: z.string().optional(),
            port: z.number().int().min(1).max(65535),
            targetPort: z.union([z.number().int(), z.string()]).optional(),
            protocol: z.string().optional(),
            appProtocol: z.string().optional(),
          })
          .passthrough(),
      )
      .min(1),
    selector: labels.optional(),
  })
  .passthrough(); // Kubernetes owns this schema: its other fields are not ours to judge

const endpointSliceBody = z
  .object({
    addressType: z.enum(['IPv4', 'IPv6', 'FQDN']),
    endpoints: z
      .array(
        z
          .object({
            addresses: z.array(z.string()).min(1),
            conditions: z.object({ ready: z.boolean().optional() }).passthrough().optional(),
            targetRef: z.object({ kind: z.string().optional(), name: z.string(), namespace: z.string().optional() }).passthrough().optional(),
            zone: z.string().optional(),
            nodeName: z.string().optional(),
          })
          .passthrough(),
      )
      .default([]),
    ports: z.array(z.object({ name: z.string().optional(), port: z.number().int(), protocol: z.string().optional() }).passthrough()).default([]),
  })
  .passthrough();

const configMapBody = z
  .object({
    data: z.record(z.string(), z.string()).optional(),
    binaryData: z.record(z.string(), z.string()).optional(),
    immutable: z.boolean().optional(),
  })
  .passthrough();

// ---- the kind table -------------------------------------------------------

interface KindDef {
  group: string; // apiVersion
  /** Other apiVersions Gloo has used for the kind; read as `group`. */
  altGroups?: readonly string[];
  spec?: z.ZodType;
  /** EndpointSlice keeps its fields at the top level. */
  body?: z.ZodType;
  clusterScoped?: boolean;
  policy?: 'route' | 'destination' | 'workload' | 'listener' | 'mixed';
}

const ADMIN = 'admin.gloo.solo.io/v2';
const NET = 'networking.gloo.solo.io/v2';
const SEC = 'security.policy.gloo.solo.io/v2';
const TRAFFIC = 'trafficcontrol.policy.gloo.solo.io/v2';
const RES = 'resilience.policy.gloo.solo.io/v2';
const OBS = 'observability.policy.gloo.solo.io/v2';

export const KINDS = {
  Workspace: { group: ADMIN, spec: workspaceSpec },
  WorkspaceSettings: { group: ADMIN, spec: workspaceSettingsSpec },
  ExtAuthServer: { group: ADMIN, spec: extAuthServerSpec },
  RateLimitServerConfig: { group: ADMIN, spec: rateLimitServerConfigSpec },
  RateLimitServerSettings: { group: ADMIN, spec: rateLimitServerSettingsSpec },
  // Gloo's API reference puts it in trafficcontrol; meshplane read it from admin before, so both work.
  RateLimitClientConfig: { group: TRAFFIC, altGroups: [ADMIN], spec: rateLimitClientConfigSpec },
  VirtualGateway: { group: NET, spec: virtualGatewaySpec },
  RouteTable: { group: NET, spec: routeTableSpec },
  VirtualDestination: { group: NET, spec: virtualDestinationSpec },
  ExternalService: { group: NET, spec: externalServiceSpec },
  ExternalEndpoint: { group: NET, spec: externalEndpointSpec },
  AccessPolicy: { group: SEC, spec: policySpecFor('AccessPolicy') },
  ExtAuthPolicy: { group: SEC, spec: policySpecFor('ExtAuthPolicy') },
  JWTPolicy: { group: SEC, spec: policySpecFor('JWTPolicy') },
  CORSPolicy: { group: SEC, spec: policySpecFor('CORSPolicy') },
  CSRFPolicy: { group: SEC, spec: policySpecFor('CSRFPolicy') },
  DLPPolicy: { group: SEC, spec: policySpecFor('DLPPolicy') },
  WAFPolicy: { group: SEC, spec: policySpecFor('WAFPolicy') },
  HeaderManipulationPolicy: { group: TRAFFIC, spec: policySpecFor('HeaderManipulationPolicy') },
  TransformationPolicy: { group: TRAFFIC, spec: policySpecFor('TransformationPolicy') },
  RateLimitPolicy: { group: TRAFFIC, spec: policySpecFor('RateLimitPolicy') },
  MirrorPolicy: { group: TRAFFIC, spec: policySpecFor('MirrorPolicy') },
  LoadBalancerPolicy: { group: TRAFFIC, spec: policySpecFor('LoadBalancerPolicy') },
  RetryTimeoutPolicy: { group: RES, spec: policySpecFor('RetryTimeoutPolicy') },
  FaultInjectionPolicy: { group: RES, spec: policySpecFor('FaultInjectionPolicy') },
  OutlierDetectionPolicy: { group: RES, spec: policySpecFor('OutlierDetectionPolicy') },
  FailoverPolicy: { group: RES, spec: policySpecFor('FailoverPolicy') },
  ConnectionPolicy: { group: RES, spec: policySpecFor('ConnectionPolicy') },
  ActiveHealthCheckPolicy: { group: RES, spec: policySpecFor('ActiveHealthCheckPolicy') },
  AccessLogPolicy: { group: OBS, spec: policySpecFor('AccessLogPolicy') },
  Namespace: { group: 'v1', clusterScoped: true },
  Service: { group: 'v1', spec: serviceSpec },
  Pod: { group: 'v1' },
  ServiceAccount: { group: 'v1' },
  EndpointSlice: { group: 'discovery.k8s.io/v1', body: endpointSliceBody },
  // TLS listeners read type kubernetes.io/tls; key material never reaches status, logs or explain.
  Secret: { group: 'v1', body: secretBody },
  // ExtAuthPolicy glooAuth opaAuth reads its Rego modules from ConfigMaps (one module per data entry).
  ConfigMap: { group: 'v1', body: configMapBody },
} satisfies Record<string, KindDef>;

export type Kind = keyof typeof KINDS;
export const POLICY_KINDS = [
  'AccessPolicy', 'ExtAuthPolicy', 'JWTPolicy', 'CORSPolicy', 'CSRFPolicy', 'DLPPolicy', 'WAFPolicy',
  'HeaderManipulationPolicy', 'TransformationPolicy', 'RateLimitPolicy', 'MirrorPolicy', 'LoadBalancerPolicy',
  'RetryTimeoutPolicy', 'FaultInjectionPolicy', 'OutlierDetectionPolicy', 'FailoverPolicy', 'ConnectionPolicy',
  'ActiveHealthCheckPolicy', 'AccessLogPolicy',
] as const satisfies readonly Kind[];
export type PolicyKind = (typeof POLICY_KINDS)[number];
export const isPolicyKind = (k: string): k is PolicyKind => (POLICY_KINDS as readonly string[]).includes(k);

export type Metadata = z.infer<typeof metadataSchema> & { namespace: string; labels: Record<string, string> };

/** Where a resource came from, so errors can point at it. */
export interface SourceRef {
  file: string;
  document: number; // 0-based index of the YAML document in the file
  /** 1-based line where the document starts, when the source knows it. */
  line?: number;
}

export interface Resource<K extends Kind = Kind, S = unknown> {
  apiVersion: string;
  kind: K;
  metadata: Metadata;
  spec: S;
  source?: SourceRef;
  /**
   * The cluster the resource lives in, stamped by its source (a Kubernetes
   * context's cluster name, or the cluster name of a config directory);
   * undefined means the core's default cluster (settings.clusterName).
   */
  cluster?: string;
  /** For EndpointSlice and other top-level-body kinds. */
  body?: Record<string, unknown>;
}

export type WorkspaceR = Resource<'Workspace', z.infer<typeof workspaceSpec>>;
export type WorkspaceSettingsR = Resource<'WorkspaceSettings', z.infer<typeof workspaceSettingsSpec>>;
export type VirtualGatewayR = Resource<'VirtualGateway', z.infer<typeof virtualGatewaySpec>>;
export type RouteTableR = Resource<'RouteTable', RouteTableSpec>;
export type VirtualDestinationR = Resource<'VirtualDestination', z.infer<typeof virtualDestinationSpec>>;
export type ExternalServiceR = Resource<'ExternalService', z.infer<typeof externalServiceSpec>>;
export type ExternalEndpointR = Resource<'ExternalEndpoint', z.infer<typeof externalEndpointSpec>>;
export type ServiceR = Resource<'Service', z.infer<typeof serviceSpec>>;
export type EndpointSliceR = Resource<'EndpointSlice', undefined> & { body: z.infer<typeof endpointSliceBody> };
export type NamespaceR = Resource<'Namespace', unknown>;
export type PodR = Resource<'Pod', unknown>;
export type ServiceAccountR = Resource<'ServiceAccount', unknown>;
export type SecretR = Resource<'Secret', undefined> & { body: SecretBody };
export type ConfigMapR = Resource<'ConfigMap', undefined> & { body: z.infer<typeof configMapBody> };
export type PolicyR = Resource<PolicyKind, PolicySpec>;
export type ExtAuthServerR = Resource<'ExtAuthServer', z.infer<typeof extAuthServerSpec>>;

export interface ValidationProblem {
  path: string; // e.g. spec.http[0].matchers[1].uri
  message: string;
}

export type ValidationResult =
  | { ok: true; resource: Resource }
  | { ok: false; kind?: string; name?: string; namespace?: string; problems: ValidationProblem[] };

export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out || '(root)';
}

function zodProblems(err: z.ZodError, prefix: string[]): ValidationProblem[] {
  const out: ValidationProblem[] = [];
  for (const issue of err.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) out.push({ path: formatPath([...prefix, ...issue.path, key]), message: 'unknown field' });
    } else {
      out.push({ path: formatPath([...prefix, ...issue.path]), message: issue.message });
    }
  }
  return out;
}

/** Validates one parsed YAML document into a typed resource. Never throws. */
export function validateResource(doc: unknown, defaultNamespace = 'default'): ValidationResult {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    return { ok: false, problems: [{ path: '(root)', message: 'a resource must be a YAML mapping' }] };
  }
  const raw = doc as Record<string, unknown>;
  const kind = typeof raw.kind === 'string' ? raw.kind : undefined;
  const md = raw.metadata as Record<string, unknown> | undefined;
  const name = typeof md?.name === 'string' ? md.name : undefined;
  const namespace = typeof md?.namespace === 'string' ? md.namespace : undefined;
  const fail = (problems: ValidationProblem[]): ValidationResult => ({ ok: false, kind, name, namespace, problems });

  if (!kind) return fail([{ path: 'kind', message: 'required' }]);
  const def = (KINDS as Record<string, KindDef>)[kind];
  const refused = UNSUPPORTED_GLOO_KINDS[kind];
  if (!def && refused) return fail([{ path: 'kind', message: `UNSUPPORTED: kind ${kind} (${refused[0]}): ${refused[1]}` }]);
  if (!def) return fail([{ path: 'kind', message: `unknown kind "${kind}"; known kinds: ${Object.keys(KINDS).join(', ')}` }]);
  if (raw.apiVersion !== def.group && !def.altGroups?.includes(raw.apiVersion as string)) {
    return fail([{ path: 'apiVersion', message: `${kind} needs apiVersion "${def.group}", got ${JSON.stringify(raw.apiVersion)}` }]);
  }
  const problems: ValidationProblem[] = [];
  // Kubernetes-owned kinds carry status, uid, ownerReferences...: only check what we read.
  const kubeOwned = def.group === 'v1' || def.group === 'discovery.k8s.io/v1';
  const mdSchema = kubeOwned ? metadataSchema.passthrough() : metadataSchema;
  const mdParsed = mdSchema.safeParse(md ?? {});
  if (!mdParsed.success) problems.push(...zodProblems(mdParsed.error, ['metadata']));

  let spec: unknown = undefined;
  let body: Record<string, unknown> | undefined;
  if (def.body) {
    const { apiVersion: _a, kind: _k, metadata: _m, ...rest } = raw;
    const parsed = def.body.safeParse(rest);
    if (!parsed.success) problems.push(...zodProblems(parsed.error, []));
    else body = parsed.data as Record<string, unknown>;
  } else if (def.spec) {
    const parsed = def.spec.safeParse(raw.spec ?? {});
    if (!parsed.success) problems.push(...zodProblems(parsed.error, ['spec']));
    else spec = parsed.data;
  } else {
    spec = raw.spec ?? {};
  }
  if (!kubeOwned) {
    for (const key of Object.keys(raw)) {
      if (!['apiVersion', 'kind', 'metadata', 'spec', 'status'].includes(key)) problems.push({ path: key, message: 'unknown field' });
    }
  }
  if (problems.length > 0) return fail(problems);
  const m = mdParsed.data!;
  const metadata: Metadata = {
    ...m,
    namespace: def.clusterScoped ? '' : (m.namespace ?? defaultNamespace),
    labels: m.labels ?? {},
  };
  return { ok: true, resource: { apiVersion: def.group, kind: kind as Kind, metadata, spec, ...(body ? { body } : {}) } };
}

/** `@<cluster>` for a resource of a cluster other than the default one (the core clears `cluster` for the default). */
export const clusterSuffix = (cluster: string | undefined): string => (cluster ? `@${cluster}` : '');
export const resourceKey = (r: { kind: string; metadata: { namespace: string; name: string }; cluster?: string }): string =>
  `${r.kind}/${r.metadata.namespace}/${r.metadata.name}${clusterSuffix(r.cluster)}`;
export const nsName = (r: { metadata: { namespace: string; name: string }; cluster?: string }): string => `${r.metadata.namespace}/${r.metadata.name}${clusterSuffix(r.cluster)}`;
