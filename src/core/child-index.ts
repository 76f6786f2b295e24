// Child route tables indexed by what delegation selectors name (semantics §3), so
// a selector looks only at the tables that can match it, not at every table.
// Between computations the index is patched where a table was replaced by an
// edit that kept its name and labels (the usual edit), instead of built again.
import type { ObjectSelector } from '../resources/schema.js';
import { isLiteral } from './match.js';
import type { TableInfo } from './routes.js';

/** Child tables indexed so a delegate selector looks only at tables that can match it. */
export interface ChildIndex {
  candidates(sel: ObjectSelector): readonly TableInfo[];
}

interface Buckets {
  byName: Map<string, TableInfo[]>;
  byLabel: Map<string, TableInfo[]>;
  /** Delegation by label is usually within one namespace: indexed too, or every selector scans every table with the label. */
  byNsLabel: Map<string, TableInfo[]>;
  byNs: Map<string, TableInfo[]>;
}

/** The last list indexed and its buckets. */
export interface ChildIndexMemo {
  tables?: readonly TableInfo[];
  buckets?: Buckets;
}

/** Above this many replaced tables, building again is as cheap as patching. */
const MAX_PATCHED = 64;

export function indexChildTables(tables: TableInfo[], memo: ChildIndexMemo = {}): ChildIndex {
  const buckets = (memo.tables && memo.buckets && patch(memo.tables, tables, memo.buckets)) || build(tables);
  memo.tables = tables;
  memo.buckets = buckets;
  const { byName, byLabel, byNsLabel, byNs } = buckets;
  return {
    candidates(sel) {
      if (isLiteral(sel.name) && isLiteral(sel.namespace)) return byName.get(`${sel.namespace}/${sel.name}`) ?? [];
      const pair = Object.entries(sel.labels ?? {})[0];
      if (pair && isLiteral(sel.namespace)) return byNsLabel.get(`${sel.namespace}\0${pair[0]}\0${pair[1]}`) ?? [];
      if (pair) return byLabel.get(`${pair[0]}\0${pair[1]}`) ?? [];
      if (isLiteral(sel.namespace)) return byNs.get(sel.namespace) ?? [];
      return tables;
    },
  };
}

function build(tables: readonly TableInfo[]): Buckets {
  const b: Buckets = { byName: new Map(), byLabel: new Map(), byNsLabel: new Map(), byNs: new Map() };
  const add = (m: Map<string, TableInfo[]>, k: string, t: TableInfo) => {
    const list = m.get(k);
    if (list) list.push(t);
    else m.set(k, [t]);
  };
  for (const t of tables) {
    const { namespace, name, labels = {} } = t.table.metadata;
    add(b.byName, `${namespace}/${name}`, t); // every cluster's table of that name
    add(b.byNs, namespace, t);
    for (const k in labels) {
      add(b.byLabel, `${k}\0${labels[k]}`, t);
      add(b.byNsLabel, `${namespace}\0${k}\0${labels[k]}`, t);
    }
  }
  return b;
}

/**
 * The buckets of `before`, changed into those of `after` in place, if the lists
 * differ only in a few positions whose tables kept namespace, name and labels:
 * each bucket then holds the same positions, so replacing the object keeps
 * the order a build would give. Undefined when that does not hold.
 */
function patch(before: readonly TableInfo[], after: readonly TableInfo[], b: Buckets): Buckets | undefined {
  if (before.length !== after.length) return undefined;
  const replaced: Array<[TableInfo, TableInfo]> = [];
  for (let i = 0; i < after.length; i++) {
    const x = before[i];
    const y = after[i];
    if (x === y) continue;
    if (replaced.length >= MAX_PATCHED || !sameIndexKeys(x, y)) return undefined;
    replaced.push([x, y]);
  }
  for (const [x, y] of replaced) {
    const { namespace, name, labels = {} } = y.table.metadata;
    let ok = swap(b.byName.get(`${namespace}/${name}`), x, y) && swap(b.byNs.get(namespace), x, y);
    for (const k in labels) ok &&= swap(b.byLabel.get(`${k}\0${labels[k]}`), x, y) && swap(b.byNsLabel.get(`${namespace}\0${k}\0${labels[k]}`), x, y);
    if (!ok) return undefined; // out of step with the list (should not happen): built again, these buckets are dropped
  }
  return b;
}

function swap(list: TableInfo[] | undefined, x: TableInfo, y: TableInfo): boolean {
  const i = list ? list.indexOf(x) : -1;
  if (i >= 0) list![i] = y;
  return i >= 0;
}

function sameIndexKeys(x: TableInfo, y: TableInfo): boolean {
  const a = x.table.metadata;
  const b = y.table.metadata;
  if (a.namespace !== b.namespace || a.name !== b.name) return false;
  const al = a.labels ?? {};
  const bl = b.labels ?? {};
  let n = 0;
  for (const k in al) {
    if (bl[k] !== al[k]) return false;
    n++;
  }
  for (const _ in bl) n--;
  return n === 0;
}
