// A Kubernetes object -> the same validated Resource the file source makes.
// The API server's bookkeeping (resourceVersion, managedFields, the
// last-applied annotation, status of our own kinds) is dropped first, so an
// object that only changed there converts to identical content: status
// write-backs cause no recomputation, and every replica sees the same input.
import { resourceKey, validateResource, type Resource, type ValidationProblem } from '../../resources/schema.js';
import type { KubeObject } from './client.js';
import type { KubeKind } from './kinds.js';

const DROPPED_ANNOTATIONS = ['kubectl.kubernetes.io/last-applied-configuration'];
/** Metadata our schema reads for Gloo kinds; the rest (finalizers, ownerReferences, ...) is the cluster's business. */
const GLOO_METADATA = ['name', 'namespace', 'labels', 'annotations', 'creationTimestamp', 'uid', 'generation'];

export type Converted =
  | { ok: true; key: string; resource: Resource; fingerprint: string }
  | { ok: false; key: string; problems: ValidationProblem[]; fingerprint: string };

function cleanMetadata(md: KubeObject['metadata'], custom: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(md)) {
    if (k === 'managedFields' || k === 'resourceVersion' || k === 'selfLink') continue;
    if (custom && !GLOO_METADATA.includes(k)) continue;
    out[k] = v;
  }
  const ann = md.annotations as Record<string, string> | undefined;
  if (ann && DROPPED_ANNOTATIONS.some((a) => a in ann)) {
    const kept = Object.fromEntries(Object.entries(ann).filter(([a]) => !DROPPED_ANNOTATIONS.includes(a)));
    if (Object.keys(kept).length) out.annotations = kept;
    else delete out.annotations;
  }
  return out;
}

/** What we validate: Gloo kinds without status, Kubernetes kinds as they are. */
export function manifestOf(obj: KubeObject, k: KubeKind): Record<string, unknown> {
  const metadata = cleanMetadata(obj.metadata, k.custom);
  if (k.custom) {
    const { status: _status, metadata: _m, ...rest } = obj;
    return { ...rest, apiVersion: obj.apiVersion ?? k.apiVersion, kind: obj.kind ?? k.kind, metadata };
  }
  return { ...obj, apiVersion: obj.apiVersion ?? k.apiVersion, kind: obj.kind ?? k.kind, metadata };
}

export const objectKey = (k: KubeKind, obj: { metadata: { namespace?: string; name: string } }): string =>
  resourceKey({ kind: k.kind, metadata: { namespace: k.namespaced ? (obj.metadata.namespace ?? 'default') : '', name: obj.metadata.name } });

export function convert(obj: KubeObject, k: KubeKind, cluster: string): Converted {
  const manifest = manifestOf(obj, k);
  const fingerprint = JSON.stringify(manifest);
  const key = objectKey(k, obj);
  const result = validateResource(manifest);
  if (!result.ok) return { ok: false, key, problems: result.problems, fingerprint };
  return { ok: true, key, resource: { ...result.resource, cluster }, fingerprint };
}
