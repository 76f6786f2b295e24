// The push path at 10k routes: what the server does after the core hands a
// new IR over, for a one-route edit and a one-policy edit of the bench:core
// estate. Times (CPU, medians) the incremental translator, then the snapshot
// build of the changed gateway up to bytes ready to send (buildSnapshot:
// compare, encode, hash; the cache taking it; the shared SotW `resources`
// block of the changed RouteConfiguration). Each edit's snapshot bytes are
// checked equal to a fresh protobufjs encode of the same resources.
//   ROUTES=10000 RUNS=11 npm run bench:push
import { createCore } from '../src/core/index.js';
import type { Resource } from '../src/resources/schema.js';
import { createTranslator, type EnvoyResources } from '../src/translate/index.js';
import { encodeResource, TYPES } from '../src/xds/protos.js';
import { buildSnapshot, RESOURCE_TYPES, SnapshotCache, sotwView, type Snapshot } from '../src/xds/snapshot.js';
import { estateResources, workspacesFor } from './estate.js';
import { median } from './stats.js';

const ROUTES = Number(process.env.ROUTES ?? 10_000);
const RUNS = Number(process.env.RUNS ?? 11);
const WS = workspacesFor(ROUTES);
const { resources, settings } = estateResources(ROUTES);
const OPTS = { listenerAddress: '0.0.0.0' };
const GW = 'gateway:ws-0/gw';

const cpuMs = (since: NodeJS.CpuUsage) => {
  const c = process.cpuUsage(since);
  return (c.user + c.system) / 1000;
};

const engine = createCore();
const translator = createTranslator(OPTS);
const cache = new SnapshotCache();

/** What the pipeline does with a gateway's resources, up to the shared bytes a stream sends. */
function push(envoy: Map<string, EnvoyResources>): Snapshot {
  const next = new Map<string, Snapshot>();
  for (const [key, res] of envoy) next.set(key, buildSnapshot(res));
  cache.setAll(next);
  const snap = cache.get(GW)!;
  for (const t of RESOURCE_TYPES) sotwView(snap[t], '', () => []);
  return snap;
}

/** The snapshot's bytes equal a fresh protobufjs encode of every resource. */
function checkBytes(snap: Snapshot, res: EnvoyResources): void {
  for (const t of RESOURCE_TYPES) {
    for (const x of res[t]) {
      const fresh = encodeResource(TYPES[t], x.body);
      const got = snap[t].resources.get(x.name)!.value;
      if (Buffer.compare(Buffer.from(fresh), Buffer.from(got)) !== 0) throw new Error(`${t} ${x.name}: bytes differ from a fresh encode`);
    }
  }
}

const base = () => engine(resources, settings).ir;
push(translator(base()));

function measure(edit: (i: number) => Resource[]): { translateCpu: number[]; snapshotCpu: number[]; routeBytes: number } {
  const translateCpu: number[] = [];
  const snapshotCpu: number[] = [];
  let routeBytes = 0;
  for (let i = 0; i < RUNS; i++) {
    const ir = engine(edit(i), settings).ir;
    global.gc?.();
    const ct = process.cpuUsage();
    const envoy = translator(ir);
    translateCpu.push(cpuMs(ct));
    const cs = process.cpuUsage();
    const snap = push(envoy);
    snapshotCpu.push(cpuMs(cs));
    if (i === 0) checkBytes(snap, envoy.get(GW)!);
    routeBytes = [...snap.route.resources.values()].reduce((n, x) => n + x.value.byteLength, 0);
    push(translator(base())); // back to the base estate for the next edit
  }
  return { translateCpu, snapshotCpu, routeBytes };
}

// One policy's selector changed (a timeout now on the workspace's gold routes).
const policyEdit = measure((i) => {
  const idx = resources.findIndex((x) => x.kind === 'RetryTimeoutPolicy' && x.metadata.namespace === `ws-${(i + 1) % WS}`);
  const edited = resources.slice();
  edited[idx] = { ...edited[idx], spec: { ...(edited[idx].spec as object), applyToRoutes: [{ route: { labels: { tier: 'gold' } } }] } };
  return edited;
});
// One route's matcher changed in one grandchild table.
const routeEdit = measure((i) => {
  const idx = resources.findIndex((x) => x.kind === 'RouteTable' && x.metadata.name === 'gc-3' && x.metadata.namespace === `ws-${(i + 1) % WS}`);
  const edited = resources.slice();
  const spec = edited[idx].spec as { http: Array<{ matchers: unknown[] }> };
  edited[idx] = { ...edited[idx], spec: { ...spec, http: spec.http.map((h, j) => (j === 0 ? { ...h, matchers: [{ uri: { prefix: `/edited-${i}` } }] } : h)) } };
  return edited;
});

const ms = (xs: number[]) => ({ median: +median(xs).toFixed(1), min: +Math.min(...xs).toFixed(1), max: +Math.max(...xs).toFixed(1) });
console.log(JSON.stringify({
  estate: { workspaces: WS, routes: ROUTES, routeConfigurationBytes: routeEdit.routeBytes },
  runs: RUNS,
  oneRouteEdit: { translateCpuMs: ms(routeEdit.translateCpu), snapshotCpuMs: ms(routeEdit.snapshotCpu) },
  onePolicyEdit: { translateCpuMs: ms(policyEdit.translateCpu), snapshotCpuMs: ms(policyEdit.snapshotCpu) },
}, null, 2));
