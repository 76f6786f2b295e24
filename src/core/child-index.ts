// Child route tables indexed by what delegation selectors name (semantics §3), so
// a selector looks only at the tables that can match it, not at every table.
import type { ObjectSelector } from '../resources/schema.js';
import { isLiteral } from './match.js';
import type { TableInfo } from './routes.js';

/** Child tables indexed so a delegate selector looks only at tables that can match it. */
export interface ChildIndex {
  candidates(sel: ObjectSelector): readonly TableInfo[];
}

export function indexChildTables(tables: TableInfo[]): ChildIndex {
  const byName = new Map<string, TableInfo[]>();
  const byLabel = new Map<string, TableInfo[]>();
  // Delegation by label is usually within one namespace: index that too, or every selector scans every table with the label.
  const byNsLabel = new Map<string, TableInfo[]>();
  const byNs = new Map<string, TableInfo[]>();
  const add = (m: Map<string, TableInfo[]>, k: string, t: TableInfo) => {
    const list = m.get(k);
    if (list) list.push(t);
    else m.set(k, [t]);
  };
  for (const t of tables) {
    add(byName, `${t.table.metadata.namespace}/${t.table.metadata.name}`, t); // every cluster's table of that name
    add(byNs, t.table.metadata.namespace, t);
    for (const [k, v] of Object.entries(t.table.metadata.labels)) {
      add(byLabel, `${k}\0${v}`, t);
      add(byNsLabel, `${t.table.metadata.namespace}\0${k}\0${v}`, t);
    }
  }
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
