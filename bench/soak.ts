// Soak (not in CI): meshplane serving a real Envoy through a bounded series of
// random edits (good, broken YAML, invalid fields, rename-saves, deletes) while
// a client requests a route that is never edited. Reports requests failed,
// convergence time after the last edit, and meshplane's RSS over time.
//   npm run soak            EDITS=200 (default), SEED=<n>
import { mkdtempSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEnvoyFor, startMeshplane } from '../test/support/meshplane.js';
import { freePort, httpGet, startUpstream, waitFor } from '../test/support/net.js';

const EDITS = Number(process.env.EDITS ?? 200);
let seed = Number(process.env.SEED ?? Date.now() % 100000);
const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)];

const dir = mkdtempSync(join(tmpdir(), 'mp-soak-'));
const stable = await startUpstream('stable');
const churn = await startUpstream('churn');
const listenerPort = await freePort();
const svc = (name: string, port: number) => `---
apiVersion: v1
kind: Service
metadata: {name: ${name}, namespace: apps}
spec: {ports: [{name: http, port: 80}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: ${name}-1, namespace: apps, labels: {kubernetes.io/service-name: ${name}}}
addressType: IPv4
ports: [{name: http, port: ${port}}]
endpoints: [{addresses: [127.0.0.1]}]
`;
writeFileSync(join(dir, 'base.yaml'), `apiVersion: admin.gloo.solo.io/v2
kind: Workspace
metadata: {name: team, namespace: gloo-mesh}
spec: {workloadClusters: [{name: '*', namespaces: [{name: gateways}, {name: apps}]}]}
---
apiVersion: networking.gloo.solo.io/v2
kind: VirtualGateway
metadata: {name: ingress, namespace: gateways}
spec: {listeners: [{port: {number: ${listenerPort}}, http: {}}]}
${svc('stable', stable.port)}${svc('churn', churn.port)}`);
writeFileSync(join(dir, 'stable.yaml'), `apiVersion: networking.gloo.solo.io/v2
kind: RouteTable
metadata: {name: stable, namespace: apps}
spec:
  hosts: [stable.example.com]
  virtualGateways: [{name: ingress, namespace: gateways}]
  http: [{name: s, matchers: [{uri: {prefix: /}}], forwardTo: {destinations: [{ref: {name: stable}, port: {number: 80}}]}}]
`);
const churnTable = (n: number, routes: number) => `apiVersion: networking.gloo.solo.io/v2
kind: RouteTable
metadata: {name: churn, namespace: apps, labels: {gen: "g${n}"}}
spec:
  hosts: [churn.example.com]
  virtualGateways: [{name: ingress, namespace: gateways}]
  http:
${Array.from({ length: routes }, (_, i) => `  - {name: r${i}, matchers: [{uri: {prefix: /final-${n}/r${i}}}], forwardTo: {destinations: [{ref: {name: churn}, port: {number: 80}}]}}`).join('\n')}
`;
const edits: Array<[string, (n: number) => void]> = [
  ['write', (n) => writeFileSync(join(dir, 'churn.yaml'), churnTable(n, 1 + Math.floor(rand() * 50)))],
  ['rename-save', (n) => { writeFileSync(join(dir, '.churn.tmp'), churnTable(n, 1 + Math.floor(rand() * 50))); renameSync(join(dir, '.churn.tmp'), join(dir, 'churn.yaml')); }],
  ['broken-yaml', () => writeFileSync(join(dir, 'churn.yaml'), 'apiVersion: [unclosed\n  kind: RouteTable')],
  ['invalid-field', (n) => writeFileSync(join(dir, 'churn.yaml'), churnTable(n, 3).replace('hosts:', 'hostz:'))],
  ['extra-file', (n) => writeFileSync(join(dir, `extra-${n % 5}.yaml`), churnTable(n, 2).replace('name: churn,', `name: extra-${n % 5},`).replace('churn.example.com', `extra-${n % 5}.example.com`))],
  ['delete-extra', (n) => rmSync(join(dir, `extra-${n % 5}.yaml`), { force: true })],
];

const mp = await startMeshplane({ configDir: dir, xdsPort: await freePort(), adminPort: await freePort() });
const envoy = await startEnvoyFor(mp, { xdsPort: mp.xdsPort, gateway: 'gateways/ingress' });
await waitFor('the stable route', async () => ((await httpGet(listenerPort, 'stable.example.com', '/')).status === 200 ? true : undefined), 30_000);

let requests = 0;
let failed = 0;
let running = true;
const traffic = (async () => {
  while (running) {
    requests++;
    const r = await httpGet(listenerPort, 'stable.example.com', `/x${requests}`).catch(() => ({ status: 0 }));
    if (r.status !== 200) failed++;
  }
})();
const rss: number[] = [];
const sampler = setInterval(async () => {
  const text = await fetch(`http://127.0.0.1:${mp.adminPort}/metrics`).then((r) => r.text()).catch(() => '');
  const m = /^meshplane_process_resident_memory_bytes (\d+)/m.exec(text);
  if (m) rss.push(Number(m[1]) / 2 ** 20);
}, 1000);

const counts: Record<string, number> = {};
const started = Date.now();
for (let n = 0; n < EDITS; n++) {
  const [kind, edit] = pick(edits);
  edit(n);
  counts[kind] = (counts[kind] ?? 0) + 1;
  await new Promise((r) => setTimeout(r, 20 + rand() * 400));
  if (n % 20 === 0) process.stdout.write(`edit ${n}/${EDITS}, ${requests} requests, ${failed} failed\n`);
}
// The last edit is a good one: measure how long Envoy takes to serve it.
const last = EDITS;
const lastAt = Date.now();
writeFileSync(join(dir, 'churn.yaml'), churnTable(last, 5));
const converged = await waitFor('the last edit to reach Envoy', async () => ((await httpGet(listenerPort, 'churn.example.com', `/final-${last}/r4`)).status === 200 ? true : undefined), 30_000, 10).then(
  () => true,
  () => false,
);
const convergedMs = converged ? Date.now() - lastAt : null; // null: not within 30 s (a missed edit)
running = false;
await traffic;
clearInterval(sampler);
const crashed = mp.logs.some((l) => /"level":60/.test(l));
await envoy.stop();
await mp.stop();
await stable.close();
await churn.close();
try { unlinkSync(join(dir, '.meshplane-state.json')); } catch { /* absent */ }
rmSync(dir, { recursive: true, force: true });
const sorted = [...rss].sort((a, b) => a - b);
console.log(JSON.stringify({ seed: process.env.SEED ?? 'random', edits: EDITS, edit_kinds: counts, seconds: Math.round((Date.now() - started) / 1000), requests, failed, convergence_ms_after_last_edit: convergedMs, rss_mib: { first: Math.round(rss[0] ?? 0), median: Math.round(sorted[Math.floor(sorted.length / 2)] ?? 0), max: Math.round(sorted[sorted.length - 1] ?? 0), last: Math.round(rss[rss.length - 1] ?? 0) }, fatal_logs: crashed }, null, 2));
process.exit(failed === 0 && !crashed && converged ? 0 : 1);
