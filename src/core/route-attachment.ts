// Attaching applyToRoutes policies to final routes (semantics §5), and what it
// remembers between computations (issue 10 item 3). Routing hands back the
// routes of unchanged subtrees as the same objects in the same order, so the
// previous and the current route lists share a prefix and a suffix; only the
// routes between them, and the routes a changed policy could select, are
// attached again. Counters are sums, so their totals are moved by what
// changed; warnings are replayed in route order (the status's message cap
// depends on it).
import type { FinalRoute } from '../ir/types.js';
import type { PolicyR } from '../resources/schema.js';
import { sharedEnds } from '../ir/shared-ends.js';
import { selectorMatches, type SelectableObject } from './match.js';
import { REQUIRE_AUTH_LABEL, resolveConflicts, type FeatureGates, type PlacedPolicy } from './policies.js';
import type { StatusBatch, StatusBook } from './status.js';

/** Status changes of attaching policies to one route, so they can be replayed. */
interface RouteEffects {
  /** The policies that selected the route: each counts routesSelected once. */
  selected: readonly PlacedPolicy[];
  /** The key of the route's table, which counts policiesApplied (none for an invalid route). */
  table: string | undefined;
  applied: number;
  warnings: ReadonlyArray<[string, string]>;
}

interface RouteAttachment {
  output: FinalRoute;
  effects: RouteEffects;
}

const NO_WARNINGS_YET: ReadonlyArray<[string, string]> = [];
const NO_RECORDER = { warn: (): void => undefined };
const NO_EFFECTS: RouteEffects = { selected: [], table: undefined, applied: 0, warnings: NO_WARNINGS_YET };

/** The previous computation's routes and their attachments (same positions). */
export interface RouteAttachMemo {
  input: FinalRoute[];
  attached: RouteAttachment[];
  /** The attached routes (attached[i].output), as returned. */
  output: FinalRoute[];
  workspacePolicies: Map<string, PolicyR[]>;
  index: SelectorIndex;
  /** Positions in input of the routes with each workspace on their chain, once asked for. */
  positions?: Map<string, number[]>;
  positionsOf?: FinalRoute[];
  gatesKey: string;
  /** The placement the groups and the index were made from. */
  placed?: PlacedPolicy[];
  /** Counter totals over the attachments: key -> counter -> [sum, contributions]. */
  counts: Map<string, Map<string, [number, number]>>;
  /** What the attachments write to status, per key. */
  batches: Map<string, StatusBatch>;
  /** The positions in `attached` whose warnings name each key, ascending (see warnedPositions). */
  warned?: Map<string, number[]>;
}
export const newRouteAttachMemo = (): RouteAttachMemo => ({ input: [], attached: [], output: [], workspacePolicies: new Map(), index: new Map(), gatesKey: '', counts: new Map(), batches: new Map(), warned: undefined });

function addCounts(totals: RouteAttachMemo['counts'], effects: RouteEffects, times: number): void {
  const add = (key: string, counter: string, by: number) => {
    let m = totals.get(key);
    if (!m) totals.set(key, (m = new Map()));
    const t = m.get(counter);
    if (t) (t[0] += by * times), (t[1] += times);
    else m.set(counter, [by * times, times]);
  };
  for (const p of effects.selected) add(p.key, 'routesSelected', 1);
  if (effects.table !== undefined) add(effects.table, 'policiesApplied', effects.applied);
}

/** Routes attached (not reused) since the process started: tests read it to prove the work follows the edit. */
export const attachWork = { routes: 0 };

type Selector = NonNullable<PolicyR['spec']['applyToRoutes']>[number];
type Entry = { p: PlacedPolicy; sel: Selector };
type WorkspaceSelectors = { placed: PlacedPolicy[]; byPair: Map<string, Entry[]>; rest: Entry[] };
type SelectorIndex = Map<string, WorkspaceSelectors>;

/** One workspace's route selectors, indexed by one label pair they require, so a route only looks at selectors that can match it. */
function indexSelectors(placed: PlacedPolicy[]): WorkspaceSelectors {
  const idx: WorkspaceSelectors = { placed, byPair: new Map(), rest: [] };
  for (const p of placed) {
    for (const sel of p.policy.spec.applyToRoutes!) {
      let pair: string | undefined;
      for (const k in sel.route?.labels ?? {}) {
        pair = `${k}\0${sel.route!.labels![k]}`;
        break;
      }
      if (pair === undefined) idx.rest.push({ p, sel });
      else {
        const list = idx.byPair.get(pair);
        if (list) list.push({ p, sel });
        else idx.byPair.set(pair, [{ p, sel }]);
      }
    }
  }
  return idx;
}

/**
 * Whether a replaced policy attaches to routes as its predecessor did: route
 * attachment reads its identity, age, route selectors and (transformations)
 * phase, not its config; a config edit re-attaches no route (translation
 * follows the config through the policy IR).
 */
function sameForRoutes(a: PolicyR, b: PolicyR): boolean {
  if (a.kind !== b.kind || a.metadata.namespace !== b.metadata.namespace || a.metadata.name !== b.metadata.name || a.cluster !== b.cluster || a.metadata.creationTimestamp !== b.metadata.creationTimestamp) return false;
  if (a.kind === 'TransformationPolicy' && JSON.stringify((a.spec.config as { phase?: unknown }).phase ?? null) !== JSON.stringify((b.spec.config as { phase?: unknown }).phase ?? null)) return false;
  return JSON.stringify(a.spec.applyToRoutes) === JSON.stringify(b.spec.applyToRoutes);
}

/** Attaches applyToRoutes policies to final routes; returns the routes with their policies, at the same positions. */
export function attachRoutePolicies(routes: FinalRoute[], placed: PlacedPolicy[], clusterName: string, status: StatusBook, gates: FeatureGates, memo: RouteAttachMemo = newRouteAttachMemo()): FinalRoute[] {
  const gatesKey = JSON.stringify(gates);
  if (memo.gatesKey !== gatesKey) Object.assign(memo, newRouteAttachMemo(), { gatesKey });
  // The same placement as last time (no policy changed): the same groups and selector index.
  const samePlacement = memo.placed === placed;
  const byWorkspace = samePlacement ? memo.workspacePolicies : new Map<string, PolicyR[]>();
  if (!samePlacement) {
    const placedBy = new Map<string, PlacedPolicy[]>();
    for (const p of placed) {
      if (!p.policy.spec.applyToRoutes?.length) continue;
      const mine = placedBy.get(p.workspace);
      if (mine) mine.push(p), byWorkspace.get(p.workspace)!.push(p.policy);
      else placedBy.set(p.workspace, [p]), byWorkspace.set(p.workspace, [p.policy]);
    }
    // A workspace's selector index is built again only when its placed policies changed.
    const index: SelectorIndex = new Map();
    for (const [w, list] of placedBy) {
      const before = memo.index.get(w);
      index.set(w, before && before.placed.length === list.length && before.placed.every((p, i) => p === list[i]) ? before : indexSelectors(list));
    }
    memo.index = index;
  }
  const index = memo.index;
  // The route policies added, removed or changed since the last run, by workspace: a route is
  // attached again only if one of them (before or after) could select it.
  const changed = new Map<string, PolicyR[]>();
  if (byWorkspace !== memo.workspacePolicies) for (const w of new Set([...byWorkspace.keys(), ...memo.workspacePolicies.keys()])) {
    const a = byWorkspace.get(w) ?? [];
    const b = memo.workspacePolicies.get(w) ?? [];
    if (a.length === b.length && a.every((p, i) => p === b[i] || sameForRoutes(p, b[i]))) continue;
    const before = new Set(b);
    const after = new Set(a);
    const diff = [...a.filter((p) => !before.has(p)), ...b.filter((p) => !after.has(p))];
    changed.set(w, diff.length ? diff : [...a, ...b]); // the same policies in another order: all of them
  }
  const mayChange = (route: FinalRoute): boolean =>
    changed.size > 0 &&
    route.chainWorkspaces.some((w) => {
      const list = changed.get(w);
      if (!list) return false;
      const target = routeTarget(route, clusterName);
      return list.some((p) => p.spec.applyToRoutes!.some((sel) => selectorMatches(sel.route, target)));
    });
  const attach = (route: FinalRoute): RouteAttachment => {
    if (!route.valid) return { output: route, effects: NO_EFFECTS };
    attachWork.routes++;
    return attachToRoute(route, index, clusterName, gates);
  };

  // The positions both lists share: a prefix and a suffix of the same route objects.
  const prev = memo.input;
  const prevAttached = memo.attached;
  const n = routes.length;
  const m = prev.length;
  const { head, tail } = sharedEnds(prev, routes);
  // Between them: the previous attachments by route object, reused when nothing changed for the route.
  const between = new Map<FinalRoute, RouteAttachment>();
  // The keys whose warnings or counters may differ from the last computation's.
  const dirty = new Set<string>();
  const touch = (e: RouteEffects) => {
    for (const p of e.selected) dirty.add(p.key);
    if (e.table !== undefined) dirty.add(e.table);
    for (const w of e.warnings) dirty.add(w[0]);
  };
  for (let j = head; j < m - tail; j++) {
    between.set(prev[j], prevAttached[j]);
    addCounts(memo.counts, prevAttached[j].effects, -1);
    touch(prevAttached[j].effects);
  }
  // Of the shared positions, those a changed policy could select: found through the routes by workspace.
  const again = new Set<number>();
  if (changed.size > 0 && head + tail > 0) {
    if (memo.positionsOf !== prev) {
      memo.positions = new Map();
      for (let j = 0; j < m; j++) {
        for (const w of prev[j].chainWorkspaces) {
          const list = memo.positions.get(w);
          if (list) list.push(j);
          else memo.positions.set(w, [j]);
        }
      }
      memo.positionsOf = prev;
    }
    for (const w of changed.keys()) {
      for (const j of memo.positions!.get(w) ?? []) {
        if (j >= head && j < m - tail) continue;
        const i = j < head ? j : n - (m - j);
        if (!again.has(i) && mayChange(routes[i])) again.add(i);
      }
    }
  }
  // The shared prefix and suffix are copied; the middle is attached (or found), then the shared routes a change reaches.
  const midAttached: RouteAttachment[] = [];
  const midResult: FinalRoute[] = [];
  for (let i = head; i < n - tail; i++) {
    const route = routes[i];
    const before = between.get(route);
    const a = before && !mayChange(route) ? before : attach(route);
    if (!before || a !== before) between.set(route, a); // a route twice in the list is attached once
    addCounts(memo.counts, a.effects, 1);
    touch(a.effects);
    midAttached.push(a);
    midResult.push(a.output);
  }
  // One allocation of the final size each (pushing 10k shared entries grew the arrays several times).
  const attached = joinEnds(prevAttached, head, midAttached, tail);
  const result = joinEnds(memo.output, head, midResult, tail);
  for (const i of again) {
    addCounts(memo.counts, attached[i].effects, -1);
    touch(attached[i].effects);
    const a = attach(routes[i]);
    addCounts(memo.counts, a.effects, 1);
    touch(a.effects);
    attached[i] = a;
    result[i] = a.output;
  }
  // Each key's warnings (in route order) and counters, as one batch; only the dirty keys' are made again.
  if (dirty.size) {
    memo.warned = warnedPositions(memo.warned, prevAttached, attached, head, n - tail, again);
    for (const key of dirty) {
      const list: string[] = [];
      for (const i of memo.warned.get(key) ?? []) for (const [k, message] of attached[i].effects.warnings) if (k === key) list.push(message);
      const totals = memo.counts.get(key);
      let counters: Record<string, number> | undefined;
      for (const [counter, [sum, contributions]] of totals ?? []) {
        if (contributions > 0) (counters ??= {})[counter] = sum;
        else totals!.delete(counter);
      }
      if (totals?.size === 0) memo.counts.delete(key);
      if (counters || list.length) memo.batches.set(key, { messages: list, ...(counters ? { counters } : {}) });
      else memo.batches.delete(key);
    }
  }
  if (!dirty.size && n !== m) memo.warned = undefined; // its positions moved: made again when next needed
  for (const [key, batch] of memo.batches) status.addBatch(key, batch);
  memo.input = routes;
  memo.attached = attached;
  memo.output = result;
  memo.workspacePolicies = byWorkspace;
  memo.placed = placed;
  return result;
}

/**
 * The positions whose warnings name each key. An edit in place (as many
 * routes as before) patches the last index at the positions attached again,
 * so a key's warnings are gathered from its own routes, not from every
 * route; otherwise (or with no index yet) it is made from every attachment.
 * A patched key's list is filtered and merged once (linear in its length,
 * however many of its positions changed).
 */
function warnedPositions(last: Map<string, number[]> | undefined, before: RouteAttachment[], now: RouteAttachment[], from: number, to: number, again: Set<number>): Map<string, number[]> {
  if (!last || before.length !== now.length) {
    const index = new Map<string, number[]>();
    for (let i = 0; i < now.length; i++) {
      for (const key of keysOf(now[i].effects.warnings)) {
        const list = index.get(key);
        if (list) list.push(i);
        else index.set(key, [i]);
      }
    }
    return index;
  }
  const removed = new Map<string, Set<number>>();
  const added = new Map<string, number[]>();
  const patch = (i: number) => {
    const old = before[i].effects.warnings;
    const next = now[i].effects.warnings;
    if (old === next) return;
    for (const key of keysOf(old)) {
      const set = removed.get(key);
      if (set) set.add(i);
      else removed.set(key, new Set([i]));
    }
    for (const key of keysOf(next)) {
      const list = added.get(key);
      if (list) list.push(i);
      else added.set(key, [i]);
    }
  };
  for (let i = from; i < to; i++) patch(i);
  for (const i of again) patch(i);
  for (const key of new Set([...removed.keys(), ...added.keys()])) {
    const gone = removed.get(key);
    const kept = gone ? (last.get(key) ?? []).filter((i) => !gone.has(i)) : (last.get(key) ?? []);
    const fresh = (added.get(key) ?? []).sort((a, b) => a - b);
    const merged = fresh.length === 0 ? kept : mergeAscending(kept, fresh);
    if (merged.length) last.set(key, merged);
    else last.delete(key);
  }
  return last;
}

/** The keys a route's warnings name, each once. */
function keysOf(warnings: ReadonlyArray<[string, string]>): string[] {
  if (warnings.length === 0) return [];
  if (warnings.length === 1) return [warnings[0][0]];
  return [...new Set(warnings.map((w) => w[0]))];
}

/** Two ascending lists of distinct positions as one. */
function mergeAscending(a: number[], b: number[]): number[] {
  const out: number[] = new Array(a.length + b.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length || j < b.length) out[k++] = j >= b.length || (i < a.length && a[i] < b[j]) ? a[i++] : b[j++];
  return out;
}

function attachToRoute(route: FinalRoute, index: SelectorIndex, clusterName: string, gates: FeatureGates): RouteAttachment {
  const target = routeTarget(route, clusterName);
  // Few policies select one route: an array (a set once it grows) and no per-label tuples.
  const found: PlacedPolicy[] = [];
  let seen: Set<PlacedPolicy> | undefined;
  const collect = (list: Entry[] | undefined): void => {
    if (!list) return;
    for (const e of list) {
      if ((seen ? seen.has(e.p) : found.includes(e.p)) || !selectorMatches(e.sel.route, target)) continue;
      found.push(e.p);
      if (seen) seen.add(e.p);
      else if (found.length > 16) seen = new Set(found);
    }
  };
  let labelPairs: string[] | undefined;
  for (const w of route.chainWorkspaces) {
    const idx = index.get(w);
    if (!idx) continue;
    // labels match the effective labels; name/namespace/workspace the defining table
    collect(idx.rest);
    if (!labelPairs) {
      labelPairs = [];
      for (const k in route.labels) labelPairs.push(`${k}\0${route.labels[k]}`);
    }
    for (const pair of labelPairs) collect(idx.byPair.get(pair));
  }
  // Ranks are distinct, so the order found in does not matter.
  const candidates = sortByRank(found);
  let warnings = NO_WARNINGS_YET as Array<[string, string]>;
  // resolveConflicts warns only among two or more candidates.
  const recorder = candidates.length < 2 ? NO_RECORDER : { warn: (key: string, message: string) => void (warnings === NO_WARNINGS_YET ? (warnings = [[key, message]]) : warnings.push([key, message])) };
  const { applied, skipped } = resolveConflicts(candidates, `route ${route.table}/${route.route}`, recorder);
  const effects: RouteEffects = { selected: candidates, table: tableName(route.table).key, applied: applied.length, warnings };
  let next: FinalRoute = { ...route, policies: applied, skipped };
  if (
    gates.gatewayDefaultDenyAllHTTPRequests &&
    route.gateway !== null &&
    route.labels[REQUIRE_AUTH_LABEL] === 'true' &&
    !applied.some((p) => p.kind === 'ExtAuthPolicy' || p.kind === 'JWTPolicy')
  ) {
    next = { ...next, action: { type: 'directResponse', status: 403, body: 'RBAC: access denied' }, denied: 'gatewayDefaultDenyAllHTTPRequests' };
  }
  return { output: next, effects };
}


/** What a route selector is matched against: the effective labels; name, namespace and workspace of the defining table. */
function routeTarget(route: FinalRoute, clusterName: string): SelectableObject {
  const t = tableName(route.table);
  return { metadata: { name: t.name, namespace: t.namespace, labels: route.labels }, workspace: route.workspace, cluster: t.cluster ?? clusterName };
}

// route.table is "ns/name", with "@cluster" for a table outside the default cluster; 10k routes share ~1k tables.
interface TableName { namespace: string; name: string; cluster: string | undefined; /** Its status key. */ key: string }
const tableNames = new Map<string, TableName>();
function tableName(table: string): TableName {
  let t = tableNames.get(table);
  if (t) return t;
  const [namespace, nameAt] = table.split('/');
  const [name, cluster] = nameAt.split('@');
  t = { namespace, name, cluster, key: `RouteTable/${table}` };
  if (tableNames.size >= 100_000) tableNames.clear(); // bounded: a cache, not a record
  tableNames.set(table, t);
  return t;
}

/** The first `head` and last `tail` items of `list` around `middle`. */
function joinEnds<T>(list: T[], head: number, middle: T[], tail: number): T[] {
  if (head + middle.length + tail !== list.length) return list.slice(0, head).concat(middle, tail ? list.slice(list.length - tail) : []);
  // As many routes as before (an edit in place): one copy, the middle written over it.
  const out = list.slice();
  for (let i = 0; i < middle.length; i++) out[head + i] = middle[i];
  return out;
}

/** Oldest first, in place. Insertion sort for the few policies one route has (Array.prototype.sort allocates per call). */
function sortByRank(list: PlacedPolicy[]): PlacedPolicy[] {
  if (list.length > 16) return list.sort((a, b) => a.rank - b.rank);
  for (let i = 1; i < list.length; i++) {
    const p = list[i];
    let j = i - 1;
    for (; j >= 0 && list[j].rank > p.rank; j--) list[j + 1] = list[j];
    list[j + 1] = p;
  }
  return list;
}
