// A synthetic estate: per 100 final routes one workspace (ROUTES=10000 gives
// 100 workspaces, 10,000 final routes behind 3-level delegation, 2,000
// label-selected policies, 1,000 services). Reports the median full
// computation (wall and CPU), heap, and the recompute after one policy edit
// and after one route edit, through the memoising core and the incremental
// translator the server uses (each checked equal to a fresh computation).
//   ROUTES=10000 RUNS=7 npm run bench:core
import { computeCore as compute, createCore, DEFAULT_SETTINGS, type CoreSettings } from '../src/core/index.js';
import type { Resource } from '../src/resources/schema.js';
import { validateResource } from '../src/resources/schema.js';
import { createTranslator, translateAll } from '../src/translate/index.js';
import { estateDocs, ROUTES_PER_WS, workspacesFor } from './estate.js';
import { median } from './stats.js';

const ROUTES = Number(process.env.ROUTES ?? 10_000);
const WS = workspacesFor(ROUTES);
const r = (doc: Record<string, unknown>): Resource => {
  const v = validateResource(doc);
  if (!v.ok) throw new Error(JSON.stringify(v.problems));
  return v.resource;
};
const estate = () => estateDocs({ workspaces: WS }).map(r);
// The route limits (50k per root table, 100k per gateway) are raised to fit the estate.
const settings: CoreSettings = { ...DEFAULT_SETTINGS, limits: { ...DEFAULT_SETTINGS.limits, maxRoutesPerRootTable: 2 * ROUTES + 1000, maxRoutesPerGateway: 2 * ROUTES + 1000 } };
const computeCore = (rs: Resource[]) => compute(rs, settings);

const runs = Number(process.env.RUNS ?? 7);
const resources = estate();
const first = computeCore(resources);
const routes = first.ir.routes.length;
const policies = resources.filter((x) => x.kind.endsWith('Policy')).length;
const services = resources.filter((x) => x.kind === 'Service').length;
if (routes !== WS * ROUTES_PER_WS) throw new Error(`expected ${WS * ROUTES_PER_WS} routes, got ${routes}`);

const cpuMs = (since: NodeJS.CpuUsage) => {
  const c = process.cpuUsage(since);
  return (c.user + c.system) / 1000;
};
const OPTS = { listenerAddress: '0.0.0.0' };
const fullTranslateCpu: number[] = [];
const full: number[] = [];
const fullCpu: number[] = [];
let heapPeak = 0;
for (let i = 0; i < runs; i++) {
  global.gc?.();
  const t = performance.now();
  const c = process.cpuUsage();
  const core = computeCore(resources);
  fullCpu.push(cpuMs(c));
  full.push(performance.now() - t);
  const ct = process.cpuUsage();
  translateAll(core.ir, OPTS);
  fullTranslateCpu.push(cpuMs(ct));
  heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
}

/**
 * Applies edits through the memoising core, each followed by a return to the
 * base estate (untimed), as a server sees them; then checks every result
 * equals a full computation. The checks run after the timed edits so their
 * garbage (full computations, 50 MB JSON strings) is not collected inside an
 * edit's time.
 */
function measureEdits(edit: (i: number) => Resource[]): { wall: number[]; cpu: number[]; translateCpu: number[] } {
  const engine = createCore();
  const translator = createTranslator(OPTS);
  translator(engine(resources, settings).ir);
  const wall: number[] = [];
  const cpu: number[] = [];
  const translateCpu: number[] = [];
  const done: Array<{ edited: Resource[]; result: ReturnType<typeof engine>; envoy: ReturnType<typeof translator> }> = [];
  global.gc?.();
  for (let i = 0; i < runs; i++) {
    const edited = edit(i);
    const t = performance.now();
    const c = process.cpuUsage();
    const result = engine(edited, settings);
    cpu.push(cpuMs(c));
    wall.push(performance.now() - t);
    const ct = process.cpuUsage();
    const envoy = translator(result.ir);
    translateCpu.push(cpuMs(ct));
    done.push({ edited, result, envoy: new Map(envoy) });
    translator(engine(resources, settings).ir); // back to the base estate for the next edit
  }
  for (const { edited, result, envoy } of done) {
    const fresh = computeCore(edited);
    if (JSON.stringify(result) !== JSON.stringify(fresh)) throw new Error('memoised result differs from a full computation');
    if (JSON.stringify([...envoy]) !== JSON.stringify([...translateAll(fresh.ir, OPTS)])) throw new Error('incremental translation differs from a full one');
  }
  return { wall, cpu, translateCpu };
}
// One policy's selector changed (routing is reused, attachment runs again).
const policyEdit = measureEdits((i) => {
  const idx = resources.findIndex((x) => x.kind === 'RetryTimeoutPolicy' && x.metadata.namespace === `ws-${(i + 1) % WS}`);
  const edited = resources.slice();
  edited[idx] = { ...edited[idx], spec: { ...(edited[idx].spec as object), applyToRoutes: [{ route: { labels: { tier: 'gold' } } }] } };
  return edited;
});
// One route's matcher changed in one grandchild table.
const routeEdit = measureEdits((i) => {
  const idx = resources.findIndex((x) => x.kind === 'RouteTable' && x.metadata.name === 'gc-3' && x.metadata.namespace === `ws-${(i + 1) % WS}`);
  const edited = resources.slice();
  const spec = edited[idx].spec as { http: Array<{ matchers: unknown[] }> };
  edited[idx] = { ...edited[idx], spec: { ...spec, http: spec.http.map((h, j) => (j === 0 ? { ...h, matchers: [{ uri: { prefix: `/edited-${i}` } }] } : h)) } };
  return edited;
});
// A floor (a lower bound) for the full computation: one new record per final route, no logic at all.
const floor: number[] = [];
for (let i = 0; i < runs; i++) {
  const t = performance.now();
  first.ir.routes.map((x) => ({ ...x }));
  floor.push(performance.now() - t);
}
const ms = (xs: number[]) => ({ median: +median(xs).toFixed(1), min: +Math.min(...xs).toFixed(1), max: +Math.max(...xs).toFixed(1) });
console.log(JSON.stringify({
  estate: { workspaces: WS, finalRoutes: routes, policies, services },
  runs,
  fullComputeMs: ms(full),
  fullComputeCpuMs: ms(fullCpu),
  fullTranslateCpuMs: +median(fullTranslateCpu).toFixed(1),
  afterOnePolicyEditMs: { median: +median(policyEdit.wall).toFixed(1), cpuMedian: +median(policyEdit.cpu).toFixed(1), translateCpuMedian: +median(policyEdit.translateCpu).toFixed(1) },
  afterOneRouteEditMs: { median: +median(routeEdit.wall).toFixed(1), cpuMedian: +median(routeEdit.cpu).toFixed(1), translateCpuMedian: +median(routeEdit.translateCpu).toFixed(1) },
  heapUsedPeakMiB: +(heapPeak / 1024 / 1024).toFixed(1),
  floorMs: { oneRecordPerRoute: +median(floor).toFixed(2) },
  ratios: { fullToFloor: +(median(full) / median(floor)).toFixed(1), routeEditToFull: +(median(routeEdit.wall) / median(full)).toFixed(2), policyEditToFull: +(median(policyEdit.wall) / median(full)).toFixed(2) },
}, null, 2));
