// The intermediate representation: the contract between core/ and translate/.
// Plain JSON-serialisable data; `meshplane explain` prints a view of it.
import type { DestinationKind, HttpMatcher, PolicyKind } from '../resources/schema.js';
import type { GlooAuthIR } from './ext-auth.js';

export type StatusState = 'ACCEPTED' | 'WARNING' | 'INVALID';

export interface ResourceStatus {
  state: StatusState;
  messages: string[];
  counters?: Record<string, number>;
  /** Serving only (never from the core): the connected proxies whose config is built from this resource. */
  proxies?: ProxyRollout;
}

/** Of the connected proxies that should have a resource: how many run its current version. */
export interface ProxyRollout {
  connected: number;
  /** ACKed a config that includes the resource's current version. */
  acked: number;
  /** Rejected config built from it (and keep their last accepted version). */
  rejecting: number;
  /** Not answered yet (at most 5 named; the counts say how many). */
  pending?: string[];
  /** Which rejected it, with Envoy's error (at most 5). */
  rejections?: Array<{ proxy: string; message: string }>;
}

export interface PolicyRef {
  kind: PolicyKind;
  namespace: string;
  name: string;
  workspace: string;
}

/** Why a policy that could have applied did not (explain answers with one of these). */
export type SkipReason =
  | 'conflict' // an older policy of the same kind won (winner)
  | 'phase' // TransformationPolicy: an older one of the same phase won (winner, phase)
  | 'workspace-not-on-chain' // the policy's workspace sees the route but is not on its delegation chain
  | 'labels' // the route's effective labels differ (labels: key, wanted, actual, who set it)
  | 'not-imported' // the policy's workspace does not see the route or destination (missing export/import)
  | 'client-server-table' // semantics §6: this side's policies do not apply for this owner/consumer pair
  | 'gate' // a feature gate decides (VirtualDestinationWorkspacePolicyOverride)
  | 'invalid-route'; // policies attach only to valid routes

export interface SkippedPolicy extends PolicyRef {
  reason: SkipReason;
  /** The same in words, for people. */
  message: string;
  winner?: PolicyRef;
  phase?: 'preAuthz' | 'postAuthz';
  labels?: Array<{ key: string; want: string; have?: string; setBy?: string }>;
  missing?: string[];
}

export interface ChainLink {
  table: string; // ns/name
  route: string;
  /** Position of the route in its table (names may repeat). */
  index: number;
}

/** A backend the translator turns into one Envoy cluster. */
export interface Backend {
  /** Envoy cluster name; stable and unique per (destination, port, subset). */
  cluster: string;
  kind: DestinationKind;
  namespace: string;
  name: string;
  port: number;
  /** Workload label subset (from workloadSelectors); empty = every endpoint. */
  subset: Record<string, string>;
  endpoints: Array<{ address: string; port: number; zone?: string; region?: string; ready: boolean }>;
  /** STATIC for IP endpoints; STRICT_DNS for hostnames (external services); ORIGINAL_DST: where the app dialled (a sidecar's ExternalService addresses). */
  discovery: 'EDS' | 'STRICT_DNS' | 'ORIGINAL_DST';
  /** Per-kind config from client-side destination policies. */
  clientPolicies: PolicyRef[];
  protocol: 'HTTP' | 'HTTP2' | 'HTTPS';
  /** Host name for :authority / Host where Envoy would otherwise use the cluster name. */
  host: string;
  /** The Kubernetes cluster of the destination resource; undefined = the default cluster. */
  resourceCluster?: string;
  /** TLS the proxy originates to the endpoints (ExternalService HTTPS/TLS ports, clientsideTls); absent: none, or the backend's own HTTPS default. */
  originate?: OriginationIR;
}

/** TLS origination to an external endpoint (issue 13). */
export interface OriginationIR {
  sni?: string;
  /** Names (DNS SANs) the server certificate must carry; empty: not checked. */
  subjectAltNames: string[];
  /** SDS secret with the CA to verify with; absent: the system trust bundle (SYSTEM_CA_BUNDLE). */
  caSecret?: string;
  /** SDS secret with a client certificate and key. */
  clientCertSecret?: string;
  insecureSkipVerify?: boolean;
}

export type RouteAction =
  | { type: 'forward'; destinations: Array<{ cluster: string; weight: number }>; pathRewrite?: string; hostRewrite?: string }
  | { type: 'directResponse'; status: number; body?: string }
  | { type: 'redirect'; hostRedirect?: string; pathRedirect?: string; httpsRedirect?: boolean; responseCode?: string };

export interface FinalRoute {
  /** Unique, stable: gateway|table|route|chain digest. */
  id: string;
  gateway: string | null;
  hosts: string[];
  table: string;
  route: string;
  path: ChainLink[];
  workspace: string;
  rootWorkspace: string;
  chainWorkspaces: string[];
  labels: Record<string, string>;
  /** Each entry is one alternative; a request matches the route if any entry matches. */
  matchers: HttpMatcher[];
  action: RouteAction;
  valid: boolean;
  errors: string[];
  policies: PolicyRef[];
  skipped: SkippedPolicy[];
  workloadSelector?: Record<string, string>;
  /** Set when a feature gate replaced the action (e.g. gatewayDefaultDenyAllHTTPRequests). */
  denied?: string;
  /** Position in the flattened table order, used to order Envoy routes. */
  order: number;
}

export interface VirtualHostIR {
  name: string;
  domains: string[];
  routes: FinalRoute[];
}

export interface ListenerIR {
  /** `<ns>/<gateway>:<port>`, with `#<n>` for the n-th further listener entry on the same port. */
  name: string;
  port: number;
  virtualHosts: VirtualHostIR[];
  policies: PolicyRef[];
  /** TLS termination with certificates served over SDS. */
  tls?: ListenerTlsIR;
  /** SNI names this listener entry answers (a filter chain match); absent = any. */
  serverNames?: string[];
  /** Every request is answered with a redirect to https. */
  httpsRedirect?: boolean;
  /** An egress listener (exposedExternalServices): route id -> the server-side policies (AccessPolicy) its route enforces. */
  egress?: Record<string, PolicyRef[]>;
  /** HTTP codec from appProtocol; absent = auto (HTTP/1.1 and HTTP/2). */
  codec?: 'HTTP1' | 'HTTP2';
}

export interface ListenerTlsIR {
  /** SDS secret with the certificate chain and key. */
  certificateSecret: string;
  /** SDS secret with the CA that signs client certificates (MUTUAL). */
  validationSecret?: string;
  requireClientCertificate: boolean;
  /** ISTIO_MUTUAL: the gateway's mesh certificate and trust bundle over SDS; peers need a SPIFFE ID of this trust domain. */
  mesh?: { trustDomain: string };
  minimumProtocolVersion?: string;
  maximumProtocolVersion?: string;
  cipherSuites?: string[];
  ecdhCurves?: string[];
}

/**
 * Key material for SDS. JSON (explain, /debug/ir) shows "[redacted]"; only
 * translate reads `pem`.
 */
export class SecretMaterial {
  constructor(readonly pem: string) {}
  toJSON(): string {
    return '[redacted]';
  }
}

/** An SDS secret: a certificate and key, or a validation CA. */
export interface SecretIR {
  /** The Kubernetes Secret it comes from (Secret/ns/name). */
  source: string;
  certificateChain?: SecretMaterial;
  privateKey?: SecretMaterial;
  trustedCa?: SecretMaterial;
}

export interface GatewayIR {
  /** ns/name of the VirtualGateway: also the proxy's snapshot key. */
  ref: string;
  workspace: string;
  listeners: ListenerIR[];
}

export interface DestinationIR {
  kind: DestinationKind;
  namespace: string;
  name: string;
  /** The cluster of the destination resource; undefined = the default cluster. */
  cluster?: string;
  owner: string;
  consumer: string;
  clientPolicies: PolicyRef[];
  serverPolicies: PolicyRef[];
}

/** One attached policy as translation sees it. */
export interface PolicyIR extends PolicyRef {
  key: string; // Kind/ns/name
  config: Record<string, unknown>;
  phase: 'preAuthz' | 'postAuthz';
  priority: number;
  /** Envoy clusters the config points at, by role: mirror, extAuth, rateLimit, jwks:<provider>. */
  clusters: Record<string, string>;
  /** The host name (authority) of each of those clusters' destinations, by the same roles. */
  hosts: Record<string, string>;
  /** Unresolvable references; security kinds then fail closed. */
  errors: string[];
  extAuth?: { server: string; requestTimeout?: string; failureModeAllow: boolean; requestBody?: { maxRequestBytes?: number; allowPartialMessage?: boolean }; glooAuth?: GlooAuthIR };
  rateLimit?: { settings: string; domain: string; requestTimeout?: string; denyOnFail: boolean; actions: unknown[]; descriptors: unknown[] };
  /** AccessPolicy: its allow rules with clients resolved to SPIFFE principals. */
  access?: AccessIR;
}

// ---- mesh mode: the workload (sidecar) side of the IR ---------------------

export type TlsMode = 'STRICT' | 'PERMISSIVE' | 'DISABLE';

/** A match on a peer's SPIFFE ID (the URI SAN of its certificate). */
export type PrincipalMatch = { exact: string } | { prefix: string } | { regex: string } | { none: true };

export interface AccessRuleIR {
  /** null: any client. Otherwise the peer must match one of these. */
  principals: PrincipalMatch[] | null;
  ipBlocks: string[];
  paths: string[];
  methods: string[];
  headers: Array<{ name: string; values: string[]; notValues: string[] }>;
}

export interface AccessIR {
  tlsMode?: TlsMode;
  /** Allow rules (OR'ed); null for an authn-only policy, which does not restrict callers. */
  rules: AccessRuleIR[] | null;
}

/** One port of the workload that a Service (or a VirtualDestination through one) sends traffic to. */
export interface InboundPortIR {
  /** The port the app listens on inside the workload (the Service's targetPort). */
  port: number;
  protocol: 'HTTP' | 'HTTP2';
  /** "Service ns/name:port" and "VirtualDestination ns/name:port" that reach this port. */
  destinations: string[];
  tlsMode: TlsMode;
  /** Server-side policies enforced here (AccessPolicy), merged into one allow-list. */
  policies: PolicyRef[];
  /** Service isolation: only these peers may call (null = isolation off). */
  isolation: PrincipalMatch[] | null;
}

/** A destination the workload's workspace may reach, as its sidecar routes to it. */
export interface OutboundServiceIR {
  kind: DestinationKind;
  namespace: string;
  name: string;
  port: number;
  cluster: string;
  /** Host names the app may use (FQDN, short forms, cluster IP); a VD's hosts. */
  domains: string[];
  /** Client-side policies of the workload's workspace (§6) that act on the default route. */
  policies: PolicyRef[];
  /** ExternalService ports only: how the sidecar takes the app's traffic (`port` is the port the app calls). */
  external?: OutboundExternalIR;
  /** ExternalService ports reached directly: the workspace's AccessPolicies on it, which the caller's own sidecar enforces (§6). */
  access?: PolicyRef[];
}

/** A sidecar's way to one ExternalService port (issue 13). */
export interface OutboundExternalIR {
  /** The ExternalService's own port number (the one the cluster is for). */
  servicePort: number;
  /** http: routed by host on the port's HTTP chain; tcp: every connection to the port (or to the addresses); tls: the app's TLS, passed through by SNI. */
  transport: 'http' | 'tcp' | 'tls';
  /** The addresses (IPs and CIDRs, as CIDRs): connections to them are this ExternalService's, whatever the host. */
  cidrs: string[];
  /** The cluster for connections to the addresses, when the addresses are the endpoints (ORIGINAL_DST). */
  addressCluster?: string;
  /** The egress gateway (ns/name) that carries this port's traffic, from egressGatewayRoutes. */
  egressGateway?: string;
}

/** What a sidecar does with hosts and addresses its workspace does not know. */
export type OutboundModeIR = 'ALLOW_ANY' | 'REGISTRY_ONLY';

export interface OutboundIR {
  workspace: string;
  services: OutboundServiceIR[];
  /** Sidecar-served route tables (no virtualGateways) owned or imported by the workspace: FinalRoute ids. */
  routes: string[];
  /** Unknown hosts: passed through (ALLOW_ANY, the default) or refused (REGISTRY_ONLY). */
  mode?: OutboundModeIR;
}

export interface WorkloadIR {
  /** "ns/name" of the Pod: the sidecar's snapshot key is sidecar:<ref>. */
  ref: string;
  namespace: string;
  name: string;
  workspace: string;
  serviceAccount: string;
  /** spiffe://<trust domain>/ns/<namespace>/sa/<service account> */
  spiffeId: string;
  labels: Record<string, string>;
  inbound: InboundPortIR[];
  outbound: OutboundIR;
  /** Workload-scoped policies in force here (AccessLogPolicy, applyToWorkloads AccessPolicy), for explain. */
  policies: PolicyRef[];
  /** Why policies that name this workload are not enforced by it. */
  notEnforced: Array<PolicyRef & { reason: string }>;
  /** The Pod's topology.kubernetes.io/region and zone labels: external endpoints of its locality come first. */
  locality?: { region?: string; zone?: string };
}

/** Upstream mTLS for a cluster: which endpoints run a sidecar and which identities they may present. */
export interface UpstreamTlsIR {
  meshedEndpoints: string[]; // "address:port"
  principals: string[];
}

export interface MeshIR {
  trustDomain: string;
  workloads: WorkloadIR[];
  /** By cluster name: every backend with meshed endpoints (sidecars' and gateways'). */
  upstreamTls: Record<string, UpstreamTlsIR>;
  /** Gateways in the mesh: VirtualGateway "ns/name" -> the SPIFFE ID it presents to meshed destinations. */
  gateways: Record<string, string>;
}

export interface IR {
  /** Mesh mode: sidecar workloads (absent when no Pod runs a sidecar). */
  mesh?: MeshIR;
  gateways: GatewayIR[];
  routes: FinalRoute[];
  destinations: DestinationIR[];
  backends: Backend[];
  /** Every attached policy by "Kind/ns/name", for the translator. */
  policies: Record<string, PolicyIR>;
  /** Every namespace a workspace owns (`ns`, or `ns@cluster` outside the default cluster) -> that workspace (tenant-scoped views, explain). */
  namespaces: Record<string, string>;
  /** SDS secrets by name, for the gateways' TLS listeners. */
  secrets?: Record<string, SecretIR>;
}

export interface CoreResult {
  ir: IR;
  status: Record<string, ResourceStatus>;
}
