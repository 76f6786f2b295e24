// Glob and label-selector matching shared by workspaces, sharing rules and policies.
import type { Metadata, ObjectSelector } from '../resources/schema.js';

/** A `*` glob split once into its literal segments. */
interface CompiledGlob {
  segments: string[];
  /** KMP failure tables, one per segment. */
  tables: Int32Array[];
}

const globCache = new Map<string, CompiledGlob>();
const GLOB_CACHE_MAX = 10_000;

function compileGlob(pattern: string): CompiledGlob {
  let g = globCache.get(pattern);
  if (g) return g;
  const segments = pattern.split('*');
  g = { segments, tables: segments.map(failureTable) };
  if (globCache.size >= GLOB_CACHE_MAX) globCache.clear(); // patterns come from config: bounded, but never let it grow without end
  globCache.set(pattern, g);
  return g;
}

function failureTable(seg: string): Int32Array {
  const t = new Int32Array(seg.length);
  for (let i = 1, k = 0; i < seg.length; i++) {
    while (k > 0 && seg[i] !== seg[k]) k = t[k - 1];
    if (seg[i] === seg[k]) k++;
    t[i] = k;
  }
  return t;
}

/** Leftmost occurrence of seg in value at or after `from` and before `end`, in O(end - from + |seg|). */
function find(value: string, seg: string, table: Int32Array, from: number, end: number): number {
  for (let i = from, k = 0; i < end; i++) {
    while (k > 0 && value[i] !== seg[k]) k = table[k - 1];
    if (value[i] === seg[k]) k++;
    if (k === seg.length) return i - seg.length + 1;
  }
  return -1;
}

/**
 * `*` matches any run of characters; everything else is literal. Linear in the
 * length of the value and the pattern (no backtracking): the first segment is a
 * prefix, the last a suffix, and each middle segment is taken at its leftmost
 * occurrence, which is never worse than any later one.
 */
/** A name without `*`: it matches itself only. */
export const isLiteral = (s: string | undefined): s is string => s !== undefined && !s.includes('*');

export function globMatch(pattern: string | undefined, value: string): boolean {
  if (pattern === undefined || pattern === '*') return true;
  if (!pattern.includes('*')) return pattern === value;
  const { segments, tables } = compileGlob(pattern);
  const first = segments[0];
  const last = segments[segments.length - 1];
  if (first.length + last.length > value.length || !value.startsWith(first) || !value.endsWith(last)) return false;
  let pos = first.length;
  const end = value.length - last.length;
  for (let i = 1; i < segments.length - 1; i++) {
    const seg = segments[i];
    if (seg.length === 0) continue;
    const at = find(value, seg, tables[i], pos, end);
    if (at < 0) return false;
    pos = at + seg.length;
  }
  return true;
}

export function labelsMatch(selector: Record<string, string> | undefined, labels: Record<string, string>): boolean {
  if (!selector) return true;
  // for-in, not Object.entries: this runs per (route, selector) pair and entries allocates a tuple per label.
  for (const k in selector) if (labels[k] !== selector[k]) return false;
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
