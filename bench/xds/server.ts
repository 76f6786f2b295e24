// Benchmark child: meshplane's xDS server fed with the synthetic gateway
// snapshots. Commands over IPC: 'prepare' builds a generation's translated
// resources (outside the clock); 'change' encodes and applies it and reports
// when every proxy has ACKed the new endpoints; 'storm' applies several
// generations back to back and reports when every proxy has the last one.
import { PerformanceObserver } from 'node:perf_hooks';
import pino from 'pino';
import type { EnvoyResources } from '../../src/translate/index.js';
import { gatewayKey } from '../../src/ir/keys.js';
import { buildSnapshot, SnapshotCache, type Snapshot } from '../../src/xds/snapshot.js';
import { XdsServer } from '../../src/xds/server.js';
import { digest, estate } from './snapshots.js';

const KEYS = Number(process.env.KEYS ?? 250);
// FRESH_BODIES=1: every translated body a new object (before the translator kept unchanged ones for an endpoint move).
const KEEP = !process.env.FRESH_BODIES;
const cache = new SnapshotCache();
// Proxies name their gateway in node.cluster ("gw/<k>"); meshplane keys it "gateway:gw/<k>".
// Each with the key's current snapshot, as the pipeline builds them (a type whose translated list is unchanged is reused).
const build = (set: Array<[string, EnvoyResources]>) => new Map<string, Snapshot>(set.map(([k, r]) => [gatewayKey(k), buildSnapshot(r, false, cache.get(gatewayKey(k)))]));
const served = () => new Map(cache.keys().map((k) => [k.slice('gateway:'.length), cache.get(k)!]));

let buildMs = 0;
// Garbage collections while a change is being pushed: what allocation costs.
const gc = { count: 0, ms: 0 };
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    gc.count++;
    gc.ms += e.duration;
  }
}).observe({ entryTypes: ['gc'] });
interface Waiting { gcAtStart: { count: number; ms: number }; buildMs: number; expect: number; acked: Set<string>; started: number; cpu: NodeJS.CpuUsage; pushesBefore: number; latencies: number[]; eds: Map<string, string> }
let waiting: Waiting | undefined;

const server = new XdsServer(cache, pino({ level: 'silent' }), {
  stallTimeoutMs: Number(process.env.STALL_MS ?? 30_000),
  onAck: (s, type, flight) => {
    const w = waiting;
    if (!w || type !== 'endpoint' || w.eds.get(s.key!) !== flight.snapshotVersion || w.acked.has(s.node!.id)) return;
    w.acked.add(s.node!.id);
    w.latencies.push(performance.now() - w.started);
    if (w.acked.size === w.expect) void finish(w);
  },
});
const counter = async (name: string) => ((await server.metrics.registry.getSingleMetric(name)?.get())?.values ?? []).reduce((s, v) => s + v.value, 0);

async function finish(w: Waiting): Promise<void> {
  waiting = undefined;
  const ms = performance.now() - w.started;
  const cpu = process.cpuUsage(w.cpu);
  const pushes = (await counter('meshplane_xds_pushes_total')) - w.pushesBefore;
  process.send!({ event: 'changed', gcs: gc.count - w.gcAtStart.count, gcPauseMs: gc.ms - w.gcAtStart.ms, buildMs, ms, cpuMs: (cpu.user + cpu.system) / 1000, pushes, latencies: w.latencies, rss: process.memoryUsage().rss, heap: process.memoryUsage().heapUsed, external: process.memoryUsage().external, stalled: await counter('meshplane_xds_stalled_streams_total'), proxies: await counter('meshplane_connected_proxies'), digest: digest(served()) });
}

const prepared = new Map<number, Array<[string, EnvoyResources]>>();
process.on('message', async (m: { cmd: string; gen?: number; gens?: number[]; clients?: number }) => {
  if (m.cmd === 'listen') {
    cache.setAll(build(estate(KEYS, 0, KEEP)));
    process.send!({ event: 'listening', port: await server.listen('127.0.0.1', 0) });
  }
  if (m.cmd === 'stats') process.send!({ event: 'stats', rss: process.memoryUsage().rss, memory: process.memoryUsage(), proxies: server.proxies().length });
  if (m.cmd === 'prepare') {
    for (const g of m.gens ?? [m.gen!]) prepared.set(g, estate(KEYS, g, KEEP));
    process.send!({ event: 'prepared' });
  }
  if (m.cmd === 'change' || m.cmd === 'storm') {
    const gens = m.gens ?? [m.gen!];
    const pushesBefore = await counter('meshplane_xds_pushes_total');
    // The clock starts before encoding the new snapshots: change seen -> last ACK.
    const started = performance.now();
    const cpu = process.cpuUsage();
    buildMs = 0;
    for (const [i, g] of gens.entries()) {
      const b0 = performance.now();
      const next = build(prepared.get(g)!);
      buildMs += performance.now() - b0;
      prepared.delete(g);
      if (i === gens.length - 1) {
        const eds = new Map([...next].map(([k, s]) => [k, s.endpoint.version])); // by meshplane key
        waiting = { gcAtStart: { ...gc }, buildMs: 0, expect: m.clients!, acked: new Set(), started, cpu, pushesBefore, latencies: [], eds };
      }
      cache.setAll(next);
      // Back to back: let the pushes of this generation start before the next lands.
      if (i < gens.length - 1) await new Promise((r) => setImmediate(r));
    }
  }
  if (m.cmd === 'heapsnapshot') {
    global.gc?.();
    process.send!({ event: 'heapsnapshot', file: (await import('node:v8')).writeHeapSnapshot(process.env.HEAP_SNAPSHOT) });
  }
  if (m.cmd === 'exit') {
    await server.close(500);
    process.exit(0);
  }
});
// Gone with the benchmark that started it.
process.on('disconnect', () => process.exit(0));
