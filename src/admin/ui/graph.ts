// The delegation tree of one host as SVG, with workspaces as swim lanes.
// d3-hierarchy's tidy tree gives each node its row; the column is the node's
// workspace lane (and, inside a lane, its delegation depth), so a delegation
// into another team's table visibly crosses into that team's lane. Chosen over
// elkjs and cytoscape by measurement (docs/ui.md).
import { hierarchy, tree, type HierarchyPointNode } from 'd3-hierarchy';
import type { TreeNode } from './model.js';

export const ROW = 28;
const NODE_W = 230;
const NODE_H = 22;
const COL_W = NODE_W + 56;
const PAD = 12;
export const GATEWAY_LANE = 'gateway';

export interface Lane {
  workspace: string;
  x: number;
  width: number;
}

export interface Layout {
  width: number;
  height: number;
  lanes: Lane[];
  nodes: Array<{ node: TreeNode; x: number; y: number; parent?: { x: number; y: number } }>;
}

const laneOf = (n: TreeNode) => (n.kind === 'host' ? GATEWAY_LANE : n.workspace);

export function layoutTree(root: TreeNode): Layout {
  const h = hierarchy(root, (n) => n.children);
  const placed = tree<TreeNode>().nodeSize([ROW, COL_W]).separation(() => 1)(h);
  const all: Array<HierarchyPointNode<TreeNode>> = placed.descendants();
  // Lanes in order of first appearance (shallowest first); each has one column per depth it holds.
  const depths = new Map<string, number[]>();
  for (const n of all) {
    const d = depths.get(laneOf(n.data)) ?? [];
    if (!d.includes(n.depth)) d.push(n.depth);
    depths.set(laneOf(n.data), d);
  }
  const order = [...depths.keys()].sort((a, b) => Math.min(...depths.get(a)!) - Math.min(...depths.get(b)!) || (a === GATEWAY_LANE ? -1 : b === GATEWAY_LANE ? 1 : a < b ? -1 : 1));
  const lanes: Lane[] = [];
  const column = new Map<string, number>();
  let x = 0;
  for (const w of order) {
    const ds = depths.get(w)!.sort((a, b) => a - b);
    ds.forEach((d, i) => column.set(`${w}|${d}`, x + PAD + i * COL_W));
    lanes.push({ workspace: w, x, width: ds.length * COL_W + PAD });
    x += ds.length * COL_W + PAD;
  }
  let minY = Infinity;
  for (const n of all) minY = Math.min(minY, n.x);
  const pos = new Map<HierarchyPointNode<TreeNode>, { x: number; y: number }>();
  for (const n of all) pos.set(n, { x: column.get(`${laneOf(n.data)}|${n.depth}`)!, y: n.x - minY + PAD });
  let height = 0;
  const nodes = all.map((n) => {
    const p = pos.get(n)!;
    height = Math.max(height, p.y + NODE_H + PAD);
    return { node: n.data, ...p, ...(n.parent ? { parent: pos.get(n.parent)! } : {}) };
  });
  return { width: x, height, lanes, nodes };
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const fit = (s: string, max: number) => (s.length > max ? `${s.slice(0, max - 1)}…` : s);

/**
 * The SVG markup of a layout; nodes carry data-key for clicks. With a window
 * (pixel rows top..bottom) only what is in it is drawn: the page draws what
 * is on screen, so a host with thousands of routes renders as fast as one with fifty.
 */
export function renderSvg(l: Layout, selected?: string, window?: { top: number; bottom: number }): string {
  const top = window ? window.top - ROW : -Infinity;
  const bottom = window ? window.bottom + ROW : Infinity;
  const out: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" class="tree" width="${l.width}" height="${l.height}" viewBox="0 0 ${l.width} ${l.height}">`];
  l.lanes.forEach((lane, i) => out.push(`<rect class="lane lane-${i % 2}" x="${lane.x}" y="0" width="${lane.width}" height="${l.height}"/>`));
  out.push('<g class="edges">');
  for (const n of l.nodes) {
    if (!n.parent || Math.max(n.y, n.parent.y) < top || Math.min(n.y, n.parent.y) > bottom) continue;
    const x1 = n.parent.x + NODE_W;
    const y1 = n.parent.y + NODE_H / 2;
    const x2 = n.x;
    const y2 = n.y + NODE_H / 2;
    const mid = (x1 + x2) / 2;
    out.push(`<path d="M${x1},${y1}C${mid},${y1} ${mid},${y2} ${x2},${y2}"/>`);
  }
  out.push('</g><g class="nodes">');
  for (const { node: n, x, y } of l.nodes) {
    if (y < top || y > bottom) continue;
    const r = n.route;
    const cls = ['node', n.kind, r && !r.valid ? 'invalid' : '', r?.denied ? 'denied' : '', n.key === selected ? 'selected' : ''].filter(Boolean).join(' ');
    const title = n.kind === 'host' ? `host ${n.label}` : `${n.label} (workspace ${n.workspace})`;
    out.push(`<g class="${cls}" data-key="${esc(n.key)}" transform="translate(${x},${y})"><title>${esc(title)}</title><rect width="${NODE_W}" height="${NODE_H}" rx="5"/>`);
    out.push(`<text class="label" x="7" y="15">${esc(fit(n.label, r ? 25 : 28))}</text>`);
    if (r) {
      let bx = NODE_W - 6;
      const pill = (cls: string, text: string) => {
        const w = 8 + text.length * 7;
        bx -= w;
        out.push(`<g class="pill ${cls}" transform="translate(${bx},4)"><title>${text} ${cls}</title><rect width="${w}" height="14" rx="7"/><text x="${w / 2}" y="11">${text}</text></g>`);
        bx -= 3;
      };
      if (r.skipped) pill('skipped', String(r.skipped));
      if (r.applied) pill('applied', String(r.applied));
    } else if (n.kind === 'link') {
      out.push(`<text class="count" x="${NODE_W - 7}" y="15">${n.leaves}</text>`);
    }
    out.push('</g>');
  }
  out.push('</g></svg>');
  return out.join('');
}
