// Shared by the three layout candidates: the tree to draw (injected by the
// bench as window.__TREE) and how a candidate reports its timings.
import type { TreeNode } from '../../src/admin/ui/model.js';

declare global {
  interface Window {
    __TREE: TreeNode;
    __result?: { layoutMs: number; firstRenderMs: number; nodes: number };
  }
}

export const tree = (): TreeNode => window.__TREE;

export function flatten(root: TreeNode): Array<{ node: TreeNode; parent?: TreeNode; depth: number }> {
  const out: Array<{ node: TreeNode; parent?: TreeNode; depth: number }> = [];
  const stack: Array<{ node: TreeNode; parent?: TreeNode; depth: number }> = [{ node: root, depth: 0 }];
  while (stack.length) {
    const e = stack.pop()!;
    out.push(e);
    for (let i = e.node.children.length - 1; i >= 0; i--) stack.push({ node: e.node.children[i], parent: e.node, depth: e.depth + 1 });
  }
  return out;
}

/** After the next paint: the first render is on screen. */
export function report(layoutMs: number, nodes: number): void {
  requestAnimationFrame(() =>
    requestAnimationFrame(() => {
      window.__result = { layoutMs, firstRenderMs: performance.now(), nodes };
    }),
  );
}
