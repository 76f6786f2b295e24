// ExternalService and egress fields (issue 13): client-side TLS origination,
// egress gateway routes, an egress listener's exposedExternalServices, and the
// outbound traffic policy of a workspace. docs/mesh.md ("Egress") explains them.
import { z } from 'zod';

const MAX = 253;

/**
 * `ports[].clientsideTls`: the proxy (sidecar or egress gateway) originates
 * TLS to the external endpoint. `{}` as in Gloo's examples; the settings use
 * the names of Istio's ClientTLSSettings, which Gloo's is translated to.
 * Other keys are kept and reported as not applied.
 */
export const clientsideTls = z
  .object({
    /** SNI to send; default: the ExternalService's first host. */
    sni: z.string().min(1).max(MAX).optional(),
    /** Names the server certificate must carry; default: the SNI. */
    subjectAltNames: z.array(z.string().min(1).max(MAX)).optional(),
    /** A Secret in the ExternalService's namespace: ca.crt (the CA to verify with) and/or tls.crt + tls.key (a client certificate). */
    credentialName: z.string().min(1).max(MAX).optional(),
    /** Do not verify the server certificate (testing only). */
    insecureSkipVerify: z.boolean().optional(),
  })
  .catchall(z.unknown());
export type ClientsideTls = z.infer<typeof clientsideTls>;
export const CLIENTSIDE_TLS_FIELDS = new Set(['sni', 'subjectAltNames', 'credentialName', 'insecureSkipVerify']);

const gatewayRef = z.strictObject({ name: z.string().min(1).max(MAX), namespace: z.string().min(1).max(63).optional(), cluster: z.string().max(MAX).optional() });

/** `ports[].egressGatewayRoutes`: sidecars send this port's traffic through an egress gateway (over mesh mTLS). */
export const egressGatewayRoutes = z.strictObject({
  /** The port the app calls (e.g. 80 for http://host while the gateway originates TLS to 443); default: the port's number. */
  portMatch: z.number().int().min(1).max(65535).optional(),
  virtualGatewayRefs: z.array(gatewayRef).min(1),
});
export type EgressGatewayRoutes = z.infer<typeof egressGatewayRoutes>;

/** A listener's `exposedExternalServices[]`: which ExternalServices an egress listener serves, by host and/or as an object selector. */
export const exposedExternalService = z.strictObject({
  host: z.string().min(1).max(MAX).optional(),
  name: z.string().max(MAX).optional(),
  namespace: z.string().max(MAX).optional(),
  cluster: z.string().max(MAX).optional(),
  workspace: z.string().max(MAX).optional(),
  labels: z.record(z.string(), z.string()).optional(),
});
export type ExposedExternalService = z.infer<typeof exposedExternalService>;

/** WorkspaceSettings `options.outboundTrafficPolicy` (Istio's field name): what the workspace's sidecars do with hosts they do not know. */
export const outboundTrafficPolicy = z.strictObject({ mode: z.enum(['ALLOW_ANY', 'REGISTRY_ONLY']) });
export type OutboundMode = z.infer<typeof outboundTrafficPolicy>['mode'];
