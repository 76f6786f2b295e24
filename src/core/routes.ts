// Route tables and delegation (semantics §3, §4): flattens every root table
// into final routes, each carrying its delegation chain, effective labels,
// merged matchers and resolved destinations. Broken routes become a 500
// direct response; the error goes on the owning table's status.
import { hash } from 'node:crypto';
import type { Backend, ChainLink, FinalRoute, RouteAction } from '../ir/types.js';
import type { HttpMatcher, HttpRoute, RouteTableR } from '../resources/schema.js';
import { nsName } from '../resources/schema.js';
import type { ChildIndex } from './child-index.js';
import { resolveDestination, type DestinationCatalog } from './destinations.js';
import { selectChildren } from './delegation.js';
import { globMatch } from './match.js';
import { mergeMatchers, specificity } from './matchers.js';
import type { StatusBook } from './status.js';
import { firstOfEach, keepRecord, newLog, replay, subtreeKey, type FlattenLog, type RoutingMemo, type Selection, type SubtreeRecord } from './incremental-routes.js';

const QUIET = { warn: () => {}, invalid: () => {} };
import type { WorkspaceIndex } from './workspaces.js';

export const MAX_DELEGATION_DEPTH = 64;
/** What a client sees for a route meshplane could not configure: no internal names. */
export const INVALID_ROUTE_RESPONSE = { status: 500, body: 'meshplane: this route is not available because of a configuration error\n' };

export interface TableInfo {
  table: RouteTableR;
  key: string; // ns/name
  /** resourceKey(table): where the table's status goes. */
  statusKey: string;
  workspace: string;
}

export interface FlattenContext {
  ws: WorkspaceIndex;
  status: Pick<StatusBook, 'warn' | 'invalid'>;
  catalog: DestinationCatalog;
  /** Child candidates: tables without hosts, in an owned namespace. */
  children: ChildIndex;
  backends: Map<string, Backend>;
  clusterName: string;
  limits: RouteLimits;
  /** Subtrees of the previous computation, for reuse (incremental-routes.ts). */
  memo?: RoutingMemo;
  /**
   * Destinations resolved in this computation: the same reference resolves the same way. By what
   * resolution reads of the route's context (table namespace, root workspace, workload selector),
   * then of the reference (destinationKey).
   */
  resolved?: Map<string, Map<string, Resolution>>;
}
type Resolution = ReturnType<typeof resolveDestination>;

/** The context of one root table's flattening: its effects logged, for the memo. */
export interface Flattening extends FlattenContext {
  log: FlattenLog;
  /** Routes taken from the memo (their order is copied, never written). */
  /** Routes made (not replayed) in this flattening. */
  made: Set<FinalRoute>;
  touched: SubtreeRecord[];
}

interface Frame {
  root: TableInfo;
  chain: Array<{ info: TableInfo; route: string; index: number }>;
  /** Keys of the tables on the chain, for cycle detection in O(1). */
  chainKeys: Set<string>;
  /** The chain as routes carry it, shared by the routes below: links, workspaces in order, and the id's digest input. */
  path: ChainLink[];
  chainWorkspaces: string[];
  idChain: string;
  labels: Record<string, string>;
  matchers: HttpMatcher[];
  workloadSelector?: Record<string, string>;
  /** ctx.resolved's entry for the routes of this frame's table, once one is resolved. */
  resolvedHere?: Map<string, Resolution>;
}

/** Everything resolveDestination reads of a reference, as a key: kept per reference object (resources are immutable). */
const destinationKeys = new WeakMap<object, string>();
function destinationKey(d: ForwardDestination): string {
  let k = destinationKeys.get(d);
  if (k === undefined) destinationKeys.set(d, (k = `${d.kind}\0${d.ref.name}\0${d.ref.namespace}\0${d.ref.cluster}\0${d.port?.number}\0${d.port?.name}\0${d.subset ? JSON.stringify(d.subset) : ''}`));
  return k;
}
type ForwardDestination = NonNullable<HttpRoute['forwardTo']>['destinations'][number];

const digest = (s: string): string => hash('sha256', s, 'hex').slice(0, 12);

// Per route, the same few values: computed once per table and per hosts list.
const keyJSONs = new WeakMap<TableInfo, string>();
function keyJSON(info: TableInfo): string {
  let k = keyJSONs.get(info);
  if (k === undefined) keyJSONs.set(info, (k = JSON.stringify(info.key)));
  return k;
}
const hostsJoined = new WeakMap<string[], string>();
function joinedHosts(hosts: string[]): string {
  let k = hostsJoined.get(hosts);
  if (k === undefined) hostsJoined.set(hosts, (k = hosts.join(',')));
  return k;
}

function tableWorkloadSelector(t: RouteTableR): Record<string, string> | undefined {
  const sels = t.spec.workloadSelectors;
  if (!sels || sels.length === 0) return undefined;
  // `- {}` selects every workload; the first selector with labels narrows.
  const withLabels = sels.find((s) => s.selector?.labels && Object.keys(s.selector.labels).length);
  return withLabels ? { ...withLabels.selector!.labels! } : {};
}

/** Limits on what one delegation tree may expand to (semantics §3; docs/operations.md "Limits"). */
export interface RouteLimits {
  /** Envoy routes (final routes x matcher alternatives) one root table may produce. */
  maxRoutesPerRootTable: number;
  /** Envoy routes one gateway listener set may carry, summed over its root tables. */
  maxRoutesPerGateway: number;
}
export const DEFAULT_ROUTE_LIMITS: RouteLimits = { maxRoutesPerRootTable: 50_000, maxRoutesPerGateway: 100_000 };

/** Work left for one root table: Envoy routes produced plus delegations followed. */
export interface Budget {
  left: number;
  exceeded: boolean;
  /** Envoy routes of the final routes made or replayed so far (the gateway limit counts these). */
  routeCost: number;
}

/** Why a root table produced nothing because it went over a limit, or undefined. */
export interface FlattenResult {
  routes: FinalRoute[];
  /** Envoy routes they make: one per matcher alternative of each. */
  cost: number;
  overLimit?: string;
}

/** Final routes made (not replayed) since the process started: tests read it to prove the work follows the edit. */
export const flattenWork = { routes: 0 };

/**
 * Flattens one root table (for one gateway, or null for sidecar-served tables).
 * Recursion depth is bounded by MAX_DELEGATION_DEPTH; the work (routes made plus
 * delegations followed) is bounded by the root-table limit, so a small file that
 * fans out exponentially stops at the limit instead of exhausting memory.
 */
export function flattenRootTable(outer: FlattenContext, root: TableInfo, gateway: string | null, hosts: string[]): FlattenResult {
  const log = newLog();
  const real = outer.status;
  const ctx: Flattening = {
    ...outer,
    resolved: (outer.resolved ??= new Map()),
    status: {
      warn: (k, m) => void (log.status.push(['warn', k, m]), real.warn(k, m)),
      invalid: (k, m) => void (log.status.push(['invalid', k, m]), real.invalid(k, m)),
    },
    log,
    made: new Set(),
    touched: [],
  };
  const out: FinalRoute[] = [];
  const frame: Frame = {
    root,
    chain: [],
    chainKeys: new Set(),
    path: [],
    chainWorkspaces: [],
    idChain: '',
    labels: { ...root.table.metadata.labels },
    matchers: [{}],
    workloadSelector: tableWorkloadSelector(root.table),
  };
  const limit = ctx.limits.maxRoutesPerRootTable;
  const budget: Budget = { left: limit, exceeded: false, routeCost: 0 };
  const selections = new Map<string, Selection>();
  const backendsBefore = outer.backends.size;
  // The root table is a subtree too: reused whole when it and everything it selects are unchanged.
  const key = ctx.memo ? `root\0${subtreeKey(gateway, hosts, root, [], frame.labels, frame.matchers, frame.workloadSelector, root)}` : '';
  const rec = ctx.memo?.previous.get(key);
  if (rec && replay(ctx, rec, root, out, budget, selections, (parent, selectors) => selectChildren({ ...ctx, status: QUIET }, frame.root, parent, selectors))) keepRecord(ctx, key, rec);
  else {
    for (let i = 0; i < root.table.spec.http.length && !budget.exceeded; i++) expandRoute(ctx, frame, root, root.table.spec.http[i], i, gateway, hosts, out, budget, selections);
    if (ctx.memo && !budget.exceeded) {
      // The first root of a computation found the backends map empty: its entries are the log's first of each cluster, in order.
      const firstBackends = backendsBefore === 0 ? [...ctx.backends.values()] : firstOfEach(log.backends, 0);
      const made: SubtreeRecord = { table: root.table, leftBefore: limit, spent: limit - budget.left, routeCost: budget.routeCost, pressure: log.pressure, routes: out.slice(), status: log.status.slice(), backends: firstBackends, selections: log.selections.slice(), nested: log.records.slice() };
      keepRecord(ctx, key, made);
      ctx.touched.push(made);
    }
  }
  if (budget.exceeded) {
    return { routes: [], cost: 0, overLimit: `its delegation tree expands to more than ${limit} routes and delegations (limit maxRoutesPerRootTable = ${limit}; raise it with --max-routes-per-table or the settings file), so none of its routes are served; check for tables that delegate to several tables that delegate again` };
  }
  // Positions: written on routes made now, copied for reused ones (whose records then take the copy).
  const renamed = new Map<FinalRoute, FinalRoute>();
  out.forEach((r, i) => {
    if (r.order === i) return;
    if (ctx.made.has(r)) return void (r.order = i);
    const moved = { ...r, order: i };
    renamed.set(r, moved);
    out[i] = moved;
  });
  if (renamed.size) for (const rec of ctx.touched) rec.routes = rec.routes.map((r) => renamed.get(r) ?? r);
  return { routes: out, cost: budget.routeCost };
}

/** Cost of a final route in Envoy routes: one per matcher alternative. */
const spend = (budget: Budget, n: number): boolean => {
  budget.left -= n;
  if (budget.left < 0) budget.exceeded = true;
  return !budget.exceeded;
};

function expandRoute(
  ctx: Flattening,
  frame: Frame,
  info: TableInfo,
  route: HttpRoute,
  index: number,
  gateway: string | null,
  hosts: string[],
  out: FinalRoute[],
  budget: Budget,
  selections: Map<string, Selection>,
): void {
  // Routes without labels of their own share their table's effective labels (nothing writes them).
  const labels = route.labels && Object.keys(route.labels).length ? { ...frame.labels, ...route.labels } : frame.labels;
  const tableKey = info.statusKey;
  // Alternatives multiply down a chain (each parent one with each child one): check the product before building it.
  const alternatives = frame.matchers.length * Math.max(1, route.matchers?.length ?? 0);
  const tooMany = frame.chain.length > 0 && alternatives > Math.max(1, budget.left);
  const merged = frame.chain.length === 0 ? { matchers: route.matchers?.length ? route.matchers : [{}], errors: [] } : tooMany ? { matchers: [], errors: [] } : mergeMatchers(frame.matchers, route.matchers);

  const path: ChainLink[] = [...frame.path, { table: info.key, route: route.name, index }];
  const chainWorkspaces = frame.chainWorkspaces.includes(info.workspace) ? frame.chainWorkspaces : [...frame.chainWorkspaces, info.workspace];
  // JSON.stringify of the [table, index] pairs of the chain, built a link at a time.
  const idChain = `${frame.idChain}${frame.idChain ? ',' : ''}[${keyJSON(info)},${index}]`;
  const make = (action: RouteAction, errors: string[]): FinalRoute => {
    return {
      id: `${gateway ?? 'sidecar'}|${info.key}|${route.name}|${digest(`[${idChain}]` + joinedHosts(hosts))}`,
      gateway,
      hosts,
      table: info.key,
      route: route.name,
      path,
      workspace: info.workspace,
      rootWorkspace: frame.root.workspace,
      chainWorkspaces,
      labels,
      matchers: merged.matchers.length ? merged.matchers : frame.matchers,
      action,
      valid: errors.length === 0,
      errors,
      policies: [],
      skipped: [],
      ...(frame.workloadSelector && Object.keys(frame.workloadSelector).length ? { workloadSelector: frame.workloadSelector } : {}),
      order: 0,
    };
  };
  const emit = (r: FinalRoute): void => {
    const cost = Math.max(1, r.matchers.length);
    if (spend(budget, cost)) out.push(r), ctx.made.add(r), (budget.routeCost += cost), flattenWork.routes++;
  };
  const invalid = (errors: string[]): void => {
    for (const e of errors) ctx.status.invalid(tableKey, `route "${route.name}": ${e}`);
    emit(make({ type: 'directResponse', ...INVALID_ROUTE_RESPONSE }, errors));
  };

  if (tooMany) ctx.log.pressure++;
  if (tooMany) return invalid([`its matchers combined with its parents' make ${alternatives} alternatives, more than the ${budget.left} routes left under the limit maxRoutesPerRootTable = ${ctx.limits.maxRoutesPerRootTable}`]);
  if (merged.errors.length) return invalid(merged.errors.map((e) => `can never match under its parent route: ${e}`));

  if (route.delegate) {
    const chain = [...frame.chain, { info, route: route.name, index }];
    if (chain.length >= MAX_DELEGATION_DEPTH) return invalid([`delegation is deeper than ${MAX_DELEGATION_DEPTH} levels`]);
    if (!spend(budget, 1)) return;
    // The candidates of one delegating route depend on the root and the parent, not on the path that led here.
    const selKey = `${info.key}\0${index}`;
    let selection = selections.get(selKey);
    const first = !selection;
    if (!selection) selections.set(selKey, (selection = selectChildren(ctx, frame.root, info, route.delegate.routeTables)));
    ctx.log.selections.push({ selKey, parent: info, selectors: route.delegate.routeTables, result: selection, first });
    const cycles = selection.children.filter((c) => frame.chainKeys.has(c.key) || c.key === info.key);
    const errors = [...selection.errors, ...cycles.map((c) => `delegation cycle: ${[...chain.map((l) => l.info.key), c.key].join(' -> ')}`)];
    if (errors.length) return invalid(errors);
    if (selection.children.length === 0) {
      ctx.status.warn(tableKey, `route "${route.name}" delegates to no route tables: nothing is served for it`);
      return;
    }
    const chainKeys = new Set(frame.chainKeys).add(info.key);
    const start = out.length;
    for (const child of selection.children) {
      const childFrame: Frame = {
        root: frame.root,
        chain,
        chainKeys,
        path,
        chainWorkspaces,
        idChain,
        labels: { ...labels, ...child.table.metadata.labels },
        matchers: merged.matchers,
        workloadSelector: tableWorkloadSelector(child.table) ?? frame.workloadSelector,
      };
      const key = ctx.memo ? subtreeKey(gateway, hosts, frame.root, chain, childFrame.labels, childFrame.matchers, childFrame.workloadSelector, child) : '';
      const rec = ctx.memo?.previous.get(key);
      if (rec && replay(ctx, rec, child, out, budget, selections, (parent, selectors) => selectChildren({ ...ctx, status: QUIET }, frame.root, parent, selectors))) {
        keepRecord(ctx, key, rec);
        continue;
      }
      const mark = { out: out.length, left: budget.left, routeCost: budget.routeCost, status: ctx.log.status.length, backends: ctx.log.backends.length, selections: ctx.log.selections.length, pressure: ctx.log.pressure, records: ctx.log.records.length };
      const http = child.table.spec.http;
      for (let i = 0; i < http.length && !budget.exceeded; i++) expandRoute(ctx, childFrame, child, http[i], i, gateway, hosts, out, budget, selections);
      if (budget.exceeded) return;
      if (ctx.memo) {
        const made: SubtreeRecord = {
          table: child.table,
          leftBefore: mark.left,
          spent: mark.left - budget.left,
          routeCost: budget.routeCost - mark.routeCost,
          pressure: ctx.log.pressure - mark.pressure,
          routes: out.slice(mark.out),
          status: ctx.log.status.slice(mark.status),
          backends: firstOfEach(ctx.log.backends, mark.backends),
          selections: ctx.log.selections.slice(mark.selections),
          nested: ctx.log.records.slice(mark.records),
        };
        keepRecord(ctx, key, made);
        ctx.touched.push(made);
      }
    }
    if (route.delegate.sortMethod === 'ROUTE_SPECIFICITY') {
      const keyed = out.slice(start).map((r, i) => ({ r, i, s: specificity(r.matchers) }));
      keyed.sort((a, b) => b.s[0] - a.s[0] || b.s[1] - a.s[1] || a.i - b.i);
      for (let i = 0; i < keyed.length; i++) out[start + i] = keyed[i].r;
    }
    return;
  }

  if (route.directResponse) return emit(make({ type: 'directResponse', status: route.directResponse.status, body: route.directResponse.body }, []));
  if (route.redirect) return emit(make({ type: 'redirect', ...route.redirect }, []));

  const fwd = route.forwardTo!;
  const errors: string[] = [];
  const destinations: Array<{ cluster: string; weight: number }> = [];
  if (!frame.resolvedHere) {
    const here = `${info.table.metadata.namespace}\0${frame.root.workspace}\0${frame.workloadSelector ? JSON.stringify(frame.workloadSelector) : ''}`;
    frame.resolvedHere = ctx.resolved!.get(here);
    if (!frame.resolvedHere) ctx.resolved!.set(here, (frame.resolvedHere = new Map()));
  }
  for (const d of fwd.destinations) {
    const rkey = destinationKey(d);
    let r = frame.resolvedHere.get(rkey);
    if (!r) frame.resolvedHere.set(rkey, (r = resolveDestination(ctx.catalog, ctx.ws, d, info.table.metadata.namespace, frame.root.workspace, frame.workloadSelector)));
    if (r.error) {
      errors.push(r.error);
      continue;
    }
    const b = r.resolved!.backend;
    ctx.log.backends.push(b);
    if (!ctx.backends.has(b.cluster)) ctx.backends.set(b.cluster, b);
    destinations.push({ cluster: b.cluster, weight: d.weight ?? 1 });
  }
  if (errors.length) return invalid(errors);
  emit(make({ type: 'forward', destinations, ...(fwd.pathRewrite ? { pathRewrite: fwd.pathRewrite } : {}), ...(fwd.hostRewrite ? { hostRewrite: fwd.hostRewrite } : {}) }, []));
}

export const hostAllowed = (patterns: Array<{ host?: string }> | undefined, host: string): boolean =>
  !patterns || patterns.length === 0 || patterns.some((p) => globMatch(p.host ?? '*', host));

export { nsName };
