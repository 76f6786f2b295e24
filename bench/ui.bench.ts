// The /ui page on a 1,000-route estate (one host, 10 workspaces, delegation two
// levels deep, label-selected policies) in Debian's Chromium:
// 1. the page's first render (navigation start to the tree on screen), cold
//    (just after a config change, so the server computes why anew) and warm;
// 2. the graph-layout candidates (d3-hierarchy, elkjs, cytoscape) drawing the
//    same 1,011-node tree: first render, layout time, bundle size.
// Medians of RUNS loads. `npm run bench:ui`; figures in docs/ui.md.
import { build } from 'esbuild';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { buildUi } from '../src/admin/ui/build.js';
import { delegationTree, hostGroups } from '../src/admin/ui/model.js';
import type { ExplainPayload } from '../src/admin/ui/payload.js';
import { openBrowser } from '../test/support/browser.js';
import { startMeshplane } from '../test/support/meshplane.js';
import { freePort, waitFor } from '../test/support/net.js';
import { median } from './stats.js';

const RUNS = Number(process.env.RUNS ?? 5);
const WS = 10;
const TABLES = 10;
const ROUTES = 10;
const KINDS: Array<[string, string, unknown]> = [
  ['RetryTimeoutPolicy', 'resilience.policy.gloo.solo.io/v2', { requestTimeout: '5s' }],
  ['FaultInjectionPolicy', 'resilience.policy.gloo.solo.io/v2', { abort: { httpStatus: 503, percentage: 1 } }],
  ['HeaderManipulationPolicy', 'trafficcontrol.policy.gloo.solo.io/v2', { appendRequestHeaders: { 'x-team': 'a' } }],
  ['RetryTimeoutPolicy', 'resilience.policy.gloo.solo.io/v2', { requestTimeout: '9s' }], // conflicts with the first: skipped
];

function writeEstate(dir: string, edit = 0): void {
  const root = { apiVersion: 'networking.gloo.solo.io/v2', kind: 'RouteTable', metadata: { name: 'root', namespace: 'ws-0' }, spec: { hosts: ['shop.example.com'], virtualGateways: [{ name: 'gw', namespace: 'ws-0' }], http: [] as unknown[] } };
  const docs: unknown[] = [{ apiVersion: 'networking.gloo.solo.io/v2', kind: 'VirtualGateway', metadata: { name: 'gw', namespace: 'ws-0' }, spec: { listeners: [{ port: { number: 8080 }, http: {} }] } }, root];
  for (let w = 0; w < WS; w++) {
    const ns = `ws-${w}`;
    docs.push({ apiVersion: 'admin.gloo.solo.io/v2', kind: 'Workspace', metadata: { name: ns, namespace: 'gloo-mesh' }, spec: { workloadClusters: [{ name: '*', namespaces: [{ name: ns }] }] } });
    docs.push({ apiVersion: 'admin.gloo.solo.io/v2', kind: 'WorkspaceSettings', metadata: { name: ns, namespace: ns }, spec: w === 0
      ? { exportTo: [{ workspaces: [{ name: '*' }], resources: [{ kind: 'ROUTE_TABLE' }] }], importFrom: [{ workspaces: [{ name: '*' }] }] }
      : { importFrom: [{ workspaces: [{ name: 'ws-0' }], resources: [{ kind: 'ROUTE_TABLE' }] }], exportTo: [{ workspaces: [{ name: 'ws-0' }] }] } });
    docs.push({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'svc', namespace: ns }, spec: { ports: [{ name: 'http', port: 80 }] } });
    root.spec.http.push({ name: `to-${ns}`, matchers: [{ uri: { prefix: `/${ns}` } }], labels: { team: ns }, delegate: { routeTables: [{ name: 'child', namespace: ns }] } });
    docs.push({ apiVersion: 'networking.gloo.solo.io/v2', kind: 'RouteTable', metadata: { name: 'child', namespace: ns }, spec: { http: [{ name: 'all', delegate: { routeTables: [{ labels: { parent: 'child' }, namespace: ns }] } }] } });
    for (let t = 0; t < TABLES; t++) {
      const http = Array.from({ length: ROUTES }, (_, i) => ({ name: `r${i}`, labels: { group: `g${(t + i + edit) % 5}` }, matchers: [{ uri: { prefix: `/${ns}/t${t}/r${i}` } }], forwardTo: { destinations: [{ ref: { name: 'svc', namespace: ns }, port: { number: 80 } }] } }));
      docs.push({ apiVersion: 'networking.gloo.solo.io/v2', kind: 'RouteTable', metadata: { name: `t${t}`, namespace: ns, labels: { parent: 'child', tier: t % 2 ? 'gold' : 'silver' } }, spec: { weight: t, http } });
    }
    KINDS.forEach(([kind, apiVersion, config], p) => docs.push({ apiVersion, kind, metadata: { name: `p${p}`, namespace: ns, creationTimestamp: `2024-01-01T00:00:0${p}Z` }, spec: { applyToRoutes: [{ route: { labels: { group: `g${p}` } } }], config } }));
  }
  writeFileSync(join(dir, 'estate.yaml'), docs.map((d) => stringify(d)).join('---\n'));
}

const dir = mkdtempSync(join(tmpdir(), 'mp-bench-ui-'));
writeEstate(dir);
const ui = await buildUi();
const mp = await startMeshplane({ configDir: dir, xdsPort: await freePort(), adminPort: await freePort() });
const browser = await openBrowser();
const page = browser.page;
const base = `http://127.0.0.1:${mp.adminPort}`;
try {
  const payload = await waitFor('the estate', async () => {
    const p = (await (await fetch(`${base}/debug/explain`)).json()) as ExplainPayload | null;
    return p && p.routes.length === WS * TABLES * ROUTES ? p : undefined;
  }, 60_000);
  const skipped = payload.routes.reduce((n, r) => n + r.skipped, 0);
  const applied = payload.routes.reduce((n, r) => n + r.applied, 0);
  console.log(`estate: ${payload.routes.length} routes on one host, ${WS} workspaces, ${applied} applied and ${skipped} skipped policies; UI bundle ${(ui.bytes / 1024).toFixed(1)} KiB`);

  const firstRender = async () => {
    await page.goto(`${base}/ui/`);
    // A string, not a function: tsx's helpers do not exist in the page.
    await page.waitForFunction("performance.getEntriesByName('meshplane:first-render').length > 0", undefined, { timeout: 60_000 });
    return (await page.evaluate("performance.getEntriesByName('meshplane:first-render')[0].startTime")) as number;
  };
  await firstRender(); // the browser's first start and the JIT warm up
  const cold: number[] = [];
  const warm: number[] = [];
  for (let i = 1; i <= RUNS; i++) {
    const gen = payload.generation;
    writeEstate(dir, i);
    await waitFor('the edit', async () => {
      const r = (await (await fetch(`${base}/readyz`)).json()) as { generation: number };
      return r.generation > gen + i - 1 ? true : undefined;
    }, 30_000);
    cold.push(await firstRender());
    warm.push(await firstRender());
  }
  console.log(`/ui first render, 1,000 routes: cold (why computed on the server for a new config) median ${median(cold).toFixed(0)} ms [${cold.map((x) => x.toFixed(0)).join(', ')}]; warm median ${median(warm).toFixed(0)} ms [${warm.map((x) => x.toFixed(0)).join(', ')}]`);

  // The candidates, on the same tree, from a bench server of their own.
  const tree = delegationTree(hostGroups(payload)[0]);
  const out = mkdtempSync(join(tmpdir(), 'mp-bench-layout-'));
  const sizes: Record<string, number> = {};
  for (const lib of ['d3', 'elk', 'cytoscape']) {
    await build({ entryPoints: [join(import.meta.dirname, `ui-layout/${lib}.ts`)], outfile: join(out, `${lib}.js`), bundle: true, minify: true, format: 'esm', target: 'es2022', logLevel: 'error' });
    sizes[lib] = statSync(join(out, `${lib}.js`)).size;
    writeFileSync(join(out, `${lib}.html`), `<!doctype html><html><head><link rel="icon" href="data:,"><link rel="stylesheet" href="/style.css"><script>window.__TREE=${JSON.stringify(tree).replace(/</g, '\\u003c')}</script><script type="module" src="/${lib}.js"></script></head><body><div id="main"></div></body></html>`);
  }
  writeFileSync(join(out, 'style.css'), readFileSync(join(ui.dir, 'style.css')));
  const server = createServer((req, res) => {
    const f = join(out, (req.url ?? '/').slice(1));
    res.writeHead(200, { 'content-type': f.endsWith('.js') ? 'text/javascript' : f.endsWith('.css') ? 'text/css' : 'text/html', 'cache-control': 'no-store' });
    res.end(readFileSync(f));
  });
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  console.log(`layout candidates, the same ${tree.leaves}-route tree (median of ${RUNS} loads):`);
  for (const lib of ['d3', 'elk', 'cytoscape']) {
    const runs: Array<{ layoutMs: number; firstRenderMs: number; nodes: number }> = [];
    for (let i = 0; i <= RUNS; i++) {
      await page.goto(`http://127.0.0.1:${port}/${lib}.html`);
      await page.waitForFunction('window.__result !== undefined', undefined, { timeout: 60_000 });
      const r = (await page.evaluate('window.__result')) as { layoutMs: number; firstRenderMs: number; nodes: number };
      if (i) runs.push(r); // the first load warms the browser's cache of compiled code
    }
    console.log(`  ${lib.padEnd(10)} first render ${median(runs.map((r) => r.firstRenderMs)).toFixed(0).padStart(5)} ms   layout ${median(runs.map((r) => r.layoutMs)).toFixed(0).padStart(5)} ms   bundle ${(sizes[lib] / 1024).toFixed(0).padStart(5)} KiB   nodes ${runs[0].nodes}`);
  }
  server.close();
  rmSync(out, { recursive: true, force: true });
} finally {
  await browser.close();
  await mp.stop();
  rmSync(dir, { recursive: true, force: true });
}
