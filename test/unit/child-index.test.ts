// The child-table index (semantics §3 delegation selectors) is patched between
// computations when an edit replaced tables but kept their names and labels.
// A patched index must answer every selector exactly as one built from
// scratch: the same tables, in the same order (status messages follow it).
import { describe, expect, it } from 'vitest';
import { indexChildTables, type ChildIndexMemo } from '../../src/core/child-index.js';
import type { TableInfo } from '../../src/core/routes.js';
import type { ObjectSelector, RouteTableR } from '../../src/resources/schema.js';

/** A small deterministic generator (no Math.random: a failure reproduces). */
function rng(seed: number) {
  let s = seed >>> 0;
  return (n: number) => ((s = (s * 1103515245 + 12345) >>> 0) >>> 8) % n;
}

const table = (namespace: string, name: string, labels: Record<string, string>, version: number): TableInfo => ({
  table: { kind: 'RouteTable', apiVersion: 'networking.gloo.solo.io/v2', metadata: { namespace, name, labels }, spec: { http: [{ name: `v${version}` }] } } as unknown as RouteTableR,
  key: `${namespace}/${name}`,
  statusKey: `RouteTable/${namespace}/${name}`,
  workspace: namespace === 'ns-0' ? 'gw' : 'team',
});

const SELECTORS: ObjectSelector[] = [
  { name: 't-1', namespace: 'ns-0' },
  { name: 't-2', namespace: 'ns-1' },
  { labels: { tier: 'a' }, namespace: 'ns-1' },
  { labels: { tier: 'b' } },
  { labels: { app: 'x' }, namespace: 'ns-2' },
  { namespace: 'ns-2' },
  { name: 't-*' },
  {},
];

const answers = (tables: TableInfo[], memo?: ChildIndexMemo) => {
  const index = indexChildTables(tables, memo);
  return SELECTORS.map((s) => index.candidates(s).map((t) => t.table));
};

describe('child-table index patched between computations', () => {
  it('answers every selector as a fresh index does, over 200 random edit sequences', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const pick = rng(seed);
      const labels = (): Record<string, string> => [{}, { tier: 'a' }, { tier: 'b' }, { tier: 'a', app: 'x' }, { app: 'x' }][pick(5)];
      let version = 0;
      let tables = Array.from({ length: 6 + pick(10) }, (_, i) => table(`ns-${pick(3)}`, `t-${i}`, labels(), version++));
      const memo: ChildIndexMemo = {};
      indexChildTables(tables, memo);
      for (let step = 0; step < 8; step++) {
        tables = tables.slice();
        const i = pick(tables.length);
        const t = tables[i].table.metadata;
        switch (pick(4)) {
          case 0: // an edit of the spec: the patch's case
          case 1:
            tables[i] = table(t.namespace!, t.name, { ...t.labels }, version++);
            break;
          case 2: // labels change: built again
            tables[i] = table(t.namespace!, t.name, labels(), version++);
            break;
          default: // a table added
            tables.push(table(`ns-${pick(3)}`, `t-new-${step}`, labels(), version++));
        }
        expect(answers(tables, memo), `seed ${seed} step ${step}`).toEqual(answers(tables));
      }
    }
  });

  it('patches in place when only a table body changed', () => {
    const tables = [table('ns-1', 't-1', { tier: 'a' }, 0), table('ns-1', 't-2', { tier: 'a' }, 1)];
    const memo: ChildIndexMemo = {};
    indexChildTables(tables, memo);
    const buckets = memo.buckets;
    const next = [tables[0], table('ns-1', 't-2', { tier: 'a' }, 2)];
    expect(indexChildTables(next, memo).candidates({ labels: { tier: 'a' }, namespace: 'ns-1' })).toEqual(next);
    expect(memo.buckets).toBe(buckets);
  });
});
