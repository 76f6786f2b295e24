// Incremental flattening (issue 10 item 3): the expansion of one delegated
// child table under one parent chain is remembered with what it read (the
// tables its delegations selected) and what it did (routes emitted, status
// messages, backends, work spent). The next computation reuses it when the
// child table is the same object, the chain is the same, and every selection
// inside it still picks the same tables; anything else (a workspace, sharing,
// Service, Namespace or settings change) starts from an empty memo. Reuse
// replays the effects in their original order, so the result is exactly a
// fresh computation's (test/unit/incremental.test.ts).
import type { Backend, FinalRoute } from '../ir/types.js';
import type { ObjectSelector, Resource, RouteTableR } from '../resources/schema.js';
import type { Budget, Flattening, TableInfo } from './routes.js';
import type { ChildIndexMemo } from './child-index.js';

export type StatusOp = ['warn' | 'invalid', string, string];

export interface Selection {
  children: TableInfo[];
  errors: string[];
  /** Tables a selector matched but the sharing rules exclude (warnings, or the errors when nothing is picked). */
  excluded: string[];
}

export interface SelectionRecord {
  selKey: string;
  parent: TableInfo;
  selectors: ObjectSelector[];
  result: Selection;
  /** Computed here (true) or taken from an earlier selection of the same root (false). */
  first: boolean;
}

/** What one flattening did, in order; a subtree's share of it is a slice. */
export interface FlattenLog {
  status: StatusOp[];
  backends: Backend[];
  selections: SelectionRecord[];
  /** Times a route was refused for lack of budget: such subtrees are reused only at the same budget. */
  pressure: number;
  /** The subtree records this flattening kept for the next computation, in order (made, replayed, or carried inside a replayed one). */
  records: Array<[string, SubtreeRecord]>;
}
export const newLog = (): FlattenLog => ({ status: [], backends: [], selections: [], pressure: 0, records: [] });

export interface SubtreeRecord {
  table: RouteTableR;
  leftBefore: number;
  spent: number;
  /** Envoy routes of its final routes. */
  routeCost: number;
  pressure: number;
  routes: FinalRoute[];
  status: StatusOp[];
  backends: Backend[];
  selections: SelectionRecord[];
  /**
   * The records of the subtrees inside this one (at any depth). A replayed
   * subtree carries them into the next computation: without them, the next
   * edit inside it (cumulative edits, not an edit and its undo) found none
   * and made all of the subtree's routes again (100 routes for a 10-route table).
   */
  nested: ReadonlyArray<[string, SubtreeRecord]>;
}

/** Subtree records of the previous computation and of the current one. */
export class RoutingMemo {
  /** The child-table index, patched from one computation to the next. */
  readonly childIndex: ChildIndexMemo = {};
  previous = new Map<string, SubtreeRecord>();
  next = new Map<string, SubtreeRecord>();
  /** Whether the last computation's world was the one before it (so only route tables, or nothing, changed). */
  sameWorld = false;
  private world: readonly Resource[] = [];
  private worldKey = '';

  /**
   * After an endpoint patch (only EndpointSlices changed, src/core/endpoint-updates.ts):
   * the world holds the new slices, and the subtrees' backends are the patched
   * ones, so the next computation reuses them as if it had made them.
   */
  patchEndpoints(swap: ReadonlyMap<Resource, Resource>, replaced: ReadonlyMap<string, Backend>): void {
    this.world = this.world.map((r) => swap.get(r) ?? r);
    for (const [cluster, b] of replaced) this.patched.set(cluster, b);
  }

  /** Backends patched since the world was built, by cluster: what a replayed subtree's backend is now. */
  readonly patched = new Map<string, Backend>();

  /**
   * Starts a computation. Everything but route tables (and policies, which
   * routing never reads) must be the same objects, and the namespaces and
   * settings the same, or nothing is reused.
   */
  begin(resources: readonly Resource[], worldKey: string): void {
    const world = resources.filter((r) => r.kind !== 'RouteTable');
    const same = worldKey === this.worldKey && world.length === this.world.length && world.every((r, i) => r === this.world[i]);
    this.previous = same ? this.next : new Map();
    if (!same) this.patched.clear();
    this.sameWorld = same;
    this.next = new Map();
    this.world = world;
    this.worldKey = worldKey;
  }
}

export const sameSelection = (a: Selection, b: Selection): boolean =>
  a.children.length === b.children.length &&
  a.children.every((c, i) => c.table === b.children[i].table && c.workspace === b.children[i].workspace) &&
  a.errors.length === b.errors.length &&
  a.errors.every((e, i) => e === b.errors[i]) &&
  a.excluded.length === b.excluded.length &&
  a.excluded.every((e, i) => e === b.excluded[i]);

/** The identity of a subtree: everything of the chain above that its routes carry. */
export function subtreeKey(gateway: string | null, hosts: string[], root: TableInfo, chain: Array<{ info: TableInfo; route: string; index: number }>, labels: Record<string, string>, matchers: unknown, workloadSelector: unknown, child: TableInfo): string {
  return JSON.stringify([
    gateway,
    hosts,
    root.key,
    root.workspace,
    root.table.metadata,
    root.table.cluster ?? null,
    chain.map((c) => [c.info.key, c.info.workspace, c.route, c.index]),
    labels,
    matchers,
    workloadSelector ?? null,
    child.key,
    child.workspace,
  ]);
}

/** The backends logged from `from` on, the first of each cluster only (the first one added wins anyway). */
export function firstOfEach(backends: Backend[], from: number): Backend[] {
  const seen = new Set<string>();
  const out: Backend[] = [];
  for (let i = from; i < backends.length; i++) if (!seen.has(backends[i].cluster)) seen.add(backends[i].cluster), out.push(backends[i]);
  return out;
}

/**
 * Reuses a remembered subtree if what it read is unchanged: the same child
 * table, every selection inside it picking the same tables, and no less work
 * left than it had. Replays its effects in order; false leaves everything untouched.
 */
export function replay(ctx: Flattening, rec: SubtreeRecord, child: TableInfo, out: FinalRoute[], budget: Budget, selections: Map<string, Selection>, select: (parent: TableInfo, selectors: ObjectSelector[]) => Selection): boolean {
  if (rec.table !== child.table) return false;
  if (rec.pressure ? budget.left !== rec.leftBefore : budget.left < rec.leftBefore) return false;
  const fresh = new Map<string, Selection>();
  for (const s of rec.selections) {
    if (s.first) {
      if (selections.has(s.selKey) || fresh.has(s.selKey)) return false;
      const again = select(s.parent, s.selectors); // computed quietly: its messages are in rec.status
      if (!sameSelection(again, s.result)) return false;
      fresh.set(s.selKey, again);
    } else {
      const now = selections.get(s.selKey) ?? fresh.get(s.selKey);
      if (!now || !sameSelection(now, s.result)) return false;
    }
  }
  for (const [k, v] of fresh) selections.set(k, v);
  for (const s of rec.selections) ctx.log.selections.push({ ...s, result: selections.get(s.selKey)! });
  for (const [op, key, message] of rec.status) ctx.status[op](key, message);
  const patched = ctx.memo?.patched;
  for (const recorded of rec.backends) {
    const b = (patched?.size && patched.get(recorded.cluster)) || recorded;
    ctx.log.backends.push(b);
    if (!ctx.backends.has(b.cluster)) ctx.backends.set(b.cluster, b);
  }
  ctx.log.pressure += rec.pressure;
  // What it holds is still what a fresh computation would make here: kept for the next one too.
  const next = ctx.memo?.next;
  for (const entry of rec.nested) {
    next?.set(entry[0], entry[1]);
    ctx.log.records.push(entry);
    ctx.touched.push(entry[1]);
  }
  budget.left -= rec.spent;
  budget.routeCost += rec.routeCost;
  for (const r of rec.routes) out.push(r);
  ctx.touched.push(rec);
  return true;
}

/** Keeps a subtree's record (made or replayed) for the next computation. */
export function keepRecord(ctx: Flattening, key: string, rec: SubtreeRecord): void {
  ctx.memo!.next.set(key, rec);
  ctx.log.records.push([key, rec]);
}
