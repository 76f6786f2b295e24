// Route tables and delegation (semantics §3, §4): flattens every root table
// into final routes, each carrying its delegation chain, effective labels,
// merged matchers and resolved destinations. Broken routes become a 500
// direct response; the error goes on the owning table's status.
import { createHash } from 'node:crypto';
import type { Backend, ChainLink, FinalRoute, RouteAction } from '../ir/types.js';
import type { HttpMatcher, HttpRoute, ObjectSelector, RouteTableR } from '../resources/schema.js';
import { nsName, resourceKey } from '../resources/schema.js';
import { resolveDestination, type DestinationCatalog } from './destinations.js';
import { byAge, compareStr, globMatch, selectorMatches } from './match.js';
import { mergeMatchers, specificity } from './matchers.js';
import type { StatusBook } from './status.js';
import type { WorkspaceIndex } from './workspaces.js';

export const MAX_DELEGATION_DEPTH = 64;
/** What a client sees for a route meshplane could not configure: no internal names. */
export const INVALID_ROUTE_RESPONSE = { status: 500, body: 'meshplane: this route is not available because of a configuration error\n' };

export interface TableInfo {
  table: RouteTableR;
  key: string; // ns/name
  workspace: string;
}

export interface FlattenContext {
  ws: WorkspaceIndex;
  status: StatusBook;
  catalog: DestinationCatalog;
  /** Child candidates: tables without hosts, in an owned namespace. */
  childTables: TableInfo[];
  backends: Map<string, Backend>;
  clusterName: string;
}

interface Frame {
  root: TableInfo;
  chain: Array<{ info: TableInfo; route: string; index: number }>;
  labels: Record<string, string>;
  matchers: HttpMatcher[];
  workloadSelector?: Record<string, string>;
}

const digest = (s: string): string => createHash('sha256').update(s).digest('hex').slice(0, 12);

function tableWorkloadSelector(t: RouteTableR): Record<string, string> | undefined {
  const sels = t.spec.workloadSelectors;
  if (!sels || sels.length === 0) return undefined;
  // `- {}` selects every workload; the first selector with labels narrows.
  const withLabels = sels.find((s) => s.selector?.labels && Object.keys(s.selector.labels).length);
  return withLabels ? { ...withLabels.selector!.labels! } : {};
}

/** Flattens one root table (for one gateway, or null for sidecar-served tables). */
export function flattenRootTable(ctx: FlattenContext, root: TableInfo, gateway: string | null, hosts: string[]): FinalRoute[] {
  const out: FinalRoute[] = [];
  const frame: Frame = {
    root,
    chain: [],
    labels: { ...root.table.metadata.labels },
    matchers: [{}],
    workloadSelector: tableWorkloadSelector(root.table),
  };
  root.table.spec.http.forEach((route, i) => out.push(...expandRoute(ctx, frame, root, route, i, gateway, hosts)));
  out.forEach((r, i) => (r.order = i));
  return out;
}

function expandRoute(ctx: FlattenContext, frame: Frame, info: TableInfo, route: HttpRoute, index: number, gateway: string | null, hosts: string[]): FinalRoute[] {
  const labels = { ...frame.labels, ...(route.labels ?? {}) };
  const chain = [...frame.chain, { info, route: route.name, index }];
  const merged = frame.chain.length === 0 ? { matchers: route.matchers?.length ? route.matchers : [{}], errors: [] } : mergeMatchers(frame.matchers, route.matchers);
  const tableKey = resourceKey(info.table);

  const make = (action: RouteAction, errors: string[]): FinalRoute => {
    const path: ChainLink[] = chain.map((c) => ({ table: c.info.key, route: c.route }));
    return {
      id: `${gateway ?? 'sidecar'}|${info.key}|${route.name}|${digest(JSON.stringify(chain.map((c) => [c.info.key, c.index])) + hosts.join(','))}`,
      gateway,
      hosts,
      table: info.key,
      route: route.name,
      path,
      workspace: info.workspace,
      rootWorkspace: frame.root.workspace,
      chainWorkspaces: [...new Set(chain.map((c) => c.info.workspace))],
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
  const invalid = (errors: string[]): FinalRoute[] => {
    for (const e of errors) ctx.status.invalid(tableKey, `route "${route.name}": ${e}`);
    return [make({ type: 'directResponse', ...INVALID_ROUTE_RESPONSE }, errors)];
  };

  if (merged.errors.length) return invalid(merged.errors.map((e) => `can never match under its parent route: ${e}`));

  if (route.delegate) {
    if (chain.length >= MAX_DELEGATION_DEPTH) return invalid([`delegation is deeper than ${MAX_DELEGATION_DEPTH} levels`]);
    const selection = selectChildren(ctx, frame, info, route.delegate.routeTables, chain);
    if (selection.errors.length) return invalid(selection.errors);
    if (selection.children.length === 0) {
      ctx.status.warn(tableKey, `route "${route.name}" delegates to no route tables: nothing is served for it`);
      return [];
    }
    const flattened: FinalRoute[] = [];
    for (const child of selection.children) {
      const childFrame: Frame = {
        root: frame.root,
        chain,
        labels: { ...labels, ...child.table.metadata.labels },
        matchers: merged.matchers,
        workloadSelector: tableWorkloadSelector(child.table) ?? frame.workloadSelector,
      };
      child.table.spec.http.forEach((childRoute, i) => flattened.push(...expandRoute(ctx, childFrame, child, childRoute, i, gateway, hosts)));
    }
    if (route.delegate.sortMethod === 'ROUTE_SPECIFICITY') {
      const keyed = flattened.map((r, i) => ({ r, i, s: specificity(r.matchers) }));
      keyed.sort((a, b) => b.s[0] - a.s[0] || b.s[1] - a.s[1] || a.i - b.i);
      return keyed.map((k) => k.r);
    }
    return flattened;
  }

  if (route.directResponse) return [make({ type: 'directResponse', status: route.directResponse.status, body: route.directResponse.body }, [])];
  if (route.redirect) return [make({ type: 'redirect', ...route.redirect }, [])];

  const fwd = route.forwardTo!;
  const errors: string[] = [];
  const destinations: Array<{ cluster: string; weight: number }> = [];
  for (const d of fwd.destinations) {
    const r = resolveDestination(ctx.catalog, ctx.ws, d, info.table.metadata.namespace, frame.root.workspace, frame.workloadSelector);
    if (r.error) {
      errors.push(r.error);
      continue;
    }
    const b = r.resolved!.backend;
    if (!ctx.backends.has(b.cluster)) ctx.backends.set(b.cluster, b);
    destinations.push({ cluster: b.cluster, weight: d.weight ?? 1 });
  }
  if (errors.length) return invalid(errors);
  return [make({ type: 'forward', destinations, ...(fwd.pathRewrite ? { pathRewrite: fwd.pathRewrite } : {}), ...(fwd.hostRewrite ? { hostRewrite: fwd.hostRewrite } : {}) }, [])];
}

const isLiteral = (s: string | undefined): s is string => s !== undefined && !s.includes('*');

function selectChildren(
  ctx: FlattenContext,
  frame: Frame,
  parent: TableInfo,
  selectors: ObjectSelector[],
  chain: Frame['chain'],
): { children: TableInfo[]; errors: string[] } {
  const errors: string[] = [];
  const excluded: string[] = [];
  const picked = new Map<string, TableInfo>();
  const parentKey = resourceKey(parent.table);
  for (const raw of selectors) {
    // A name without a namespace means the parent's namespace.
    const sel: ObjectSelector = raw.name !== undefined && raw.namespace === undefined ? { ...raw, namespace: parent.table.metadata.namespace } : raw;
    const byName = isLiteral(sel.name) && isLiteral(sel.namespace);
    const candidates = ctx.childTables.filter((c) =>
      selectorMatches(sel, { metadata: c.table.metadata, workspace: c.workspace, cluster: c.table.cluster ?? ctx.clusterName }),
    );
    if (byName && candidates.length === 0) {
      errors.push(`delegates to route table ${sel.namespace}/${sel.name}, which does not exist, has hosts (only tables without hosts can be delegated to), or is in a namespace no workspace selects`);
      continue;
    }
    for (const c of candidates) {
      if (chain.some((link) => link.info.key === c.key)) {
        errors.push(`delegation cycle: ${[...chain.map((l) => l.info.key), c.key].join(' -> ')}`);
        continue;
      }
      const why = delegationBlocked(ctx.ws, frame.root, parent, c);
      if (why) {
        if (byName) errors.push(`cannot delegate to route table ${c.key}: ${why}`);
        else excluded.push(`route table ${c.key} matches a delegate selector but is excluded: ${why}`);
        continue;
      }
      picked.set(c.key, c);
    }
  }
  // Excluded tables are a warning while something is served, an error when nothing is.
  if (picked.size === 0 && errors.length === 0) errors.push(...excluded);
  else for (const e of excluded) ctx.status.warn(parentKey, e);
  const children = [...picked.values()].sort(
    (a, b) => (b.table.spec.weight ?? 0) - (a.table.spec.weight ?? 0) || byAge(a.table, b.table) || compareStr(a.key, b.key),
  );
  return { children, errors };
}

/**
 * Semantics §3: a parent->child link holds through visibility (the child's
 * workspace exports the child table to the parent's, which imports it) or
 * through hand-down (the parent's and the root's workspaces export their
 * tables to the child's, which imports them). Says why neither holds.
 */
function delegationBlocked(ws: WorkspaceIndex, root: TableInfo, parent: TableInfo, child: TableInfo): string | undefined {
  if (parent.workspace === child.workspace || ws.isVisible('ROUTE_TABLE', child.table, child.workspace, parent.workspace)) return undefined;
  const handDown: string[] = [];
  for (const ancestor of root.key === parent.key ? [parent] : [root, parent]) {
    if (ancestor.workspace === child.workspace) continue;
    if (!ws.exportsTo(ancestor.workspace, child.workspace, 'ROUTE_TABLE', ancestor.table)) {
      handDown.push(`workspace "${ancestor.workspace}" does not export ROUTE_TABLE to "${child.workspace}"`);
    }
    if (!ws.importsFrom(child.workspace, ancestor.workspace, 'ROUTE_TABLE', ancestor.table)) {
      handDown.push(`workspace "${child.workspace}" does not import ROUTE_TABLE from "${ancestor.workspace}"`);
    }
  }
  if (handDown.length === 0) return undefined;
  return `the table is not visible to the parent (${ws.explainInvisible('ROUTE_TABLE', child.table, child.workspace, parent.workspace)}), nor handed down to it (${[...new Set(handDown)].join('; ')})`;
}

export const hostAllowed = (patterns: Array<{ host?: string }> | undefined, host: string): boolean =>
  !patterns || patterns.length === 0 || patterns.some((p) => globMatch(p.host ?? '*', host));

export { nsName };
