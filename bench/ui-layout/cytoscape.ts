// Candidate 3: cytoscape's breadthfirst layout and its canvas renderer.
import cytoscape from 'cytoscape';
import { flatten, report, tree } from './common.js';

const all = flatten(tree());
const main = document.getElementById('main')!;
main.style.height = '900px';
const t0 = performance.now();
const cy = cytoscape({
  container: main,
  elements: [
    ...all.map((e) => ({ data: { id: e.node.key, label: e.node.label } })),
    ...all.filter((e) => e.parent).map((e, i) => ({ data: { id: `e${i}`, source: e.parent!.key, target: e.node.key } })),
  ],
  style: [
    { selector: 'node', style: { shape: 'round-rectangle', width: 230, height: 22, label: 'data(label)', 'font-size': 12, 'text-valign': 'center', 'background-color': '#eef2fb', 'border-width': 1 } },
    { selector: 'edge', style: { width: 1, 'curve-style': 'bezier' } },
  ],
  layout: { name: 'breadthfirst', directed: true, roots: [all[0].node.key], spacingFactor: 1 },
});
const layoutMs = performance.now() - t0;
cy.ready(() => report(layoutMs, cy.nodes().length));
