// Candidate 2: elkjs's layered algorithm (the lanes as ELK partitions, i.e.
// forced columns), drawn with the same SVG renderer.
import * as elkModule from 'elkjs/lib/elk.bundled.js';
import type { ELK as ElkApi, ElkNode } from 'elkjs/lib/elk-api.js';
import { renderSvg, type Layout } from '../../src/admin/ui/graph.js';
import { flatten, report, tree } from './common.js';

// A CommonJS module: its constructor is the default export, wherever the bundler puts it.
const m = elkModule as unknown as { default: { default?: new () => ElkApi } & (new () => ElkApi) };
const ELK = m.default.default ?? m.default;
const root = tree();
const all = flatten(root);
const lanes = [...new Set(all.map((e) => (e.node.kind === 'host' ? 'gateway' : e.node.workspace)))];
const column = new Map<string, number>();
for (const e of all) {
  const k = `${lanes.indexOf(e.node.kind === 'host' ? 'gateway' : e.node.workspace)}|${e.depth}`;
  if (!column.has(k)) column.set(k, 0);
}
const cols = [...column.keys()].sort((a, b) => Number(a.split('|')[0]) - Number(b.split('|')[0]) || Number(a.split('|')[1]) - Number(b.split('|')[1]));
const t0 = performance.now();
new ELK()
  .layout({
    id: 'root',
    layoutOptions: { 'elk.algorithm': 'layered', 'elk.direction': 'RIGHT', 'elk.partitioning.activate': 'true', 'elk.layered.spacing.nodeNodeBetweenLayers': '56', 'elk.spacing.nodeNode': '6' },
    children: all.map((e) => ({
      id: e.node.key,
      width: 230,
      height: 22,
      layoutOptions: { 'elk.partitioning.partition': String(cols.indexOf(`${lanes.indexOf(e.node.kind === 'host' ? 'gateway' : e.node.workspace)}|${e.depth}`)) },
    })),
    edges: all.filter((e) => e.parent).map((e, i) => ({ id: `e${i}`, sources: [e.parent!.key], targets: [e.node.key] })),
  })
  .then((g: ElkNode) => {
    const layoutMs = performance.now() - t0;
    const pos = new Map(g.children!.map((c) => [c.id, { x: c.x ?? 0, y: c.y ?? 0 }]));
    const nodes = all.map((e) => ({ node: e.node, x: pos.get(e.node.key)!.x, y: pos.get(e.node.key)!.y, ...(e.parent ? { parent: pos.get(e.parent.key)! } : {}) }));
    const layout: Layout = { width: g.width ?? 0, height: g.height ?? 0, lanes: [{ workspace: 'all', x: 0, width: g.width ?? 0 }], nodes };
    document.getElementById('main')!.innerHTML = renderSvg(layout);
    report(layoutMs, nodes.length);
  });
