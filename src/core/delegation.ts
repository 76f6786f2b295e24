// Delegation (semantics §3): which child tables a delegating route selects,
// in order, and why a table its selector matches is left out.
import type { ObjectSelector } from '../resources/schema.js';
import type { Selection } from './incremental-routes.js';
import { byAge, compareStr, isLiteral, selectorMatches } from './match.js';
import type { FlattenContext, TableInfo } from './routes.js';
import type { WorkspaceIndex } from './workspaces.js';

/** The tables a delegating route of `parent` (under `root`) selects, weight first, then oldest, then by name. */
export function selectChildren(
  ctx: Pick<FlattenContext, 'children' | 'clusterName' | 'ws' | 'status'>,
  root: TableInfo,
  parent: TableInfo,
  selectors: ObjectSelector[],
): Selection {
  const errors: string[] = [];
  const excluded: string[] = [];
  const picked = new Map<string, TableInfo>();
  const parentKey = parent.statusKey;
  for (const raw of selectors) {
    // A name without a namespace means the parent's namespace.
    const sel: ObjectSelector = raw.name !== undefined && raw.namespace === undefined ? { ...raw, namespace: parent.table.metadata.namespace } : raw;
    const byName = isLiteral(sel.name) && isLiteral(sel.namespace);
    const candidates = ctx.children.candidates(sel).filter((c) =>
      selectorMatches(sel, { metadata: c.table.metadata, workspace: c.workspace, cluster: c.table.cluster ?? ctx.clusterName }),
    );
    if (byName && candidates.length === 0) {
      errors.push(`delegates to route table ${sel.namespace}/${sel.name}, which does not exist, has hosts (only tables without hosts can be delegated to), or is in a namespace no workspace selects`);
      continue;
    }
    for (const c of candidates) {
      const why = delegationBlocked(ctx.ws, root, parent, c);
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
  return { children, errors, excluded };
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
