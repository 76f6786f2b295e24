// Rate-limit shapes shared by RateLimitServerConfig, RateLimitClientConfig and
// RateLimitPolicy's inline `config.raw`. They follow Gloo Platform v2, whose
// actions are Envoy's route RateLimit actions in camelCase, and whose server
// config is the reference rate-limit service's descriptor tree plus Gloo's
// set-style descriptors (see docs/policies.md for how sets are mapped).
import { z } from 'zod';

const unit = z.enum(['SECOND', 'MINUTE', 'HOUR', 'DAY']);
const rateLimit = z.strictObject({ unit, requestsPerUnit: z.number().int().min(0) });

/** Descriptors as the reference rate-limit service reads them (camelCase here). */
export interface Descriptor {
  key: string;
  value?: string;
  rateLimit?: { unit: 'SECOND' | 'MINUTE' | 'HOUR' | 'DAY'; requestsPerUnit: number };
  descriptors?: Descriptor[];
}
export const descriptor: z.ZodType<Descriptor> = z.lazy(() =>
  z.strictObject({
    key: z.string().min(1),
    value: z.string().optional(),
    rateLimit: rateLimit.optional(),
    descriptors: z.array(descriptor).optional(),
  }),
);

/** Gloo's set-style rule: matches when the request carries every listed entry, in any order. */
export const setDescriptor = z.strictObject({
  simpleDescriptors: z.array(z.strictObject({ key: z.string().min(1), value: z.string().optional() })).min(1),
  rateLimit,
  alwaysApply: z.boolean().optional(),
});
export type SetDescriptor = z.infer<typeof setDescriptor>;

export const rateLimitServerConfigSpec = z
  .strictObject({
    destinationServers: z.array(z.record(z.string(), z.unknown())).optional(),
    raw: z.strictObject({ descriptors: z.array(descriptor).optional(), setDescriptors: z.array(setDescriptor).optional() }),
  })
  .refine((s) => (s.raw.descriptors?.length ?? 0) + (s.raw.setDescriptors?.length ?? 0) > 0, {
    message: 'raw needs descriptors and/or setDescriptors',
    path: ['raw'],
  });

const metadataKey = z.strictObject({ key: z.string().min(1), path: z.array(z.strictObject({ key: z.string().min(1) })).min(1) });
const headerMatcher = z
  .strictObject({
    name: z.string().min(1),
    exactMatch: z.string().optional(),
    prefixMatch: z.string().optional(),
    suffixMatch: z.string().optional(),
    regexMatch: z.string().optional(),
    presentMatch: z.boolean().optional(),
    invertMatch: z.boolean().optional(),
  })
  .refine((h) => [h.exactMatch, h.prefixMatch, h.suffixMatch, h.regexMatch, h.presentMatch].filter((x) => x !== undefined).length <= 1, {
    message: 'set at most one of exactMatch, prefixMatch, suffixMatch, regexMatch, presentMatch',
  });

/** One Envoy RateLimit action (envoy.config.route.v3.RateLimit.Action), in the subset Gloo examples use. */
export const rateLimitAction = z
  .strictObject({
    genericKey: z.strictObject({ descriptorValue: z.string().min(1), descriptorKey: z.string().optional() }).optional(),
    requestHeaders: z.strictObject({ headerName: z.string().min(1), descriptorKey: z.string().min(1), skipIfAbsent: z.boolean().optional() }).optional(),
    remoteAddress: z.strictObject({}).optional(),
    sourceCluster: z.strictObject({}).optional(),
    destinationCluster: z.strictObject({}).optional(),
    metadata: z
      .strictObject({
        descriptorKey: z.string().min(1),
        metadataKey,
        defaultValue: z.string().optional(),
        source: z.enum(['DYNAMIC', 'ROUTE_ENTRY']).optional(),
      })
      .optional(),
    headerValueMatch: z
      .strictObject({ descriptorValue: z.string().min(1), descriptorKey: z.string().optional(), expectMatch: z.boolean().optional(), headers: z.array(headerMatcher).min(1) })
      .optional(),
  })
  .refine((a) => Object.values(a).filter((v) => v !== undefined).length === 1, {
    message: 'set exactly one of genericKey, requestHeaders, remoteAddress, sourceCluster, destinationCluster, metadata, headerValueMatch',
  });
export type RateLimitAction = z.infer<typeof rateLimitAction>;

/** The descriptor entry key an action produces (Envoy's defaults where the action has none). */
export function actionDescriptorKey(a: RateLimitAction): string {
  if (a.genericKey) return a.genericKey.descriptorKey ?? 'generic_key';
  if (a.requestHeaders) return a.requestHeaders.descriptorKey;
  if (a.remoteAddress) return 'remote_address';
  if (a.sourceCluster) return 'source_cluster';
  if (a.destinationCluster) return 'destination_cluster';
  if (a.metadata) return a.metadata.descriptorKey;
  return a.headerValueMatch!.descriptorKey ?? 'header_match';
}

/** One entry of `raw.rateLimits`: ordered `actions` (a descriptor tree path) or Gloo's `setActions`. */
export const rateLimitEntry = z
  .strictObject({
    actions: z.array(rateLimitAction).min(1).optional(),
    setActions: z.array(rateLimitAction).min(1).optional(),
    /** Envoy's RateLimit.Override: the limit comes from dynamic metadata (e.g. set by ext auth). */
    limit: z.strictObject({ dynamicMetadata: z.strictObject({ metadataKey }) }).optional(),
  })
  .refine((e) => !!e.actions !== !!e.setActions, { message: 'set one of actions or setActions' });
export type RateLimitEntry = z.infer<typeof rateLimitEntry>;

export const rateLimitsRaw = z.strictObject({ rateLimits: z.array(rateLimitEntry).min(1) });

export const rateLimitClientConfigSpec = z.strictObject({ raw: rateLimitsRaw });
