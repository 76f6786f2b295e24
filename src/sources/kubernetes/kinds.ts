// The Kubernetes view of the kind table: which API path each kind lives at.
// Everything is derived from KINDS (src/resources/schema.ts), so a kind added
// there is watched, gets a CRD (if it is ours) and an RBAC rule, with no
// change here.
import { KINDS, type Kind } from '../../resources/schema.js';

export interface KubeKind {
  kind: Kind;
  apiVersion: string;
  /** API group; '' for the core group (v1). */
  group: string;
  version: string;
  /** Lower-case plural resource name, as in the URL and RBAC rules. */
  plural: string;
  namespaced: boolean;
  /** A Gloo kind: a custom resource whose CRD meshplane ships (and whose status it writes). */
  custom: boolean;
}

/** Kubernetes' plural rules as kubebuilder applies them, enough for every kind we know. */
export function pluralOf(kind: string): string {
  const k = kind.toLowerCase();
  if (k.endsWith('s')) return k; // WorkspaceSettings -> workspacesettings (as Gloo names it)
  if (/[^aeiou]y$/.test(k)) return `${k.slice(0, -1)}ies`; // AccessPolicy -> accesspolicies
  if (/(x|ch|sh)$/.test(k)) return `${k}es`;
  return `${k}s`;
}

/** Kinds Kubernetes itself owns: the core group and discovery.k8s.io. */
const isBuiltIn = (group: string): boolean => group === '' || group.endsWith('.k8s.io') || !group.includes('.');

export const KUBE_KINDS: readonly KubeKind[] = Object.entries(KINDS).map(([kind, def]) => {
  const apiVersion = def.group;
  const slash = apiVersion.lastIndexOf('/');
  const group = slash < 0 ? '' : apiVersion.slice(0, slash);
  const version = apiVersion.slice(slash + 1);
  return {
    kind: kind as Kind,
    apiVersion,
    group,
    version,
    plural: pluralOf(kind),
    namespaced: !('clusterScoped' in def && def.clusterScoped),
    custom: !isBuiltIn(group),
  };
});

export const CUSTOM_KINDS = KUBE_KINDS.filter((k) => k.custom);
export const BUILT_IN_KINDS = KUBE_KINDS.filter((k) => !k.custom);

export const kubeKind = (kind: string): KubeKind | undefined => KUBE_KINDS.find((k) => k.kind === kind);

/** The collection URL of a kind, across all namespaces or in one. */
export function collectionPath(k: KubeKind, namespace?: string): string {
  const base = k.group ? `/apis/${k.group}/${k.version}` : `/api/${k.version}`;
  return namespace && k.namespaced ? `${base}/namespaces/${encodeURIComponent(namespace)}/${k.plural}` : `${base}/${k.plural}`;
}

export const objectPath = (k: KubeKind, namespace: string, name: string): string =>
  `${collectionPath(k, namespace)}/${encodeURIComponent(name)}`;
