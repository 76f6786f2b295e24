// `npm run bench:core-edits`: one edit at a time through the memoising core,
// as a server sees them (each followed by a return to the base estate, no
// forced GC, no checks in between: bench:core checks results). Reports the
// median wall time of the edits; CPU_PROF=<file> writes a CPU profile of them,
// HEAP_PROF=<file> a sampling profile of their allocations.
// Small enough to run against an older checkout for an A/B.
// MODE=full times fresh full computations instead (no memo), the same way.
// As a server sees edits (rarely, between other work): NOWARM=1 skips the
// warm-up (the JIT has not optimised the core yet), COLD=1 walks 64 MB before
// each edit (caches cold). CUMULATIVE=1 keeps each edit (the next starts from
// it, as a user's edits do) instead of returning to the base estate;
// MODE=mixed cycles route, policy and endpoint edits (bench:e2e's order) and
// reports each kind's median (KINDS=route,endpoint: another cycle). COUNTS=1 prints each edit's time and the routes
// it made and attached (the work counters the scope tests read).
//   ROUTES=10000 MODE=policy|route|endpoint|mixed|full EDITS=20 npm run bench:core-edits
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { computeCore, createCore } from '../src/core/index.js';
import type { Resource } from '../src/resources/schema.js';
import { attachWork } from '../src/core/route-attachment.js';
import { flattenWork } from '../src/core/routes.js';
import { estateResources, workspacesFor } from './estate.js';
import { median } from './stats.js';

const ROUTES = Number(process.env.ROUTES ?? 10_000);
const EDITS = Number(process.env.EDITS ?? 20);
const MODE = process.env.MODE ?? 'policy';
const WS = workspacesFor(ROUTES);
const { resources, settings } = estateResources(ROUTES);
const CUMULATIVE = !!process.env.CUMULATIVE;
const KINDS = MODE === 'mixed' ? (process.env.KINDS ?? 'route,policy,endpoint').split(',') : [MODE];
const kindOf = (i: number) => KINDS[i % KINDS.length];
// The edits of bench:core: one workspace's policy selector, one Pod moved, or one grandchild table's first matcher.
const edit = (base: Resource[], i: number): Resource[] => {
  const edited = base.slice();
  const kind = kindOf(i);
  const ns = `ws-${(i % (WS - 1)) + 1}`;
  if (kind === 'policy') {
    // silver and gold by turns, so that cumulative edits keep changing what it selects
    const idx = base.findIndex((x) => x.kind === 'RetryTimeoutPolicy' && x.metadata.namespace === ns);
    edited[idx] = { ...edited[idx], spec: { ...(edited[idx].spec as object), applyToRoutes: [{ route: { labels: { tier: i % 2 ? 'silver' : 'gold' } } }] } } as Resource;
  } else if (kind === 'endpoint') {
    // one Pod moved: one EndpointSlice's first address
    const idx = base.findIndex((x) => x.kind === 'EndpointSlice' && x.metadata.namespace === ns);
    const body = (edited[idx] as unknown as { body: { endpoints: Array<{ addresses: string[] }> } }).body;
    edited[idx] = { ...edited[idx], body: { ...body, endpoints: body.endpoints.map((e, j) => (j === 0 ? { ...e, addresses: [`10.255.${i % 250}.9`] } : e)) } } as Resource;
  } else {
    const idx = base.findIndex((x) => x.kind === 'RouteTable' && x.metadata.name === 'gc-3' && x.metadata.namespace === ns);
    const spec = edited[idx].spec as { http: Array<{ matchers: unknown[] }> };
    edited[idx] = { ...edited[idx], spec: { ...spec, http: spec.http.map((h, j) => (j === 0 ? { ...h, matchers: [{ uri: { prefix: `/edited-${i}` } }] } : h)) } } as Resource;
  }
  return edited;
};
// MODE=full keeps no engine (and its memo) alive: as in bench:core, only the last result is.
const engine = createCore();
if (MODE !== 'full') engine(resources, settings);
if (MODE === 'full') computeCore(resources, settings), computeCore(resources, settings); // warm up
else for (let i = 0; i < (process.env.NOWARM ? 0 : 6); i++) engine(edit(resources, 1000 + i), settings), engine(resources, settings); // warm up
const session = new Session();
if (process.env.CPU_PROF) {
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 100 });
  await session.post('Profiler.start');
}
// HEAP_PROF=<file>: a sampling profile of what the timed computations allocate, garbage included.
if (process.env.HEAP_PROF) {
  session.connect();
  await session.post('HeapProfiler.enable');
  await session.post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
}
const cold = new Uint8Array(process.env.COLD ? 64 << 20 : 0);
const times: number[] = [];
const cpu: number[] = [];
const byKind: Record<string, number[]> = {};
let current = resources;
const cpuMs = (since: NodeJS.CpuUsage) => {
  const c = process.cpuUsage(since);
  return (c.user + c.system) / 1000;
};
for (let i = 0; i < EDITS; i++) {
  const edited = MODE === 'full' ? resources : edit(current, i);
  if (process.env.GC_EACH) global.gc?.(); // as bench:core did: a forced full GC before each
  if (process.env.COLD) { let x = 0; for (let j = 0; j < cold.length; j += 64) x += cold[j]++; if (x < 0) console.log(x); }
  const made = flattenWork.routes, attached = attachWork.routes;
  const t = performance.now();
  const c = process.cpuUsage();
  if (MODE === 'full') computeCore(resources, settings);
  else engine(edited, settings);
  cpu.push(cpuMs(c));
  times.push(performance.now() - t);
  (byKind[kindOf(i)] ??= []).push(times[i]);
  if (process.env.COUNTS) console.log(`${kindOf(i)} ${times[i].toFixed(1)} ms: made ${flattenWork.routes - made}, attached ${attachWork.routes - attached}`);
  if (CUMULATIVE) current = edited;
  else if (MODE !== 'full') engine(resources, settings);
}
if (process.env.HEAP_PROF) writeFileSync(process.env.HEAP_PROF, JSON.stringify((await session.post('HeapProfiler.stopSampling')).profile));
if (process.env.CPU_PROF) writeFileSync(process.env.CPU_PROF, JSON.stringify((await session.post('Profiler.stop')).profile));
const kinds = MODE === 'mixed' ? { byKindMs: Object.fromEntries(Object.entries(byKind).map(([k, xs]) => [k, +median(xs).toFixed(1)])) } : {};
console.log(JSON.stringify({ routes: ROUTES, mode: MODE, ...(CUMULATIVE ? { cumulative: true } : {}), edits: EDITS, ...kinds, editMs: { median: +median(times).toFixed(1), min: +Math.min(...times).toFixed(1), max: +Math.max(...times).toFixed(1) }, cpuMs: { median: +median(cpu).toFixed(1), min: +Math.min(...cpu).toFixed(1) } }));
