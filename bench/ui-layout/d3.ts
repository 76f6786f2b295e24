// Candidate 1: d3-hierarchy's tidy tree + workspace lanes, drawn as SVG (what /ui ships).
import { layoutTree, renderSvg } from '../../src/admin/ui/graph.js';
import { report, tree } from './common.js';

const t0 = performance.now();
const layout = layoutTree(tree());
const layoutMs = performance.now() - t0;
document.getElementById('main')!.innerHTML = renderSvg(layout);
report(layoutMs, layout.nodes.length);
