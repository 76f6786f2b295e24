// Glob and label-selector matching shared by workspaces, sharing rules and policies.
import type { Metadata, ObjectSelector } from '../resources/schema.js';

const globCache = new Map<string, RegExp>();

/** `*` matches any run of characters; everything else is literal. */
export function globMatch(pattern: string | undefined, value: string): boolean {
  if (pattern === undefined || pattern === '*') return true;
  if (!pattern.includes('*')) return pattern === value;
  let re = globCache.get(pattern);
  if (!re) {
    re = new RegExp('^' + pattern.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$');
    globCache.set(pattern, re);
  }
  return re.test(value);
}

export function labelsMatch(selector: Record<string, string> | undefined, labels: Record<string, string>): boolean {
  if (!selector) return true;
  for (const [k, v] of Object.entries(selector)) if (labels[k] !== v) return false;
  return true;
}

export interface SelectableObject {
  metadata: Pick<Metadata, 'name' | 'namespace' | 'labels'>;
  workspace: string | undefined;
  cluster: string;
}

/** An ObjectSelector with every field optional: unset fields match anything. */
export function selectorMatches(sel: ObjectSelector | undefined, obj: SelectableObject): boolean {
  if (!sel) return true;
  if (sel.name !== undefined && !globMatch(sel.name, obj.metadata.name)) return false;
  if (sel.namespace !== undefined && !globMatch(sel.namespace, obj.metadata.namespace)) return false;
  if (sel.cluster !== undefined && !globMatch(sel.cluster, obj.cluster)) return false;
  if (sel.workspace !== undefined && (obj.workspace === undefined || !globMatch(sel.workspace, obj.workspace))) return false;
  return labelsMatch(sel.labels, obj.metadata.labels);
}

/** Oldest first; a missing timestamp counts as newest; ties by namespace then name. */
export function byAge(a: { metadata: Metadata }, b: { metadata: Metadata }): number {
  const ta = a.metadata.creationTimestamp ? Date.parse(a.metadata.creationTimestamp) : Number.POSITIVE_INFINITY;
  const tb = b.metadata.creationTimestamp ? Date.parse(b.metadata.creationTimestamp) : Number.POSITIVE_INFINITY;
  if (ta !== tb) return ta < tb ? -1 : 1;
  return compareStr(a.metadata.namespace, b.metadata.namespace) || compareStr(a.metadata.name, b.metadata.name);
}

export const compareStr = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
