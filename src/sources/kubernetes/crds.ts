// CustomResourceDefinitions generated from the zod schemas that validate the
// file source: one source of truth. The OpenAPI schemas are structural (the
// API server needs that) but deliberately permissive: they carry the shape
// and the types (so `kubectl explain` works and a wrong type is refused at
// apply time) and keep unknown fields (x-kubernetes-preserve-unknown-fields),
// but no enums, bounds, patterns, required lists or defaults. Those rules are
// meshplane's: it reports a violation as INVALID in the object's status with
// the field path, instead of the API server pruning or refusing silently.
import { z } from 'zod';
import { KINDS } from '../../resources/schema.js';
import { CUSTOM_KINDS, type KubeKind } from './kinds.js';

/** What meshplane writes to the status subresource of every Gloo resource. */
export const crdStatusSchema = z.strictObject({
  state: z.enum(['ACCEPTED', 'WARNING', 'INVALID']),
  messages: z.array(z.string()),
  counters: z.record(z.string(), z.number().int()).optional(),
  observedGeneration: z.number().int(),
  /** The connected proxies built from this resource, as the replica writing status sees them: how many ACKed its current version. */
  proxies: z
    .strictObject({
      connected: z.number().int(),
      acked: z.number().int(),
      rejecting: z.number().int(),
      pending: z.array(z.string()).optional(),
      rejections: z.array(z.strictObject({ proxy: z.string(), message: z.string() })).optional(),
    })
    .optional(),
});
export type CrdStatus = z.infer<typeof crdStatusSchema>;

type Json = Record<string, unknown>;
export type OpenApiSchema = Json;

const ANY: OpenApiSchema = { 'x-kubernetes-preserve-unknown-fields': true };
const SCALARS = new Set(['string', 'integer', 'number', 'boolean']);

/**
 * Rewrites one JSON Schema node (zod's output) into a structural OpenAPI v3
 * schema. `refs` are the definitions for $ref; `seen` the refs being expanded
 * (recursion, e.g. nested rate-limit descriptors, stops there as "any").
 */
export function structural(node: Json, refs: Record<string, Json>, seen: readonly string[] = []): OpenApiSchema {
  const ref = node.$ref as string | undefined;
  if (ref) {
    const name = ref.split('/').pop()!;
    if (seen.includes(name) || !refs[name]) return { type: 'object', ...ANY };
    return structural(refs[name], refs, [...seen, name]);
  }
  const alternatives = (node.anyOf ?? node.oneOf) as Json[] | undefined;
  if (alternatives) {
    const nonNull = alternatives.filter((a) => a.type !== 'null');
    const types = new Set(nonNull.map((a) => a.type));
    const nullable = nonNull.length < alternatives.length || node.nullable === true;
    let out: OpenApiSchema;
    if (nonNull.length === 1) out = structural(nonNull[0], refs, seen);
    else if (types.size === 2 && types.has('integer') && types.has('string')) out = { 'x-kubernetes-int-or-string': true };
    else out = { ...ANY }; // no structural way to say "one of several shapes": meshplane checks it
    return nullable ? { ...out, nullable: true } : out;
  }
  if (node.allOf) {
    // zod emits allOf for intersections; merge the object parts.
    const parts = (node.allOf as Json[]).map((p) => structural(p, refs, seen));
    if (parts.every((p) => p.type === 'object' && p.properties)) {
      return { type: 'object', properties: Object.assign({}, ...parts.map((p) => p.properties)), ...ANY };
    }
    return { ...ANY };
  }
  const type = node.type as string | undefined;
  const extra: Json = node.nullable === true ? { nullable: true } : {};
  if (type === 'array') {
    const items = node.items as Json | undefined;
    return { type: 'array', items: items && !Array.isArray(items) ? structural(items, refs, seen) : { ...ANY }, ...extra };
  }
  if (type === 'object') {
    const props = node.properties as Record<string, Json> | undefined;
    if (props && Object.keys(props).length) {
      const properties: Record<string, OpenApiSchema> = {};
      for (const key of Object.keys(props).sort()) properties[key] = structural(props[key], refs, seen);
      return { type: 'object', properties, ...ANY, ...extra };
    }
    const additional = node.additionalProperties as Json | boolean | undefined;
    if (additional && typeof additional === 'object' && Object.keys(additional).length > 0) {
      return { type: 'object', additionalProperties: structural(additional, refs, seen), ...extra };
    }
    return { type: 'object', ...ANY, ...extra };
  }
  if (type && SCALARS.has(type)) return { type, ...extra };
  return { ...ANY }; // z.unknown(), z.any() and anything zod cannot represent
}

export function openApiOf(schema: z.ZodType): OpenApiSchema {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', target: 'openapi-3.0' }) as Json;
  return structural(json, (json.definitions ?? json.$defs ?? {}) as Record<string, Json>);
}

const STATE_COLUMNS = [
  { name: 'State', type: 'string', jsonPath: '.status.state', description: 'ACCEPTED, WARNING or INVALID, as meshplane sees it' },
  { name: 'Message', type: 'string', jsonPath: '.status.messages[0]', priority: 1, description: 'the first of meshplane\'s messages' },
  { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
];

export interface Crd {
  apiVersion: 'apiextensions.k8s.io/v1';
  kind: 'CustomResourceDefinition';
  metadata: { name: string; labels: Record<string, string> };
  spec: Json;
}

export function crdFor(k: KubeKind): Crd {
  const def = (KINDS as Record<string, { spec?: z.ZodType }>)[k.kind];
  const spec = def.spec ? openApiOf(def.spec) : { type: 'object', ...ANY };
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${k.plural}.${k.group}`, labels: { 'app.kubernetes.io/part-of': 'meshplane' } },
    spec: {
      group: k.group,
      names: { kind: k.kind, listKind: `${k.kind}List`, plural: k.plural, singular: k.kind.toLowerCase(), categories: ['meshplane', 'gloo'] },
      scope: k.namespaced ? 'Namespaced' : 'Cluster',
      versions: [
        {
          name: k.version,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: STATE_COLUMNS,
          schema: {
            openAPIV3Schema: {
              description: `${k.kind} (${k.apiVersion}), the Gloo Platform shape. meshplane validates it fully and reports problems in .status with the field path.`,
              type: 'object',
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                metadata: { type: 'object' },
                spec: spec,
                status: openApiOf(crdStatusSchema),
              },
              ...ANY,
            },
          },
        },
      ],
    },
  };
}

/** Every CRD meshplane ships, in a stable order. */
export const allCrds = (): Crd[] => [...CUSTOM_KINDS].sort((a, b) => (a.plural + a.group < b.plural + b.group ? -1 : 1)).map(crdFor);
