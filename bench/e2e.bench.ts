// `npm run bench:e2e`: a YAML edit on disk -> the last ACK of a real Envoy,
// at ROUTES (10,000) final routes. meshplane runs as users run it (`meshplane
// serve --config-dir`), Envoy as in the e2e tests (Docker or process). Edits
// take turns: one route (a matcher in one grandchild table), one policy (a
// timeout on 500 routes) and one Pod moving (an EndpointSlice address), each a
// save of one workspace's file.
// Reports the p50 and p90 from the edit to Envoy's last ACK, and meshplane's
// own compute time (core + translate + encode) for the same edits. meshplane
// runs compiled (dist/, built by the npm script), as `meshplane serve` does.
//   ROUTES=10000 RUNS=15 KINDS=route,policy,endpoint DEBOUNCE_MS=20 npm run bench:e2e   (CPU_PROF=<dir>: profile meshplane; EDIT_PROF=<file>: during the edits only; DBG_EVENTS=1: print when meshplane saw each file event; DBG_HEAP=1: its heap at the end)
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { startEnvoyFor, startMeshplane, type MeshplaneHandle } from '../test/support/meshplane.js';
import { freePort, waitFor } from '../test/support/net.js';
import { estateDocs, workspacesFor, type Doc } from './estate.js';
import { median, percentile } from './stats.js';

const ROUTES = Number(process.env.ROUTES ?? 10_000);
const RUNS = Number(process.env.RUNS ?? 15);
const DEBOUNCE_MS = process.env.DEBOUNCE_MS ?? '20';
const WS = workspacesFor(ROUTES);

const dir = mkdtempSync(join(tmpdir(), 'perf-e2e-bench-'));
const listenerPort = await freePort();
const docs = estateDocs({ workspaces: WS, listenerPort });
const fileOf = (d: Doc) => `${d.metadata.namespace ?? 'cluster'}.yaml`;
const files = new Map<string, Doc[]>();
for (const d of docs) files.set(fileOf(d), [...(files.get(fileOf(d)) ?? []), d]);
// Saved in place: Node 20's recursive fs.watch loses a file replaced by a rename,
// which the file source's own watcher work handles (not this benchmark's subject).
const text = (file: string) => files.get(file)!.map((d) => stringify(d)).join('---\n');
const save = (file: string) => writeFileSync(join(dir, file), text(file));
for (const file of files.keys()) save(file);

type Proxies = Array<{ nodeId: string; types: Record<string, { sent?: string; acked?: string }> }>;
/** The version of `type` Envoy ACKed, once everything sent is ACKed and it is not `after`. */
const settled = async (mp: MeshplaneHandle, after?: string, type = 'route') => {
  const [p] = (await mp.get('/debug/proxies')) as Proxies;
  const t = p?.types ?? {};
  const types = Object.values(t);
  return types.length >= 4 && types.every((x) => x.sent === x.acked) && t[type]?.acked && t[type].acked !== after ? t[type].acked : undefined;
};
const ackedOf = async (mp: MeshplaneHandle, type: string) => ((await mp.get('/debug/proxies')) as Proxies)[0]?.types[type]?.acked;
const logTime = (line: string) => (JSON.parse(line) as { time: number }).time;

const mp = await startMeshplane({ configDir: dir, xdsPort: await freePort(), adminPort: await freePort(), extraArgs: ['--debounce-ms', DEBOUNCE_MS], readyTimeoutMs: 180_000, compiled: true, nodeArgs: [...(process.env.CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.CPU_PROF}`] : []), ...(process.env.SERVER_NODE_FLAGS?.split(' ').filter(Boolean) ?? [])] }); // 10k routes of YAML on a busy machine
const envoy = await startEnvoyFor(mp, { xdsPort: mp.xdsPort, gateway: 'ws-0/gw' });
// KINDS=route,policy,endpoint: the edits, in turn.
const KINDS = (process.env.KINDS ?? 'route,policy,endpoint').split(',');
const results: Array<{ kind: string; lastAckMs: number; computeMs: number; envoyMs: number; sourceMs: number; phases: Record<string, number> }> = [];
try {
  let routeVersion = await waitFor('Envoy to ACK the whole estate', () => settled(mp), 120_000, 50);
  // EDIT_PROF=<file>: a CPU profile of meshplane during the edits only (its admin /debug/pprof/profile).
  const editProfile = process.env.EDIT_PROF
    ? fetch(`http://127.0.0.1:${mp.adminPort}/debug/pprof/profile?seconds=${Math.min(60, Math.ceil(RUNS * 0.7) + 1)}`).then(async (r) => writeFileSync(process.env.EDIT_PROF!, Buffer.from(await r.arrayBuffer())))
    : undefined;
  for (let i = 0; i < RUNS; i++) {
    const kind = KINDS[i % KINDS.length];
    // A route in one workspace's table; or a policy of the gateway's workspace (its policies
    // are the oldest, so they are the ones applied: this edit changes 500 routes); or a Pod
    // moving (one EndpointSlice address): Envoy's ACK of the new endpoints.
    const ws = kind !== 'policy' ? `ws-${1 + (i % (WS - 1 || 1))}` : 'ws-0';
    const list = files.get(`${ws}.yaml`)!;
    const type = kind === 'endpoint' ? 'endpoint' : 'route';
    const before = type === 'route' ? routeVersion : await ackedOf(mp, 'endpoint');
    if (kind === 'endpoint') {
      const slice = list.find((d) => d.kind === 'EndpointSlice')! as Doc & { endpoints: Array<{ addresses: string[] }> };
      slice.endpoints[0] = { ...slice.endpoints[0], addresses: [`10.254.${i % 250}.${1 + (i % 200)}`] };
    } else if (kind === 'route') {
      const t = list.find((d) => d.kind === 'RouteTable' && d.metadata.name === 'gc-3')! as Doc & { spec: { http: Array<Record<string, unknown>> } };
      t.spec.http[0] = { ...t.spec.http[0], matchers: [{ uri: { prefix: `/edited/${i}` } }] };
    } else {
      const p = list.find((d) => d.kind === 'RetryTimeoutPolicy' && d.metadata.name === 'p0')! as Doc & { spec: { config: { requestTimeout: string } } };
      p.spec.config = { requestTimeout: `${6 + i}s` };
    }
    const from = mp.logs.length;
    // The clock starts at the write: making the file's text (YAML of ~50 documents, 5-10 ms here) is the editor's part.
    const saved = text(`${ws}.yaml`);
    const t0 = Date.now();
    writeFileSync(join(dir, `${ws}.yaml`), saved);
    const acked = await waitFor(`Envoy to ACK edit ${i}`, () => settled(mp, before, type), 60_000, 20).catch(async (err) => {
      throw new Error(`${(err as Error).message}\n${JSON.stringify(await mp.get('/debug/proxies'))}\n${mp.logs.slice(from).filter((l) => !l.includes('"level":20')).slice(-10).join('\n')}`);
    });
    if (type === 'route') routeVersion = acked;
    const lines = mp.logs.slice(from);
    const acks = lines.filter((l) => l.includes('"msg":"ACK"')).map(logTime);
    // Envoy's own part: from meshplane sending the routes (endpoints) to Envoy's ACK of them.
    const routeSent = lines.filter((l) => l.includes('"msg":"sent"') && l.includes(`"type":"${type}"`)).map(logTime);
    const routeAck = lines.filter((l) => l.includes('"msg":"ACK"') && l.includes(`"type":"${type}"`)).map(logTime);
    const envoyMs = routeSent.length && routeAck.length ? Math.max(...routeAck) - Math.max(...routeSent) : NaN;
    const updated = lines.filter((l) => l.includes('"msg":"configuration updated"')).map((l) => JSON.parse(l) as { ms: number; time: number; phasesMs?: Record<string, number> });
    // The file source's part: from the save to the computation starting (watch, debounce, read, parse, validate).
    const sourceMs = updated.length ? updated[0].time - updated[0].ms - t0 : NaN;
    if (process.env.DBG_EVENTS) process.stderr.write(`events ${lines.filter((l) => l.includes('config file event')).map((l) => `${JSON.parse(l).event}@${logTime(l) - t0}`).join(' ')}\n`);
    const phases: Record<string, number> = {};
    for (const u of updated) for (const [k, v] of Object.entries(u.phasesMs ?? {})) phases[k] = (phases[k] ?? 0) + v;
    results.push({ kind, lastAckMs: Math.max(...acks) - t0, computeMs: updated.reduce((s, u) => s + u.ms, 0), envoyMs, sourceMs, phases });
    process.stderr.write(`bench:e2e edit ${i + 1}/${RUNS} (${kind}): last ACK ${results.at(-1)!.lastAckMs} ms, compute ${results.at(-1)!.computeMs} ms in ${updated.length} computation(s) ${JSON.stringify(phases)}, source ${sourceMs} ms\n`);
    await new Promise((r) => setTimeout(r, 300));
  }
  await editProfile;
  if (process.env.DBG_HEAP) process.stderr.write((await (await fetch(`http://127.0.0.1:${mp.adminPort}/metrics`)).text()).split('\n').filter((l) => /heap_size|heap_space_size_used|external_memory|resident/.test(l) && !l.startsWith('#')).join('\n') + '\n');
} finally {
  await envoy.stop();
  await mp.stop();
  rmSync(dir, { recursive: true, force: true });
}
const stats = (xs: number[]) => ({ p50: median(xs), p90: percentile(xs, 90), min: Math.min(...xs), max: Math.max(...xs) });
const of = (k?: string) => results.filter((r) => !k || r.kind === k);
console.log(JSON.stringify({
  routes: ROUTES, workspaces: WS, runs: RUNS, debounceMs: Number(DEBOUNCE_MS), envoy: envoy.mode,
  // Route and policy edits (what this figure always was); a Pod move is reported on its own below.
  editToLastEnvoyAckMs: stats(of().filter((r) => r.kind !== 'endpoint').map((r) => r.lastAckMs)),
  // The floor: the debounce plus Envoy taking the new routes; the rest is meshplane (file scan, core, translate, encode, push).
  envoyTakesRoutesMs: stats(of().filter((r) => r.kind !== 'endpoint').map((r) => r.envoyMs).filter((x) => !Number.isNaN(x))),
  floorMs: Number(DEBOUNCE_MS) + median(of().filter((r) => r.kind !== 'endpoint').map((r) => r.envoyMs).filter((x) => !Number.isNaN(x))),
  ...Object.fromEntries(KINDS.map((k) => [`${k}Edit`, {
    lastAckMs: stats(of(k).map((r) => r.lastAckMs)),
    envoyMs: median(of(k).map((r) => r.envoyMs).filter((x) => !Number.isNaN(x))),
    computeMs: stats(of(k).map((r) => r.computeMs)),
    // Medians of the parts: the file source (save -> computation starts), then the computation's phases.
    partsMs: { source: median(of(k).map((r) => r.sourceMs)), ...Object.fromEntries(['core', 'translate', 'snapshots'].map((p) => [p, median(of(k).map((r) => r.phases[p] ?? 0))])) },
  }])),
}, null, 2));
process.exit(0);
