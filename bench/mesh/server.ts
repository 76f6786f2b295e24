// Benchmark child: meshplane's real pipeline (core, translate, CA, snapshots)
// and xDS server for the synthetic mesh. Commands over IPC:
//   names   -> per sidecar key, the EDS/RDS/SDS names a client subscribes to
//   change  -> one Service's EndpointSlice changes; reports when every
//              affected sidecar ACKed the new endpoints
//   stats   -> RSS and config sizes
import pino from 'pino';
import { Subject } from 'rxjs';
import { MeshCA } from '../../src/ca/ca.js';
import { WorkloadCertificates } from '../../src/ca/workload-certs.js';
import { DEFAULT_SETTINGS } from '../../src/core/index.js';
import { runPipeline, type PipelineState } from '../../src/pipeline.js';
import { MeshServing, sidecarIdentities } from '../../src/mesh-serving.js';
import type { ResourceSet } from '../../src/sources/file.js';
import { XdsServer } from '../../src/xds/server.js';
import { SnapshotCache } from '../../src/xds/snapshot.js';
import { DEFAULT_ESTATE, endpointSlice, estate } from './estate.js';

const log = pino({ level: 'silent' });
const resources = estate();
const sets = new Subject<ResourceSet>();
const cache = new SnapshotCache();
const state: PipelineState = { generation: 0 };
const certs = new WorkloadCertificates(() => MeshCA.generate('cluster.local'), { lifetimeMs: 24 * 3.6e6 });
const server = new XdsServer(cache, log, { sidecarIdentity: (k) => sidecarIdentities(state.core).get(k) });
let onGeneration: (() => void) | undefined;
const mesh = new MeshServing(cache, log, certs);
runPipeline(sets, DEFAULT_SETTINGS, { listenerAddress: '0.0.0.0' }, cache, log, state, undefined, [() => queueMicrotask(() => onGeneration?.())], mesh);
const applied = () => new Promise<void>((r) => (onGeneration = r));

let current = resources;
let wait = applied();
sets.next({ resources: current, rejected: [], diagnostics: [] });
await wait;

const ackWaiters = new Map<string, number>(); // key -> ACKs still expected
let waiting: { expect: number; acked: number; started: number; latencies: number[] } | undefined;
const streamsPerKey = () => {
  const n = new Map<string, number>();
  for (const p of server.proxies()) n.set(p.key, (n.get(p.key) ?? 0) + 1);
  return n;
};
const origAccepted = (server as any).host.reportAccepted;
(server as any).host.reportAccepted = (s: { key?: string }, type: string, names: string[]) => {
  origAccepted(s, type, names);
  if (!waiting || type !== 'endpoint' || !s.key || !ackWaiters.get(s.key)) return;
  ackWaiters.set(s.key, ackWaiters.get(s.key)! - 1);
  waiting.acked++;
  waiting.latencies.push(performance.now() - waiting.started);
  if (waiting.acked === waiting.expect) {
    const w = waiting;
    waiting = undefined;
    process.send!({ event: 'changed', ms: performance.now() - w.started, affectedStreams: w.expect, latencies: w.latencies, rss: process.memoryUsage().rss });
  }
};

const size = (key: string) => {
  const snap = cache.get(key)!;
  let total = 0;
  for (const t of Object.values(snap)) for (const r of t.resources.values()) total += r.value.length;
  // The config for the reachable destinations alone: their clusters and endpoints.
  const wl = state.core!.ir.mesh!.workloads.find((w) => `sidecar:${w.ref}` === key)!;
  const reach = new Set(wl.outbound.services.map((s) => s.cluster));
  let reachable = 0;
  for (const t of ['cluster', 'endpoint'] as const) for (const r of snap[t].resources.values()) if (reach.has(r.name)) reachable += r.value.length;
  return { total, reachable, reachableDestinations: wl.outbound.services.length };
};

let generation = 0;
process.on('message', async (m: { cmd: string }) => {
  if (m.cmd === 'listen') process.send!({ event: 'listening', port: await server.listen('127.0.0.1', 0) });
  if (m.cmd === 'names') {
    const names: Record<string, { eds: string[]; rds: string[] }> = {};
    for (const key of cache.keys()) {
      const snap = cache.get(key)!;
      names[key] = { eds: [...snap.endpoint.resources.keys()], rds: [...snap.route.resources.keys()] };
    }
    process.send!({ event: 'names', names });
  }
  if (m.cmd === 'stats') {
    const keys = cache.keys();
    const mu = process.memoryUsage();
    if (process.env.BENCH_MEM) console.error(JSON.stringify({ heapUsed: mu.heapUsed >> 20, heapTotal: mu.heapTotal >> 20, external: mu.external >> 20, arrayBuffers: mu.arrayBuffers >> 20, rss: mu.rss >> 20 }));
    process.send!({ event: 'stats', rss: process.memoryUsage().rss, proxies: server.proxies().length, sizes: keys.map(size), certificates: certs.issued });
  }
  if (m.cmd === 'change') {
    generation++;
    const before = new Map(cache.keys().map((k) => [k, cache.get(k)!.endpoint.version]));
    // ns-0/svc-0: reached by ws-0 and the two workspaces that import from it.
    current = current.map((r) => (r.kind === 'EndpointSlice' && r.metadata.namespace === 'ns-0' && r.metadata.name === 'svc-0-abc' ? endpointSlice(0, 0, DEFAULT_ESTATE, generation) : r));
    const perKey = streamsPerKey();
    waiting = { expect: Number.POSITIVE_INFINITY, acked: 0, started: performance.now(), latencies: [] };
    const done = applied();
    sets.next({ resources: current, rejected: [], diagnostics: [] });
    await done;
    let expect = 0;
    ackWaiters.clear();
    for (const k of cache.keys()) if (cache.get(k)!.endpoint.version !== before.get(k)) {
      ackWaiters.set(k, perKey.get(k) ?? 0);
      expect += perKey.get(k) ?? 0;
    }
    if (waiting) waiting.expect = expect;
    if (waiting && waiting.acked >= expect) {
      const w = waiting;
      waiting = undefined;
      process.send!({ event: 'changed', ms: performance.now() - w.started, affectedStreams: expect, latencies: w.latencies, rss: process.memoryUsage().rss });
    }
  }
  if (m.cmd === 'exit') {
    await server.close(500);
    process.exit(0);
  }
});
process.send!({ event: 'ready', keys: cache.keys().length });
