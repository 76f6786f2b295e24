// Gloo Platform v2 kinds and fields that upstream Envoy has no equivalent for.
// They are recognised (so the message says why, not "unknown kind") and refused
// with `UNSUPPORTED: <what>: <why>`; docs/gloo-compatibility.md lists them all.
import { z } from 'zod';

export const UNSUPPORTED = 'UNSUPPORTED';

/** Kind -> [apiVersion group, why]. */
export const UNSUPPORTED_GLOO_KINDS: Record<string, [string, string]> = {
  CloudProvider: ['infrastructure.gloo.solo.io/v2', 'AWS Lambda integration (CloudProvider and awsLambda destinations) needs Gloo\'s Lambda discovery and credential exchange, which meshplane does not implement'],
  Portal: ['apimanagement.gloo.solo.io/v2', 'the developer portal is a Gloo server of its own (portal server, UI, API keys by usage plan), not Envoy configuration'],
  PortalGroup: ['apimanagement.gloo.solo.io/v2', 'the developer portal is a Gloo server of its own, not Envoy configuration'],
  ApiDoc: ['apimanagement.gloo.solo.io/v2', 'API docs feed the Gloo developer portal, which meshplane does not include'],
  ApiSchemaDiscovery: ['apimanagement.gloo.solo.io/v2', 'API schema discovery feeds the Gloo developer portal, which meshplane does not include'],
  GraphQLSchema: ['apimanagement.gloo.solo.io/v2', 'GraphQL resolution runs in Gloo\'s own Envoy filter; upstream Envoy has none'],
  GraphQLStitchedSchema: ['apimanagement.gloo.solo.io/v2', 'GraphQL resolution runs in Gloo\'s own Envoy filter; upstream Envoy has none'],
  GraphQLResolverMap: ['apimanagement.gloo.solo.io/v2', 'GraphQL resolution runs in Gloo\'s own Envoy filter; upstream Envoy has none'],
  WasmDeploymentPolicy: ['extensions.policy.gloo.solo.io/v2', 'Wasm module distribution is not implemented by meshplane'],
  KubernetesCluster: ['admin.gloo.solo.io/v2', 'meshplane learns its clusters from --config-dir/--cluster-name pairs (or a Kubernetes source\'s context), not from registration resources; this one is not needed'],
  RootTrustPolicy: ['admin.gloo.solo.io/v2', 'the mesh certificate authority belongs to the service mesh (Istio); meshplane does not issue workload certificates'],
  IstioLifecycleManager: ['admin.gloo.solo.io/v2', 'meshplane configures proxies; it does not install Istio'],
  GatewayLifecycleManager: ['admin.gloo.solo.io/v2', 'meshplane configures gateways; it does not deploy them'],
};

/** A field that is recognised but refused: any value fails validation with the reason. */
export const unsupportedField = (why: string) =>
  z.unknown().superRefine((_v, ctx) => ctx.addIssue({ code: 'custom', message: `${UNSUPPORTED}: ${why}` }));
