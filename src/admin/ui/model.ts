// The page's model, pure and DOM-free (unit-tested in Node): routes grouped per
// gateway and host, and each group's delegation tree (one node per link of the
// routes' chains, the final routes as leaves).
import type { ExplainPayload, UiLink, UiRouteSummary } from './payload.js';

export interface HostGroup {
  /** Stable across updates: `${gateway}|${host}`. */
  key: string;
  gateway: string | null;
  host: string;
  routes: UiRouteSummary[];
  invalid: number;
  skipped: number;
}

export interface TreeNode {
  /** Stable across updates: the chain prefix for a delegating link, `route:<id>` for a final route. */
  key: string;
  kind: 'host' | 'link' | 'route';
  label: string;
  workspace: string;
  link?: UiLink;
  route?: UiRouteSummary;
  children: TreeNode[];
  /** Final routes at or below this node. */
  leaves: number;
}

export const SIDECARS = '(sidecars)';
export const UNKNOWN_WORKSPACE = '(another workspace)';

export function hostGroups(p: ExplainPayload): HostGroup[] {
  const groups = new Map<string, HostGroup>();
  for (const r of p.routes) {
    for (const host of r.hosts.length ? r.hosts : ['*']) {
      const key = `${r.gateway ?? SIDECARS}|${host}`;
      let g = groups.get(key);
      if (!g) groups.set(key, (g = { key, gateway: r.gateway, host, routes: [], invalid: 0, skipped: 0 }));
      g.routes.push(r);
      if (!r.valid) g.invalid++;
      g.skipped += r.skipped;
    }
  }
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return [...groups.values()].sort((a, b) => cmp(a.gateway ?? '\uffff', b.gateway ?? '\uffff') || cmp(a.host, b.host));
}

export const linkLabel = (l: { table: string; route: string }): string => `${l.table}:${l.route}`;

/** The delegation tree of one host: root tables' routes under the host, delegated routes under the route that delegates. */
export function delegationTree(g: HostGroup): TreeNode {
  const root: TreeNode = { key: `host:${g.key}`, kind: 'host', label: g.host, workspace: '', children: [], leaves: 0 };
  const byKey = new Map<string, TreeNode>();
  for (const r of [...g.routes]) {
    let parent = root;
    let prefix = '';
    root.leaves++;
    r.path.forEach((l, i) => {
      const last = i === r.path.length - 1;
      prefix += (i ? ' > ' : '') + linkLabel(l);
      if (last) {
        parent.children.push({ key: `route:${r.id}`, kind: 'route', label: linkLabel(l), workspace: l.workspace ?? r.workspace, link: l, route: r, children: [], leaves: 1 });
        return;
      }
      let n = byKey.get(prefix);
      if (!n) {
        n = { key: prefix, kind: 'link', label: linkLabel(l), workspace: l.workspace ?? UNKNOWN_WORKSPACE, link: l, children: [], leaves: 0 };
        byKey.set(prefix, n);
        parent.children.push(n);
      }
      n.leaves++;
      parent = n;
    });
  }
  return root;
}

export function findNode(root: TreeNode, key: string | undefined): TreeNode | undefined {
  if (!key) return undefined;
  const stack = [root];
  while (stack.length) {
    const n = stack.pop()!;
    if (n.key === key) return n;
    for (const c of n.children) stack.push(c);
  }
  return undefined;
}
